package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

// The signature of docs/http.md's example, which openssl reproduces:
//
//	printf '%s.' 1795597200 | cat - request.json | openssl dgst -sha256 -hmac "$KEY"
func ExampleSign() {
	key := "example-key-at-least-32-bytes-long!"
	body := `{"requestId":"INC0012345","displayName":"Contoso Main Line","userPrincipalName":"ra-mainline@contoso.com","accountType":"autoAttendant","usageLocation":"US"}`
	t := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	fmt.Println(httpapi.Sign(key, t, []byte(body)))
	fmt.Println(httpapi.SignGet(key, t, "/requests/INC0012345"))
	// Output:
	// t=1795597200,v1=e718f758799a2a2e327395cfe736271a73b40e9464143c745b81528d3ecfa9e6
	// t=1795597200,v1=471b3b78a44ed78637c72fe4bb4073764292775c582a8ee1ff617d933c80aa3c
}

func ExampleNew() {
	const key = "example-key-at-least-32-bytes-long!"
	queue := httpapi.SubmitterFunc(func(_ context.Context, traceParent string, reqs []events.Request) ([]httpapi.Submitted, error) {
		out := make([]httpapi.Submitted, len(reqs))
		for i, r := range reqs {
			fmt.Printf("queued %s as %s %s\n", r.RequestID, r.AccountType, r.UserPrincipalName)
			out[i] = httpapi.Submitted{Outcome: httpapi.Sent}
		}
		return out, nil
	})
	h, err := httpapi.New(httpapi.Options{Submitter: queue, Ledger: memledger.New(), Keys: []string{key}})
	if err != nil {
		panic(err)
	}

	body := `{"requestId":"INC0012345","displayName":"Contoso Main Line","userPrincipalName":"RA-MainLine@contoso.com","accountType":"AA","usageLocation":"us"}`
	r := httptest.NewRequest(http.MethodPost, "/requests", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(httpapi.SignatureHeader, httpapi.Sign(key, time.Now(), []byte(body)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Header().Get("Location"), " ", w.Body)
	// Output:
	// queued INC0012345 as autoAttendant ra-mainline@contoso.com
	// 202 /requests/INC0012345 {"requestId":"INC0012345","status":"/requests/INC0012345"}
}
