package statuspage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/statuspage"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/memledger"
	"github.com/raprov/raprov/shared/transport"
)

// chromiumPath is Debian's chromium, which .ci/run installs.
const chromiumPath = "/usr/bin/chromium"

// actionTimeout bounds each browser action.
const actionTimeout = 30 * time.Second

// screenshotsEnv, set to 1, makes TestBrowser write its screenshots to
// docs/images/ (the README shows them).
const screenshotsEnv = "RAPROV_UPDATE_SCREENSHOTS"

// The requests of the browser test: one completed through every step, one
// failed at assign-number, one in progress whose next event was dead-lettered.
const (
	reqDone = "REQ0010231"
	reqFail = "REQ0010232"
	reqBusy = "REQ0010233"
)

// TestBrowser drives the status page in a real, headless chromium over
// loopback: login, the requests with a filter, a timeline, the dead letters
// and a replay. With RAPROV_UPDATE_SCREENSHOTS=1 it also writes the
// screenshots under docs/images/.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts chromium; skipped with -short")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("no chromium at %s (%v): the browser test needs Debian's chromium package, which .ci/run installs (apt-get install chromium)", chromiumPath, err)
	}

	srvURL, rec := browserServer(t)
	ctx := newBrowser(t)
	shots := map[string][]byte{}

	// Every page but /login sends a browser without a session to /login.
	do(t, ctx, "open /", chromedp.Navigate(srvURL+"/"), chromedp.WaitVisible(chromedp.CSS("form.login input#key")))
	if loc := run(t, ctx, "location", chromedp.Location()); loc != srvURL+"/login" {
		t.Fatalf("GET / without a session landed on %s, want %s/login", loc, srvURL)
	}

	// Log in with the access key.
	do(t, ctx, "type the key", chromedp.SendKeys(chromedp.CSS("form.login input#key"), key1))
	navigate(t, ctx, "log in", chromedp.Click(chromedp.CSS(`form.login button[type="submit"]`)))
	do(t, ctx, "requests page", chromedp.WaitVisible(chromedp.CSS(`form.filters select[name="outcome"]`)))
	if loc := run(t, ctx, "location", chromedp.Location()); loc != srvURL+"/" {
		t.Fatalf("after login the browser is at %s, want %s/", loc, srvURL)
	}
	if got, want := requestIDs(t, ctx), []string{reqBusy, reqFail, reqDone}; !slices.Equal(got, want) {
		t.Fatalf("requests table lists %q, want %q (most recently updated first)", got, want)
	}
	shots["status-requests.png"] = run(t, ctx, "screenshot requests", chromedp.FullScreenshot(100))

	// Filter by outcome: only the failed request is left.
	do(t, ctx, "choose outcome failed", chromedp.SetValue(chromedp.CSS(`form.filters select[name="outcome"]`), "failed"))
	navigate(t, ctx, "filter", chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)))
	do(t, ctx, "filtered page", chromedp.WaitVisible(chromedp.CSS(`form.filters select[name="outcome"]`)))
	if loc := run(t, ctx, "location", chromedp.Location()); !strings.Contains(loc, "outcome=failed") {
		t.Errorf("filtered page is %s, want outcome=failed in its query", loc)
	}
	if got, want := requestIDs(t, ctx), []string{reqFail}; !slices.Equal(got, want) {
		t.Fatalf("with outcome=failed the table lists %q, want %q", got, want)
	}
	if account := text(t, ctx, "table.list > tbody > tr:nth-child(1) > td:nth-child(2)"); account != "cq-sales@contoso.com" {
		t.Errorf("failed request's account %q, want cq-sales@contoso.com", account)
	}
	if reason := text(t, ctx, "table.list > tbody > tr:nth-child(1) > td:nth-child(6)"); reason != string(events.ReasonNumberInUse) {
		t.Errorf("failed request's reason %q, want %q", reason, events.ReasonNumberInUse)
	}

	// The completed request's timeline: its seven steps in chain order.
	navigate(t, ctx, "clear filter", chromedp.Click(chromedp.CSS(`form.filters a[href="/"]`)))
	do(t, ctx, "requests page", chromedp.WaitVisible(chromedp.CSS(`form.filters select[name="outcome"]`)))
	navigate(t, ctx, "open "+reqDone, chromedp.Click(chromedp.CSS(`table.list a[href="/requests/`+reqDone+`/view"]`)))
	do(t, ctx, "timeline", chromedp.WaitVisible(chromedp.CSS("ol.timeline > li")))
	if h1 := text(t, ctx, "main h1"); h1 != "Request "+reqDone {
		t.Errorf("timeline heading %q, want %q", h1, "Request "+reqDone)
	}
	if outcome := text(t, ctx, "dl.state dd.outcome"); outcome != string(ledger.Completed) {
		t.Errorf("timeline outcome %q, want %q", outcome, ledger.Completed)
	}
	nodes := run(t, ctx, "timeline entries", chromedp.Nodes(chromedp.CSSAll("ol.timeline > li")))
	var steps []string
	for i := range nodes {
		steps = append(steps, text(t, ctx, fmt.Sprintf("ol.timeline > li:nth-child(%d) table.entry tr:nth-child(2) > td", i+1)))
	}
	if !slices.Equal(steps, events.Steps) {
		t.Fatalf("timeline steps %q, want %q", steps, events.Steps)
	}
	if last := text(t, ctx, "ol.timeline > li:last-child table.entry tr:nth-child(7) > td"); last != string(ledger.Completed) {
		t.Errorf("last timeline entry's outcome %q, want %q", last, ledger.Completed)
	}
	shots["status-timeline.png"] = run(t, ctx, "screenshot timeline", chromedp.FullScreenshot(100))

	// The dead letters, through the header's link.
	navigate(t, ctx, "open dead letters", chromedp.Click(chromedp.CSS(`header nav a[href="/dead-letters"]`)))
	do(t, ctx, "dead letters", chromedp.WaitVisible(chromedp.CSS("table.list > tbody > tr > td.reason")))
	rows := run(t, ctx, "dead-letter rows", chromedp.Nodes(chromedp.CSSAll("table.list > tbody > tr")))
	reasons := map[string]int{} // reason → row, from 1
	for i := range rows {
		reasons[text(t, ctx, fmt.Sprintf("table.list > tbody > tr:nth-child(%d) > td.reason", i+1))] = i + 1
	}
	if len(rows) != 2 || reasons["malformed_json"] == 0 || reasons["retries_exhausted"] == 0 {
		t.Fatalf("dead letters: %d rows with reasons %v, want malformed_json and retries_exhausted", len(rows), reasons)
	}
	row := fmt.Sprintf("table.list > tbody > tr:nth-child(%d)", reasons["retries_exhausted"])
	if id := text(t, ctx, row+" > td.id"); id != dlRetries {
		t.Fatalf("retries_exhausted row shows id %q, want %q", id, dlRetries)
	}
	if req := text(t, ctx, row+" > td:nth-child(2) > a"); req != reqBusy {
		t.Errorf("retries_exhausted row names request %q, want %q (decoded from its body)", req, reqBusy)
	}
	bad := fmt.Sprintf("table.list > tbody > tr:nth-child(%d) > td:nth-child(2)", reasons["malformed_json"])
	if cell := text(t, ctx, bad); cell != "undecodable body" {
		t.Errorf("malformed_json row's request cell %q, want %q", cell, "undecodable body")
	}
	shots["status-dead-letters.png"] = run(t, ctx, "screenshot dead letters", chromedp.FullScreenshot(100))

	// Replay the retries_exhausted one.
	if calls := rec.Calls(); len(calls) != 0 {
		t.Fatalf("Replay called %q before any click", calls)
	}
	navigate(t, ctx, "replay", chromedp.Click(chromedp.CSS(row+` form[action="/dead-letters/`+dlRetries+`/replay"] button`)))
	do(t, ctx, "flash", chromedp.WaitVisible(chromedp.CSS("p.flash")))
	if calls := rec.Calls(); !slices.Equal(calls, []string{dlRetries}) {
		t.Fatalf("Replay called with %q, want exactly [%s]", calls, dlRetries)
	}
	if flash := text(t, ctx, "p.flash"); flash != "Replayed dead letter "+dlRetries+"." {
		t.Errorf("flash %q, want %q", flash, "Replayed dead letter "+dlRetries+".")
	}
	if cls := run(t, ctx, "flash class", chromedp.AttributeValue(chromedp.CSS("p.flash"), "class")); cls.Value != "flash" {
		t.Errorf("flash class %q, want %q (not an error)", cls.Value, "flash")
	}

	for name, png := range shots {
		if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("%s is not a PNG (%d bytes)", name, len(png))
		}
	}
	if os.Getenv(screenshotsEnv) == "1" {
		dir := filepath.Join("..", "..", "..", "docs", "images")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, png := range shots {
			if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s (%d bytes)", filepath.Join(dir, name), len(png))
		}
	}
}

// The dead letters of the browser test.
const (
	dlMalformed = "dl-01JHZ7Q4M2X8K3V9R5T6W0Y1AB"
	dlRetries   = "dl-01JHZ8B7N4C2D6F8G0H3J5K7LM"
)

// browserServer serves a status page on 127.0.0.1 over a memledger holding
// the three requests and a fake DLQ holding two dead letters; it returns the
// server's URL and the Replay recorder.
func browserServer(t *testing.T) (string, *replayRecorder) {
	t.Helper()
	base := time.Date(2025, 1, 31, 8, 0, 0, 0, time.UTC)
	at := func(min, sec int) time.Time {
		return base.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
	}
	accounts := map[string]string{reqDone: "aa-reception@contoso.com", reqFail: "cq-sales@contoso.com", reqBusy: "aa-support@contoso.com"}
	entry := func(req string, n int, typ, step string, when time.Time, detail string) ledger.Entry {
		return ledger.Entry{EventID: fmt.Sprintf("%s-e%d", req, n), RequestID: req, Type: typ, Step: step, Time: when, Detail: detail, Account: accounts[req]}
	}
	done := []ledger.Entry{
		entry(reqDone, 1, events.TypeProvisioningAccepted, events.StepIntake, at(0, 0), "Reception auto attendant, aa-reception@contoso.com"),
		entry(reqDone, 2, events.TypeLicenseAvailable, events.StepCheckLicense, at(0, 2), "Microsoft Teams Phone Resource Account: 3 free"),
		entry(reqDone, 3, events.TypeAccountCreated, events.StepCreateAccount, at(0, 5), "aa-reception@contoso.com"),
		entry(reqDone, 4, events.TypeLicenseAssigned, events.StepAssignLicense, at(0, 9), "Microsoft Teams Phone Resource Account"),
		entry(reqDone, 5, events.TypeNumberAssigned, events.StepAssignNumber, at(1, 40), "+14255550100 (callingPlan)"),
		entry(reqDone, 6, events.TypeAccountAssociated, events.StepAssociate, at(1, 44), "auto attendant Reception"),
		entry(reqDone, 7, events.TypeProvisioningCompleted, events.StepComplete, at(1, 45), ""),
	}
	done[6].Outcome = ledger.Completed
	fail := []ledger.Entry{
		entry(reqFail, 1, events.TypeProvisioningAccepted, events.StepIntake, at(10, 0), "Sales call queue, cq-sales@contoso.com"),
		entry(reqFail, 2, events.TypeLicenseAvailable, events.StepCheckLicense, at(10, 2), "Microsoft Teams Phone Resource Account: 2 free"),
		entry(reqFail, 3, events.TypeAccountCreated, events.StepCreateAccount, at(10, 6), "cq-sales@contoso.com"),
		entry(reqFail, 4, events.TypeLicenseAssigned, events.StepAssignLicense, at(10, 11), "Microsoft Teams Phone Resource Account"),
		entry(reqFail, 5, events.TypeProvisioningFailed, events.StepAssignNumber, at(10, 14), "+14255550123 is assigned to another account"),
	}
	fail[4].Outcome, fail[4].Reason = ledger.Failed, string(events.ReasonNumberInUse)
	busy := []ledger.Entry{
		entry(reqBusy, 1, events.TypeProvisioningAccepted, events.StepIntake, at(20, 0), "Support auto attendant, aa-support@contoso.com"),
		entry(reqBusy, 2, events.TypeLicenseAvailable, events.StepCheckLicense, at(20, 3), "Microsoft Teams Phone Resource Account: 1 free"),
	}
	l := memledger.New()
	for _, es := range [][]ledger.Entry{done, fail, busy} {
		if err := l.Record(context.Background(), es...); err != nil {
			t.Fatal(err)
		}
	}

	body, err := events.Encode(events.New(events.TypeLicenseAvailable, events.Source(events.StepCheckLicense), events.Data{Request: events.Request{
		RequestID:         reqBusy,
		DisplayName:       "Support",
		UserPrincipalName: "aa-support@contoso.com",
		AccountType:       events.AccountTypeAutoAttendant,
		UsageLocation:     "US",
		PhoneNumber:       "+14255550142",
		NumberType:        events.NumberTypeCallingPlan,
	}}))
	if err != nil {
		t.Fatal(err)
	}
	dlq := &fakeDLQ{letters: []transport.DeadLetter{
		{ID: dlMalformed, Queue: events.StepCheckLicense, Body: []byte(`{"specversion":"1.0","type":"raprov.provisioning.accepted.v1","data":{"request":`),
			Reason: "malformed_json", Detail: "unexpected end of JSON input", Received: 1, At: at(15, 30)},
		{ID: dlRetries, Queue: events.StepCreateAccount, Body: body,
			Reason: "retries_exhausted", Detail: "Graph answered 503 Service Unavailable on 5 attempts", Received: 5, At: at(24, 10)},
	}}
	rec := &replayRecorder{missing: map[string]bool{}}

	h, err := statuspage.New(statuspage.Options{
		Ledger:      l,
		DeadLetters: dlq,
		Replay:      rec.Replay,
		Keys:        []string{key1},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, rec
}

// newBrowser starts chromium with a fresh profile and returns the context of
// its first tab; the test's cleanup closes it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	profile := t.TempDir()
	// Runs after the browser is closed and before TempDir's own removal:
	// chromium's helpers can still write in the profile for a moment.
	t.Cleanup(func() { removeContents(t, profile) })

	// An overall bound on the browser; each action gets actionTimeout.
	outer, cancelOuter := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancelOuter)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(outer,
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, actionTimeout)
		defer ccancel()
		if err := chromedp.Cancel(cctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing chromium: %v", err)
		}
		cancel()
	})
	// The first Run starts the browser; it lives as long as ctx.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	return ctx
}

// removeContents empties dir, retrying for a few seconds while chromium's
// last helper processes exit.
func removeContents(t *testing.T, dir string) {
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var ents []os.DirEntry
		if ents, err = os.ReadDir(dir); err == nil {
			for _, e := range ents {
				if rerr := os.RemoveAll(filepath.Join(dir, e.Name())); rerr != nil {
					err = rerr
				}
			}
		}
		if err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Logf("emptying the chromium profile: %v", err)
	}
}

// run runs one action with actionTimeout and fails the test on error.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(actx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// do runs actions in order, each step bounded by actionTimeout.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	for i, s := range steps {
		run(t, ctx, fmt.Sprintf("%s (step %d)", what, i+1), s)
	}
}

// navigate runs an action that loads a new page (a click on a link or a
// submit button) and waits until that page has loaded.
func navigate(t *testing.T, ctx context.Context, what string, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(actx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if resp.Status != 200 {
		t.Fatalf("%s: %s answered %d %s", what, resp.URL, resp.Status, resp.StatusText)
	}
}

// text returns the visible text of the first element css matches, trimmed.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	return strings.TrimSpace(run(t, ctx, "text of "+css, chromedp.Text(chromedp.CSS(css))))
}

// requestIDs returns the request ids of the requests table, in order.
func requestIDs(t *testing.T, ctx context.Context) []string {
	t.Helper()
	rows := run(t, ctx, "request rows", chromedp.Nodes(chromedp.CSSAll("table.list > tbody > tr")))
	var ids []string
	for i := range rows {
		ids = append(ids, text(t, ctx, fmt.Sprintf("table.list > tbody > tr:nth-child(%d) > td:nth-child(1)", i+1)))
	}
	return ids
}
