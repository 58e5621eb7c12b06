//go:build linux

package e2e_test

// The HTTP door's sender overrides on AWS, through the real intake
// bootstrap as the template wires it: mapping files from the stack's
// SenderMappingsBucket, and a sender key from SenderKeysSecretArn's secret.

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/httpapi"
)

func TestE2ESenderMappingsAndKeys(t *testing.T) {
	t.Parallel()
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "senders", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	const senderKey = "e2e-contoso-sender-key-0123456789ab"
	s := newStack(t, stackConfig{
		noPollers:      true,
		senderMappings: map[string][]byte{"contoso.json": read("servicenow-renamed.mapping.json")},
		senderKeys:     `{"servicenow-contoso": "` + senderKey + `"}`,
	})
	u := s.startURLInstance(t)
	intakeQueue := s.queues.URL(events.StepIntake)
	post := func(path, key string, body []byte) int {
		t.Helper()
		resp, _ := u.call(t, http.MethodPost, path, map[string]string{
			"Content-Type": "application/json", httpapi.SignatureHeader: httpapi.Sign(key, time.Now(), body),
		}, body)
		return resp.StatusCode
	}

	ticket := read("servicenow-renamed.json")
	if code := post("/senders/servicenow-contoso", senderKey, ticket); code != http.StatusAccepted {
		t.Fatalf("the loaded mapping's route with its sender key: %d, want 202", code)
	}
	if n := s.count(t, intakeQueue); n != 1 {
		t.Fatalf("intake's queue holds %d messages, want 1", n)
	}
	plain := []byte(`{"requestId":"e2e-sk-1","displayName":"E2E","userPrincipalName":"e2e-sk-1@contoso.com","accountType":"autoAttendant","usageLocation":"US"}`)
	if code := post("/requests", senderKey, plain); code != http.StatusUnauthorized {
		t.Errorf("the sender key on POST /requests: %d, want 401", code)
	}
	if code := post("/senders/servicenow", senderKey, read("servicenow-aa.json")); code != http.StatusUnauthorized {
		t.Errorf("the sender key on another sender's route: %d, want 401", code)
	}
	if resp, _ := u.call(t, http.MethodGet, "/requests", map[string]string{httpapi.SignatureHeader: httpapi.SignGet(senderKey, time.Now(), "/requests")}, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the sender key on GET /requests: %d, want 401", resp.StatusCode)
	}
	if n := s.count(t, intakeQueue); n != 1 {
		t.Errorf("intake's queue holds %d messages after the refused calls, want 1", n)
	}
	if s.secrets.readsOf(senderKeysSecretARN) == 0 {
		t.Error("the sender keys' secret was never read")
	}
}
