package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/infra/graphsim"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
	"github.com/raprov/raprov/shared/door/httpapi"
)

// serve answers its doors on loopback: a signed request and a ServiceNow
// catalog request are provisioned against the in-process simulator and
// their status is served; an unsigned one is refused.
func TestServeDoors(t *testing.T) {
	const key = "serve-test-key-0123456789abcdef0123"
	dir := t.TempDir()
	t.Setenv("RAPROV_DB", filepath.Join(dir, "raprov.db"))
	t.Setenv("RAPROV_LOG_FILE", filepath.Join(dir, "raprov.log"))
	t.Setenv("RAPROV_INTAKE_KEYS", key)
	t.Setenv("RAPROV_SENDER_MAPPINGS", "../../examples/senders/servicenow-renamed.mapping.json")
	cmd := newServeCmd()
	pr, pw := io.Pipe()
	cmd.SetOut(pw)
	cmd.SetErr(pw)
	watch := filepath.Join(dir, "drop")
	if err := os.MkdirAll(watch, 0o755); err != nil {
		t.Fatal(err)
	}
	bulk := "displayName,userPrincipalName,accountType,usageLocation\n" +
		"Bulk one,ra-bulk-1@contoso.com,AA,US\n" +
		"Bulk two,ra-bulk-2@contoso.com,CQ,US\n" +
		"Bulk bad,ra-bulk-3@contoso.com,XX,US\n"
	if err := os.WriteFile(filepath.Join(watch, "lines.csv"), []byte(bulk), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--watch", watch, "--watch-interval", "200ms"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	addr := regexp.MustCompile(`serving on (http://\S+)`)
	var base string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := addr.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatal("serve printed no address")
	}
	go io.Copy(io.Discard, pr)

	call := func(method, path string, body []byte, signed bool) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if signed && method == http.MethodGet {
			req.Header.Set(httpapi.SignatureHeader, httpapi.SignGet(key, time.Now(), path))
		} else if signed {
			req.Header.Set(httpapi.SignatureHeader, httpapi.Sign(key, signTime(), body))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	plain := []byte(`{"requestId":"HTTP-1","displayName":"Front desk","userPrincipalName":"ra-frontdesk@contoso.com","accountType":"AA","usageLocation":"US"}`)
	if code, b := call(http.MethodPost, "/requests", plain, false); code != http.StatusUnauthorized {
		t.Fatalf("unsigned POST: %d %s", code, b)
	}
	if code, b := call(http.MethodPost, "/requests", plain, true); code != http.StatusAccepted {
		t.Fatalf("signed POST: %d %s", code, b)
	}
	// The door reads the chain's tenant, the in-process simulator here: a
	// dry run is answered with its plan, and nothing is queued.
	dry := []byte(`{"requestId":"HTTP-DRY","displayName":"Dry","userPrincipalName":"ra-dry@contoso.com","accountType":"AA","usageLocation":"US","dryRun":true}`)
	if code, b := call(http.MethodPost, "/requests", dry, true); code != http.StatusOK || !strings.Contains(string(b), `"dryRun":true`) || !strings.Contains(string(b), "ra-dry@contoso.com") {
		t.Fatalf("dry run: %d %s, want 200 with the plan", code, b)
	}
	if code, _ := call(http.MethodGet, "/requests/HTTP-DRY", nil, true); code != http.StatusNotFound {
		t.Errorf("GET of the dry run's request: %d, want 404", code)
	}
	sn, err := os.ReadFile("../../examples/senders/servicenow-aa.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, b := call(http.MethodPost, "/senders/servicenow", sn, true); code != http.StatusAccepted || !strings.Contains(string(b), "servicenow-RITM0010023") {
		t.Fatalf("ServiceNow POST: %d %s", code, b)
	}
	// RAPROV_SENDER_MAPPINGS adds the override's sender beside the built-in ones.
	renamed, err := os.ReadFile("../../examples/senders/servicenow-renamed.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, b := call(http.MethodPost, "/senders/servicenow-contoso", renamed, true); code != http.StatusAccepted {
		t.Fatalf("POST to the override's sender: %d %s", code, b)
	}

	door := servedDoor{base: base, key: key}
	outcome := func(id string) string { return door.outcome(t, id, 60*time.Second) }
	if got := outcome("HTTP-1"); got != "completed " {
		t.Errorf("HTTP-1: %q, want completed", got)
	}
	if got := outcome("servicenow-RITM0010023"); got != "completed " {
		t.Errorf("servicenow-RITM0010023: %q, want completed", got)
	}

	// The status page shares the server: an operator logs in with the key
	// and sees the request and its timeline; the API's JSON is unchanged.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.PostForm(base+"/login", url.Values{"key": {key}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for path, want := range map[string]string{"/": "HTTP-1", "/requests/HTTP-1/view": "account.created"} {
		resp, err := browser.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), want) {
			t.Errorf("GET %s: %d, want a page naming %s:\n%.400s", path, resp.StatusCode, want, page)
		}
	}
	if code, b := call(http.MethodGet, "/requests/HTTP-1", nil, true); code != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
		t.Errorf("API GET next to the page: %d %.200s", code, b)
	}

	// The bulk file was provisioned and moved aside with its report.
	report := filepath.Join(watch, "processed", "lines.csv.report.csv")
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(report)
		if err == nil {
			text := string(b)
			if strings.Count(text, ",completed,") != 2 || !strings.Contains(text, "ra-bulk-3@contoso.com") {
				t.Fatalf("report:\n%s", text)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report at %s: %v", report, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(watch, "processed", "lines.csv")); err != nil {
		t.Errorf("the file was not moved to processed/: %v", err)
	}
}

// servedDoor is `raprov serve` running for a test, and its key.
type servedDoor struct {
	base, key string
}

// startServe runs `raprov serve args…` until the test ends, with a fresh
// database and log in dir and key as its only intake key, and returns its
// address once it serves.
func startServe(t *testing.T, dir, key string, args ...string) servedDoor {
	t.Helper()
	t.Setenv("RAPROV_DB", filepath.Join(dir, "raprov.db"))
	t.Setenv("RAPROV_LOG_FILE", filepath.Join(dir, "raprov.log"))
	t.Setenv("RAPROV_INTAKE_KEYS", key)
	cmd := newServeCmd()
	pr, pw := io.Pipe()
	cmd.SetOut(pw)
	cmd.SetErr(pw)
	cmd.SetArgs(append([]string{"--listen", "127.0.0.1:0"}, args...))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(dir, "raprov.log"))
			t.Logf("raprov logs (tail):\n%s", tail(string(logs), 40))
		}
	})
	addr := regexp.MustCompile(`serving on (http://\S+)`)
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := addr.FindStringSubmatch(sc.Text()); m != nil {
			go io.Copy(io.Discard, pr)
			return servedDoor{base: m[1], key: key}
		}
	}
	t.Fatal("serve printed no address")
	return servedDoor{}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// signedAt hands out signing times one second apart at least: the door
// refuses a signature it accepted before (same timestamp, same signed
// content), so a test that repeats a call within a second must sign it at
// another time, as a sender signing each call afresh does.
var signedAt = struct {
	sync.Mutex
	last time.Time
}{}

func signTime() time.Time {
	signedAt.Lock()
	defer signedAt.Unlock()
	ts := time.Now().Truncate(time.Second)
	if !ts.After(signedAt.last) {
		ts = signedAt.last.Add(time.Second)
	}
	signedAt.last = ts
	return ts
}

// call sends a request signed as the door wants it: GET and DELETE over
// their method and target (and DELETE's body), POST over its body.
func (d servedDoor) call(t *testing.T, method, path string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, d.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	switch method {
	case http.MethodGet:
		req.Header.Set(httpapi.SignatureHeader, httpapi.SignGet(d.key, time.Now(), path))
	case http.MethodDelete:
		req.Header.Set(httpapi.SignatureHeader, httpapi.SignDelete(d.key, signTime(), path, body))
	default:
		req.Header.Set(httpapi.SignatureHeader, httpapi.Sign(d.key, signTime(), body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// outcome waits for request id to end and returns "outcome reason".
func (d servedDoor) outcome(t *testing.T, id string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		code, b := d.call(t, http.MethodGet, httpapi.StatusPath(id), nil)
		var st struct {
			Outcome string `json:"outcome"`
			Reason  string `json:"reason"`
		}
		if code == http.StatusOK && json.Unmarshal(b, &st) == nil && st.Outcome != "in_progress" {
			return st.Outcome + " " + st.Reason
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s has no outcome after %s", id, within)
	return ""
}

// writesSince returns the simulator's requests from index from on that
// change something: every method but GET, except token requests.
func writesSince(sim *graphsim.Running, from int) []graphsim.RequestRecord {
	var out []graphsim.RequestRecord
	for _, rec := range sim.Server.Requests()[from:] {
		if rec.Method != http.MethodGet && !strings.HasSuffix(rec.Path, "/oauth2/v2.0/token") {
			out = append(out, rec)
		}
	}
	return out
}

// freeNumbers returns n free numbers of the simulator's inventory that an
// auto attendant in country can take.
func freeNumbers(t *testing.T, st graphsim.State, country string, n int) []string {
	t.Helper()
	var out []string
	for _, num := range st.Teams.Numbers {
		if len(out) < n && num.AssignmentTargetID == "" && num.IsoCountryCode == country &&
			num.NumberType == teamssim.NumberTypeCallingPlan && num.HasCapability(teamssim.CapabilityVoiceApplicationAssignment) {
			out = append(out, num.TelephoneNumber)
		}
	}
	if len(out) < n {
		t.Fatalf("the simulator has %d free %s numbers for auto attendants, want %d", len(out), country, n)
	}
	return out
}

// A POST of requests that say "dryRun": true, through raprov serve against
// a simulator at --graph-url: answered 200 with each request's plan, from
// reads only — the simulator's request log shows no write — and nothing
// queued or recorded.
func TestServeDryRun(t *testing.T) {
	clearAdapterEnv(t)
	sim, ca := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{TimeScale: 1}})
	door := startServe(t, t.TempDir(), "serve-dry-run-key-0123456789abcdef", "--graph-url", sim.URL, "--graph-ca", ca)
	before := sim.Server.State()
	logged := len(sim.Server.Requests())
	free := freeNumbers(t, before, "US", 1)[0]

	batch := []map[string]any{
		{"requestId": "DRY-1", "displayName": "Dry main line", "userPrincipalName": "ra-dry-1@contoso.com", "accountType": "AA",
			"usageLocation": "US", "phoneNumber": free, "dryRun": true},
		{"requestId": "DRY-2", "displayName": "Dry Adele", "userPrincipalName": "AdeleV@contoso.com", "accountType": "CQ",
			"usageLocation": "US", "dryRun": true},
		{"requestId": "DRY-3", "displayName": "Dry unknown number", "userPrincipalName": "ra-dry-3@contoso.com", "accountType": "AA",
			"usageLocation": "US", "phoneNumber": "+12065550199", "dryRun": true},
	}
	body, _ := json.Marshal(batch)
	code, b := door.call(t, http.MethodPost, "/requests", body)
	if code != http.StatusOK {
		t.Fatalf("dry run: %d %s, want 200", code, b)
	}
	var got httpapi.DryRun
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	type verdict struct{ ID, Verdict, Outcome, Number string }
	var have []verdict
	for _, p := range got.Plans {
		have = append(have, verdict{p.RequestID, p.Verdict, p.Outcome, p.Number})
	}
	want := []verdict{
		{"DRY-1", httpapi.VerdictCreate, "completed", "free"},
		{"DRY-2", httpapi.VerdictFail, "upn_conflict", ""},
		{"DRY-3", httpapi.VerdictFail, "number_not_found", "not found"},
	}
	if d := cmp.Diff(want, have); d != "" {
		t.Errorf("plans (-want +got):\n%s\n%s", d, b)
	}
	if !got.DryRun || got.License == nil || got.License.SKU != graphsim.VirtualUserSkuPartNumber || got.License.FreeAfter != got.License.FreeBefore-1 {
		t.Errorf("answer %s: want dryRun and the SKU's seats, one taken", b)
	}

	// Reads only, and nothing queued or recorded.
	var reads int
	for _, rec := range sim.Server.Requests()[logged:] {
		if rec.Method == http.MethodGet {
			reads++
		}
	}
	if w := writesSince(sim, logged); len(w) > 0 || reads == 0 {
		t.Errorf("the dry run sent %d reads and these writes: %+v", reads, w)
	}
	if after := sim.Server.State(); len(after.Users) != len(before.Users) {
		t.Errorf("%d users after the dry run, %d before", len(after.Users), len(before.Users))
	}
	for _, id := range []string{"DRY-1", "DRY-2", "DRY-3"} {
		if code, b := door.call(t, http.MethodGet, "/requests/"+id, nil); code != http.StatusNotFound {
			t.Errorf("GET %s after the dry run: %d %s, want 404", id, code, b)
		}
	}
	// The same request for real is new: the dry run claimed nothing.
	real, _ := json.Marshal(map[string]any{"requestId": "DRY-1", "displayName": "Dry main line", "userPrincipalName": "ra-dry-1@contoso.com",
		"accountType": "AA", "usageLocation": "US", "phoneNumber": free})
	if code, b := door.call(t, http.MethodPost, "/requests", real); code != http.StatusAccepted {
		t.Errorf("the planned request for real: %d %s, want 202", code, b)
	}
}

// DELETE /requests/{id} through raprov serve: the account a provisioning
// request created is removed by the deprovisioning chain, asking again is
// answered with the same deprovision request, and a request still running
// or unknown is refused.
func TestServeDelete(t *testing.T) {
	clearAdapterEnv(t)
	sim, ca := startSim(t, graphsim.Config{Knobs: graphsim.Knobs{TimeScale: 1, OperationStepDelay: 20 * time.Millisecond}})
	door := startServe(t, t.TempDir(), "serve-delete-key-0123456789abcdef0", "--graph-url", sim.URL, "--graph-ca", ca)
	free := freeNumbers(t, sim.Server.State(), "US", 1)[0]
	req, _ := json.Marshal(map[string]any{"requestId": "DEL-1", "displayName": "To remove", "userPrincipalName": "ra-del-1@contoso.com",
		"accountType": "AA", "usageLocation": "US", "phoneNumber": free})
	if code, b := door.call(t, http.MethodPost, "/requests", req); code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", code, b)
	}
	upn := []byte(`{"userPrincipalName":"ra-del-1@contoso.com"}`)
	// Still running: 409 (unless it was quick enough to end first).
	if code, b := door.call(t, http.MethodDelete, "/requests/DEL-1", upn); code != http.StatusConflict && code != http.StatusAccepted {
		t.Fatalf("DELETE while provisioning: %d %s, want 409", code, b)
	}
	if got := door.outcome(t, "DEL-1", time.Minute); got != "completed " {
		t.Fatalf("DEL-1: %s, want completed", got)
	}
	if code, b := door.call(t, http.MethodDelete, "/requests/NOPE", upn); code != http.StatusNotFound {
		t.Errorf("DELETE of an unknown request: %d %s, want 404", code, b)
	}
	// The door reads the account it is asked to remove: a mistyped UPN and
	// someone else's account are refused before anything is queued.
	for body, reason := range map[string]string{
		`{"userPrincipalName":"ra-del-l@contoso.com"}`: "account_not_found",
		`{"userPrincipalName":"AdeleV@contoso.com"}`:   "not_owned",
	} {
		if code, b := door.call(t, http.MethodDelete, "/requests/DEL-1", []byte(body)); code != http.StatusUnprocessableEntity || !strings.Contains(string(b), reason) {
			t.Errorf("DELETE with %s: %d %s, want 422 %s", body, code, b, reason)
		}
	}
	code, b := door.call(t, http.MethodDelete, "/requests/DEL-1", upn)
	if code != http.StatusAccepted && code != http.StatusOK {
		t.Fatalf("DELETE: %d %s, want 202", code, b)
	}
	id := events.DeprovisionID("DEL-1")
	if got := door.outcome(t, id, time.Minute); got != "completed " {
		t.Fatalf("%s: %s, want completed", id, got)
	}
	for _, u := range sim.Server.State().Users {
		if strings.EqualFold(u.UserPrincipalName, "ra-del-1@contoso.com") {
			t.Errorf("ra-del-1@contoso.com still exists: %+v", u)
		}
	}
	// Asking again: the same deprovision request, ended; nothing written.
	logged := len(sim.Server.Requests())
	code, b = door.call(t, http.MethodDelete, "/requests/DEL-1", upn)
	var st httpapi.Status
	if code != http.StatusOK || json.Unmarshal(b, &st) != nil || st.RequestID != id || st.Outcome != "completed" {
		t.Errorf("DELETE again: %d %s, want 200 with %s completed", code, b, id)
	}
	time.Sleep(300 * time.Millisecond)
	if w := writesSince(sim, logged); len(w) > 0 {
		t.Errorf("the repeated DELETE wrote %+v", w)
	}
}

// RAPROV_SENDER_KEYS gives ServiceNow a key of its own: it signs the
// ServiceNow route and nothing else; the general key still signs every
// route. A malformed value stops serve at start (exit 3).
func TestServeSenderKeys(t *testing.T) {
	const snowKey = "serve-servicenow-key-0123456789abcd"
	t.Setenv("RAPROV_SENDER_KEYS", `{"servicenow": "`+snowKey+`"}`)
	door := startServe(t, t.TempDir(), "serve-sender-keys-general-0123456789")
	sn, err := os.ReadFile("../../examples/senders/servicenow-aa.json")
	if err != nil {
		t.Fatal(err)
	}
	snow := servedDoor{base: door.base, key: snowKey}
	if code, b := snow.call(t, http.MethodPost, "/senders/servicenow", sn); code != http.StatusAccepted {
		t.Errorf("ServiceNow's key on its route: %d %s, want 202", code, b)
	}
	if code, _ := snow.call(t, http.MethodGet, "/requests", nil); code != http.StatusUnauthorized {
		t.Errorf("ServiceNow's key on GET /requests: %d, want 401", code)
	}
	if code, _ := door.call(t, http.MethodGet, "/requests", nil); code != http.StatusOK {
		t.Errorf("the general key on GET /requests: %d, want 200", code)
	}

	// A malformed value: serve returns a configuration error at start
	// (bounded, so a serve that did start cannot hang the test).
	t.Setenv("RAPROV_SENDER_KEYS", `["not", "an", "object"]`)
	dir := t.TempDir()
	t.Setenv("RAPROV_DB", filepath.Join(dir, "raprov.db"))
	t.Setenv("RAPROV_LOG_FILE", filepath.Join(dir, "raprov.log"))
	cmd := newServeCmd()
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = cmd.ExecuteContext(ctx)
	if code, _ := exitStatus(err, nil); code != exitConfig || err == nil || !strings.Contains(err.Error(), "RAPROV_SENDER_KEYS") {
		t.Errorf("serve with malformed sender keys: %v (exit %d), want exit %d naming RAPROV_SENDER_KEYS", err, code, exitConfig)
	}
}
