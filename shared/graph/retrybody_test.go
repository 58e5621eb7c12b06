package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/shared/steps"
)

// TestRetriedCreateSendsItsBody: Graph answers a write 429 before reading
// its body, over HTTP/2 as in production. The adapter's in-process retry
// must send the whole body again; it once went out empty, and Graph
// answered 400 to a valid create.
func TestRetriedCreateSendsItsBody(t *testing.T) {
	sim, err := graphsim.New(graphsim.Config{Seed: graphsim.DefaultSeed()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]bool{}   // request paths throttled once
	var bodies []map[string]any // bodies of the retried creates
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1.0/users", func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("client-request-id")
		mu.Lock()
		first := !seen[key]
		seen[key] = true
		mu.Unlock()
		if first {
			// Throttled at once, the body left unread.
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			http.Error(w, fmt.Sprintf("body %q: %v", b, err), http.StatusBadRequest)
			return
		}
		mu.Lock()
		bodies = append(bodies, m)
		id := len(bodies)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"%08d-0000-4000-8000-000000000000","userPrincipalName":%q,"displayName":%q}`,
			id, m["userPrincipalName"], m["displayName"])
	})
	mux.Handle("/", sim.Handler())
	ts := httptest.NewUnstartedServer(mux)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	f := &fixture{sim: sim, ts: ts}
	cfg := f.config()
	// Twenty 429s pause the tenant's budget; waiting it out in process
	// keeps this test about bodies, not about handing long waits back.
	cfg.MaxWait = 30 * time.Second
	c := f.client(t, cfg)

	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			upn := fmt.Sprintf("ra-retry-%02d@contoso.com", i)
			if _, err := c.Create(context.Background(), steps.NewAccount{UserPrincipalName: upn, DisplayName: upn, UsageLocation: "US"}); err != nil {
				errs <- fmt.Errorf("%s: %w", upn, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(bodies) != n {
		t.Fatalf("%d retried creates reached the server whole, want %d", len(bodies), n)
	}
	for _, b := range bodies {
		if b["usageLocation"] != "US" || b["passwordProfile"] == nil {
			t.Errorf("retried body lacks properties: %v", b)
		}
	}
}
