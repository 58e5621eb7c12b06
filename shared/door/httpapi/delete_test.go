package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger"
)

// del sends DELETE path with body (JSON when not empty), signed with key1
// at now over DeleteMessage.
func (e *env) del(t *testing.T, path string, body []byte) response {
	t.Helper()
	return e.delAt(t, now, path, body)
}

// delAt is del signed at at: a repeat of a DELETE is signed afresh, as the
// same signature is accepted once.
func (e *env) delAt(t *testing.T, at time.Time, path string, body []byte) response {
	t.Helper()
	h := map[string]string{httpapi.SignatureHeader: httpapi.SignDelete(key1, at, path, body)}
	if len(body) > 0 {
		h["Content-Type"] = "application/json"
	}
	return e.call(t, http.MethodDelete, path, body, h)
}

// history records a request's ledger entries: one per step, each of the
// type given, the last one ending the request with outcome (none when
// empty).
func (e *env) history(t *testing.T, id string, outcome ledger.Outcome, reason string, steps ...[2]string) {
	t.Helper()
	at := now.Add(-time.Hour)
	for i, s := range steps {
		en := ledger.Entry{EventID: fmt.Sprintf("%s-%d", id, i), RequestID: id, Step: s[0], Type: s[1], Time: at.Add(time.Duration(i) * time.Second)}
		if !strings.HasPrefix(id, "LEGACY") { // recorded by a raprov that kept no accounts
			en.Account = "ra-main@contoso.com"
		}
		if i == len(steps)-1 {
			en.Outcome, en.Reason = outcome, reason
		}
		if err := e.ledger.Record(context.Background(), en); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	submitted  = [2]string{"submit", events.TypeProvisioningRequested}
	accepted   = [2]string{events.StepIntake, events.TypeProvisioningAccepted}
	licensed   = [2]string{events.StepCheckLicense, events.TypeLicenseAvailable}
	created    = [2]string{events.StepCreateAccount, events.TypeAccountCreated}
	assigned   = [2]string{events.StepAssignLicense, events.TypeLicenseAssigned}
	numbered   = [2]string{events.StepAssignNumber, events.TypeNumberAssigned}
	associated = [2]string{events.StepAssociate, events.TypeAccountAssociated}
	completed  = [2]string{events.StepComplete, events.TypeProvisioningCompleted}
	endFailed  = [2]string{events.StepComplete, events.TypeProvisioningFailed}
)

// completedRequest records a provisioning request that ended completed.
func (e *env) completedRequest(t *testing.T, id string) {
	t.Helper()
	e.history(t, id, ledger.Completed, "", submitted, accepted, licensed, created, assigned, numbered, associated, completed)
}

func upnBody(upn string) []byte { return []byte(`{"userPrincipalName":"` + upn + `"}`) }

// A signed DELETE of a completed provisioning request submits exactly one
// deprovision request for its account, under the deterministic id; asking
// again is answered with that request's status and submits nothing; the
// same id with another account is a conflict.
func TestDeleteDeprovisions(t *testing.T) {
	e := newEnv(t, nil)
	e.completedRequest(t, "INC-1")

	r := e.del(t, "/requests/INC-1", upnBody(" RA-Main@Contoso.com "))
	if r.code != http.StatusAccepted {
		t.Fatalf("DELETE: %d %s, want 202", r.code, r.body)
	}
	id := events.DeprovisionID("INC-1")
	var rc httpapi.Receipt
	r.decode(t, &rc)
	if d := cmp.Diff(httpapi.Receipt{RequestID: id, Status: httpapi.StatusPath(id), Target: "INC-1"}, rc); d != "" {
		t.Errorf("answer (-want +got):\n%s", d)
	}
	if loc := r.header.Get("Location"); loc != "/requests/deprovision:INC-1" {
		t.Errorf("Location %q, want /requests/deprovision:INC-1", loc)
	}
	want := events.Request{RequestID: "deprovision:INC-1", UserPrincipalName: "ra-main@contoso.com", Action: events.ActionDeprovision, Target: "INC-1"}
	if d := cmp.Diff([]events.Request{want}, e.sub.sent()); d != "" {
		t.Fatalf("submitted (-want +got):\n%s", d)
	}
	evs := e.sub.sentEvents()
	if len(evs) != 1 || evs[0].Type != events.TypeDeprovisionRequested {
		t.Fatalf("events sent %+v, want one %s", evs, events.TypeDeprovisionRequested)
	}

	// Again, with the same account: nothing new, the deprovision request's status.
	r = e.del(t, "/requests/INC-1", upnBody("ra-main@contoso.com"))
	if r.code != http.StatusOK {
		t.Fatalf("DELETE again: %d %s, want 200", r.code, r.body)
	}
	var st httpapi.Status
	r.decode(t, &st)
	if st.RequestID != id || st.Link != httpapi.StatusPath(id) || st.Outcome != ledger.InProgress || len(st.History) != 1 ||
		st.History[0].Type != events.TypeDeprovisionRequested {
		t.Errorf("status of the repeat: %+v", st)
	}
	if n := len(e.sub.sentEvents()); n != 1 {
		t.Errorf("%d events sent after the repeat, want 1", n)
	}

	// Another account under the same deprovision id: refused, the first stands.
	r = e.del(t, "/requests/INC-1", upnBody("ra-other@contoso.com"))
	er := r.errorBody(t)
	if r.code != http.StatusConflict || er.Reason != string(events.ReasonRequestConflict) || er.RequestID != id || !strings.Contains(er.Error, "INC-1") {
		t.Errorf("DELETE with another UPN: %d %+v, want 409 request_conflict", r.code, er)
	}
	if n := len(e.sub.sentEvents()); n != 1 {
		t.Errorf("%d events sent after the conflict, want 1", n)
	}

	// With a callback, and after a failure that came after the account was made.
	e.history(t, "INC-2", ledger.Failed, "number_assignment_failed", submitted, accepted, licensed, created, assigned,
		[2]string{events.StepAssignNumber, events.TypeProvisioningFailed}, endFailed)
	r = e.del(t, "/requests/INC-2", []byte(`{"userPrincipalName":"ra-two@contoso.com","callbackUrl":"https://hooks.contoso.com/raprov"}`))
	if r.code != http.StatusAccepted {
		t.Fatalf("DELETE of a request failed after create-account: %d %s", r.code, r.body)
	}
	if got := e.sub.sent(); got[len(got)-1].CallbackURL != "https://hooks.contoso.com/raprov" || got[len(got)-1].Target != "INC-2" {
		t.Errorf("submitted %+v", got[len(got)-1])
	}
	e.noSecrets(t)
}

// Unsigned, badly signed, stale DELETEs and signatures made for another
// method, target or body are refused with 401 and submit nothing.
func TestDeleteSignature(t *testing.T) {
	e := newEnv(t, nil)
	e.completedRequest(t, "INC-1")
	body := upnBody("ra-main@contoso.com")
	tests := []struct {
		name, sig string
		want      error
	}{
		{"unsigned", "", httpapi.ErrNoSignature},
		{"malformed", "t=1,v1=zz", httpapi.ErrMalformedSignature},
		{"unknown key", httpapi.SignDelete("k9-not-a-key-of-the-door-0123456789", now, "/requests/INC-1", body), httpapi.ErrBadSignature},
		{"stale", httpapi.SignDelete(key1, now.Add(-httpapi.MaxSkew-time.Second), "/requests/INC-1", body), httpapi.ErrStaleSignature},
		{"future", httpapi.SignDelete(key1, now.Add(httpapi.MaxSkew+time.Second), "/requests/INC-1", body), httpapi.ErrStaleSignature},
		{"a GET's signature", httpapi.SignGet(key1, now, "/requests/INC-1"), httpapi.ErrBadSignature},
		{"the body alone", httpapi.Sign(key1, now, body), httpapi.ErrBadSignature},
		{"another target", httpapi.SignDelete(key1, now, "/requests/INC-2", body), httpapi.ErrBadSignature},
		{"another body", httpapi.SignDelete(key1, now, "/requests/INC-1", upnBody("ra-other@contoso.com")), httpapi.ErrBadSignature},
		{"no body", httpapi.SignDelete(key1, now, "/requests/INC-1", nil), httpapi.ErrBadSignature},
	}
	for _, tt := range tests {
		h := map[string]string{"Content-Type": "application/json"}
		if tt.sig != "" {
			h[httpapi.SignatureHeader] = tt.sig
		}
		r := e.call(t, http.MethodDelete, "/requests/INC-1", body, h)
		er := r.errorBody(t)
		if r.code != http.StatusUnauthorized || er.Reason != httpapi.ReasonUnauthenticated || er.Error != tt.want.Error() || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %+v, want 401 %q", tt.name, r.code, er, tt.want)
		}
		if tt.sig != "" && strings.Contains(string(r.body), tt.sig) {
			t.Errorf("%s: the answer quotes the signature", tt.name)
		}
	}
	if n := e.sub.callCount(); n != 0 {
		t.Errorf("%d submissions, want none", n)
	}
	// The second key signs as well.
	if r := e.call(t, http.MethodDelete, "/requests/INC-1", body, map[string]string{
		httpapi.SignatureHeader: httpapi.SignDelete(key2, now, "/requests/INC-1", body),
	}); r.code != http.StatusAccepted {
		t.Errorf("signed with the second key: %d %s", r.code, r.body)
	}
	e.noSecrets(t)
	for _, tt := range tests {
		if tt.sig != "" && strings.Contains(e.log.String(), tt.sig) {
			t.Errorf("log holds the signature of %s", tt.name)
		}
	}
}

// What {id} is and where it stands decides whether its account can be
// removed now; each refusal says why and submits nothing.
func TestDeleteRefusals(t *testing.T) {
	e := newEnv(t, nil)
	e.history(t, "RUNNING", "", "", submitted, accepted, licensed, created)
	e.history(t, "PARKED", "", "", submitted, accepted, [2]string{events.StepCheckLicense, events.TypeProvisioningAccepted})
	e.history(t, "EARLY", ledger.Failed, "number_in_use", submitted, accepted, [2]string{events.StepCheckLicense, events.TypeProvisioningFailed}, endFailed)
	e.history(t, "INVALID", ledger.Failed, "invalid_request", submitted, [2]string{events.StepIntake, events.TypeProvisioningFailed}, endFailed)
	e.history(t, "DEP-1", ledger.Completed, "", [2]string{"submit", events.TypeDeprovisionRequested},
		[2]string{events.StepIntake, events.TypeDeprovisionAccepted}, [2]string{events.StepUnassociate, events.TypeAccountUnassociated},
		[2]string{events.StepComplete, events.TypeProvisioningCompleted})
	e.history(t, "DEP-2", ledger.Failed, "invalid_request", [2]string{"submit", events.TypeDeprovisionRequested},
		[2]string{events.StepIntake, events.TypeProvisioningFailed}, endFailed)

	tests := []struct {
		path   string
		code   int
		reason string
		says   string
	}{
		{"/requests/UNKNOWN", 404, httpapi.ReasonNotFound, "no request with this requestId"},
		{"/requests/" + strings.Repeat("x", 129), 404, httpapi.ReasonNotFound, "no request"},
		{"/requests/RUNNING", 409, httpapi.ReasonInProgress, "has not ended (its latest step is create-account)"},
		{"/requests/PARKED", 409, httpapi.ReasonInProgress, "would race it"},
		{"/requests/EARLY", 422, httpapi.ReasonNothingToRemove, "failed (number_in_use) at check-license, before an account was created"},
		{"/requests/INVALID", 422, httpapi.ReasonNothingToRemove, "(invalid_request) at intake, before an account was created: there is nothing to remove"},
		{"/requests/DEP-1", 400, httpapi.ReasonNotProvisioning, "is a deprovision request"},
		{"/requests/DEP-2", 400, httpapi.ReasonNotProvisioning, "is a deprovision request"},
	}
	for _, tt := range tests {
		r := e.del(t, tt.path, upnBody("ra-main@contoso.com"))
		er := r.errorBody(t)
		if r.code != tt.code || er.Reason != tt.reason || !strings.Contains(er.Error, tt.says) {
			t.Errorf("DELETE %.40s: %d %+v; want %d %s saying %q", tt.path, r.code, er, tt.code, tt.reason, tt.says)
		}
	}
	if n := e.sub.callCount(); n != 0 {
		t.Errorf("%d submissions, want none", n)
	}
}

// A body names the account: it is strict and validated as intake
// validates a deprovision request.
func TestDeleteBody(t *testing.T) {
	e := newEnv(t, func(o *httpapi.Options) { o.MaxBody = 256 })
	e.completedRequest(t, "INC-1")
	tests := []struct {
		name        string
		contentType string
		body        string
		code        int
		field       string
		reason      string
	}{
		{"not JSON", "application/json", `{"userPrincipalName":`, 400, "", events.PoisonMalformedJSON},
		{"an array", "application/json", `[]`, 400, "", "invalid_request"},
		{"unknown field", "application/json", `{"userPrincipalName":"ra-main@contoso.com","force":true}`, 400, "force", "invalid_request"},
		{"twice", "application/json", `{"userPrincipalName":"a@contoso.com","userPrincipalName":"b@contoso.com"}`, 400, "userPrincipalName", "invalid_request"},
		{"not a string", "application/json", `{"userPrincipalName":7}`, 400, "userPrincipalName", "invalid_request"},
		{"invalid UPN", "application/json", `{"userPrincipalName":"not-an-upn"}`, 400, "userPrincipalName", "invalid_request"},
		{"plain http callback", "application/json", `{"userPrincipalName":"ra-main@contoso.com","callbackUrl":"http://hooks.contoso.com/x"}`, 400, "callbackUrl", "invalid_request"},
		{"text", "text/plain", `{"userPrincipalName":"ra-main@contoso.com"}`, 415, "", httpapi.ReasonUnsupportedType},
		{"too large", "application/json", `{"userPrincipalName":"` + strings.Repeat("a", 300) + `@contoso.com"}`, 413, "", httpapi.ReasonTooLarge},
	}
	for _, tt := range tests {
		h := map[string]string{httpapi.SignatureHeader: httpapi.SignDelete(key1, now, "/requests/INC-1", []byte(tt.body))}
		if tt.contentType != "" {
			h["Content-Type"] = tt.contentType
		}
		r := e.call(t, http.MethodDelete, "/requests/INC-1", []byte(tt.body), h)
		er := r.errorBody(t)
		if r.code != tt.code || er.Field != tt.field || er.Reason != tt.reason || er.Error == "" {
			t.Errorf("%s: %d %+v; want %d field %q reason %s", tt.name, r.code, er, tt.code, tt.field, tt.reason)
		}
	}
	if n := e.sub.callCount(); n != 0 {
		t.Errorf("%d submissions, want none", n)
	}
}

// Without a body the account is the one the ledger recorded for the
// request; a request recorded without one needs the body.
func TestDeleteWithoutBody(t *testing.T) {
	e := newEnv(t, nil)
	e.completedRequest(t, "INC-1")
	e.completedRequest(t, "LEGACY-1")
	for _, body := range [][]byte{nil, []byte("{}"), []byte(`{"userPrincipalName":null}`)} {
		r := e.del(t, "/requests/LEGACY-1", body)
		if er := r.errorBody(t); r.code != http.StatusBadRequest || er.Reason != httpapi.ReasonAccountUnknown || er.Field != "userPrincipalName" {
			t.Errorf("legacy request, body %q: %d %+v", body, r.code, er)
		}
	}
	if n := e.sub.callCount(); n != 0 {
		t.Fatalf("%d submissions for a request whose account is unknown", n)
	}
	if r := e.del(t, "/requests/INC-1", nil); r.code != http.StatusAccepted {
		t.Fatalf("no body: %d %s", r.code, r.body)
	}
	e.sub.mu.Lock()
	var sent []events.Request
	for _, c := range e.sub.calls {
		sent = append(sent, c.reqs...)
	}
	e.sub.mu.Unlock()
	if len(sent) != 1 || sent[0].UserPrincipalName != "ra-main@contoso.com" || sent[0].Target != "INC-1" || !sent[0].Deprovision() {
		t.Errorf("submitted %+v, want the ledger's account", sent)
	}
}

// A store or queue that fails is 503: send the DELETE again.
func TestDeleteUnavailable(t *testing.T) {
	e := newEnv(t, func(o *httpapi.Options) { o.Ledger = failingLedger{} })
	if r := e.del(t, "/requests/INC-1", upnBody("ra-main@contoso.com")); r.code != http.StatusServiceUnavailable || r.errorBody(t).Reason != httpapi.ReasonUnavailable {
		t.Errorf("ledger down: %d %s", r.code, r.body)
	}
	e = newEnv(t, nil)
	e.completedRequest(t, "INC-1")
	e.sub.err = errQueueDown
	if r := e.del(t, "/requests/INC-1", upnBody("ra-main@contoso.com")); r.code != http.StatusServiceUnavailable || r.errorBody(t).Reason != httpapi.ReasonUnavailable {
		t.Errorf("queue down: %d %s", r.code, r.body)
	}
	if strings.Contains(e.log.String(), "ra-main@contoso.com") {
		t.Errorf("the log holds the account:\n%s", e.log)
	}
}

// The documented DELETE signature matches SignDelete.
func TestDeleteMessage(t *testing.T) {
	if got := string(httpapi.DeleteMessage("/requests/INC-1", nil)); got != "DELETE /requests/INC-1" {
		t.Errorf("without a body: %q", got)
	}
	if got := string(httpapi.DeleteMessage("/requests/INC-1", []byte(`{"a":1}`))); got != "DELETE /requests/INC-1\n{\"a\":1}" {
		t.Errorf("with a body: %q", got)
	}
	if err := httpapi.Verify([]string{key1}, httpapi.SignDelete(key1, now, "/requests/X", []byte("b")), httpapi.DeleteMessage("/requests/X", []byte("b")), now); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

// fakeAccounts knows accounts by UPN and the request each was created for
// ("" for an account raprov did not create).
type fakeAccounts struct {
	owners map[string]string
	err    error
	asked  int
}

func (f *fakeAccounts) CreatedFor(_ context.Context, upn, requestID string) (bool, bool, error) {
	f.asked++
	if f.err != nil {
		return false, false, f.err
	}
	owner, ok := f.owners[upn]
	return ok, ok && owner == requestID, nil
}

// With Options.Accounts, a DELETE naming an account that does not exist or
// that raprov did not create for {id} is refused before anything is
// queued; a repeat is not checked again (the account may be gone by then).
func TestDeleteChecksAccount(t *testing.T) {
	acc := &fakeAccounts{owners: map[string]string{"ra-main@contoso.com": "INC-1", "ra-other@contoso.com": "INC-9", "adelev@contoso.com": ""}}
	e := newEnv(t, func(o *httpapi.Options) { o.Accounts = acc })
	e.completedRequest(t, "INC-1")
	tests := []struct {
		upn    string
		code   int
		reason string
		says   string
	}{
		{"ra-mian@contoso.com", 422, string(events.ReasonAccountNotFound), "no account has the userPrincipalName ra-mian@contoso.com"},
		{"RA-Other@contoso.com", 422, string(events.ReasonNotOwned), "ra-other@contoso.com was not created by raprov for request INC-1"},
		{"AdeleV@contoso.com", 422, string(events.ReasonNotOwned), "raprov removes only the accounts it created"},
	}
	for _, tt := range tests {
		r := e.del(t, "/requests/INC-1", upnBody(tt.upn))
		er := r.errorBody(t)
		if r.code != tt.code || er.Reason != tt.reason || er.Field != "userPrincipalName" || !strings.Contains(er.Error, tt.says) {
			t.Errorf("%s: %d %+v; want %d %s saying %q", tt.upn, r.code, er, tt.code, tt.reason, tt.says)
		}
	}
	if n := e.sub.callCount(); n != 0 {
		t.Fatalf("%d submissions after refusals, want none", n)
	}
	if r := e.del(t, "/requests/INC-1", upnBody("ra-main@contoso.com")); r.code != http.StatusAccepted {
		t.Fatalf("the right account: %d %s", r.code, r.body)
	}
	// The account is gone now; asking again is the same request, not checked.
	delete(acc.owners, "ra-main@contoso.com")
	asked := acc.asked
	if r := e.delAt(t, now.Add(-time.Second), "/requests/INC-1", upnBody("ra-main@contoso.com")); r.code != http.StatusOK || acc.asked != asked {
		t.Errorf("the repeat: %d %s, %d account reads; want 200 and none", r.code, r.body, acc.asked-asked)
	}
	// A tenant that cannot be read: 503, nothing queued.
	e2 := newEnv(t, func(o *httpapi.Options) { o.Accounts = &fakeAccounts{err: errQueueDown} })
	e2.completedRequest(t, "INC-1")
	if r := e2.del(t, "/requests/INC-1", upnBody("ra-main@contoso.com")); r.code != http.StatusServiceUnavailable || e2.sub.callCount() != 0 {
		t.Errorf("accounts unreadable: %d %s, %d submissions", r.code, r.body, e2.sub.callCount())
	}
}

// The account of a request that another request adopted is that request's
// line now: DELETE of the first is 409 account_taken_over, nothing queued.
func TestDeleteRefusesAnAccountTakenOver(t *testing.T) {
	e := newEnv(t, nil)
	for i, id := range []string{"OLD", "NEW"} { // NEW starts after OLD
		if err := e.ledger.Record(context.Background(), ledger.Entry{EventID: id + "-obj", RequestID: id, Step: events.StepCreateAccount,
			Type: events.TypeAccountCreated, Time: now.Add(time.Duration(i-10) * time.Minute), Outcome: ledger.Completed,
			Account: "ra-main@contoso.com", ObjectID: "0b1ec7-1"}); err != nil {
			t.Fatal(err)
		}
	}
	r := e.del(t, "/requests/OLD", nil)
	er := r.errorBody(t)
	if r.code != http.StatusConflict || er.Reason != httpapi.ReasonTakenOver || !strings.Contains(er.Error, "adopted by request NEW") {
		t.Errorf("DELETE of a request whose account NEW adopted: %d %+v; want 409 %s", r.code, er, httpapi.ReasonTakenOver)
	}
	if n := e.sub.callCount(); n != 0 {
		t.Errorf("%d submissions, want none", n)
	}
}
