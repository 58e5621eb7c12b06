package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/submission"
	"github.com/raprov/raprov/shared/transport/local"
)

// fileRun is one `raprov run FILE` against the in-process simulator, in a
// directory of its own.
type fileRun struct {
	dir  string
	file string
	s    settings
	f    runFlags
}

// newFileRun writes data to a request file and readies a run of it.
func newFileRun(t *testing.T, data []byte) *fileRun {
	t.Helper()
	t.Setenv("RAPROV_GRAPH_TENANT_ID", "") // never Microsoft
	dir := t.TempDir()
	file := filepath.Join(dir, "requests.csv")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := loadSettings()
	if err != nil {
		t.Fatal(err)
	}
	s.DB, s.LogFile, s.GraphURL = filepath.Join(dir, "raprov.db"), filepath.Join(dir, "raprov.log"), ""
	return &fileRun{dir: dir, file: file, s: s, f: runFlags{progress: "lines", timeout: 30 * time.Second, seedUnits: 16}}
}

// run runs the file and returns what raprov printed and its error.
func (rt *fileRun) run(t *testing.T) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := runChain(ctx, rt.s, rt.f, []string{rt.file}, &out)
	t.Logf("raprov run printed:\n%s", out.String())
	return out.String(), err
}

// statuses returns every request in the run's ledger by id.
func (rt *fileRun) statuses(t *testing.T) map[string]ledger.Status {
	t.Helper()
	store, err := local.Open(context.Background(), rt.s.DB, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	sts, err := store.Ledger().List(context.Background(), ledger.Filter{Limit: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ledger.Status{}
	for _, st := range sts {
		out[st.RequestID] = st
	}
	return out
}

const runHeader = "RequestId,UserPrincipalName,DisplayName,ApplicationType,UsageLocation\n"

// A file larger than raprov run used to read (64 MiB, the rest dropped in
// silence) is read whole: the row after the padding runs too (issue 8,
// item 1).
func TestRunLargeFile(t *testing.T) {
	var data bytes.Buffer
	data.WriteString(runHeader + "BIG-1,ra-big-1@contoso.com,Big One,AA,US\n")
	data.Write(bytes.Repeat([]byte("\n"), 64<<20)) // blank lines are skipped
	data.WriteString("BIG-2,ra-big-2@contoso.com,Big Two,AA,US\n")
	rt := newFileRun(t, data.Bytes())
	out, err := rt.run(t)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(out, "raprov: 2 requests from") {
		t.Errorf("the run did not read both rows")
	}
	sts := rt.statuses(t)
	for _, id := range []string{"BIG-1", "BIG-2"} {
		if sts[id].Outcome != ledger.Completed {
			t.Errorf("%s: %+v; want completed", id, sts[id])
		}
	}
}

// A row whose event would be too large is refused alone, with its line;
// the other rows run (issue 8, item 2).
func TestRunOversizedRow(t *testing.T) {
	huge := strings.Repeat("x", events.MaxSize)
	rt := newFileRun(t, []byte(runHeader+
		"OK-1,ra-ok-1@contoso.com,Fine,AA,US\n"+
		"BIG-1,ra-big-1@contoso.com,"+huge+",AA,US\n"+
		"OK-2,ra-ok-2@contoso.com,Fine Too,CQ,US\n"))
	out, err := rt.run(t)
	if ec, ok := errors.AsType[exitCode](err); !ok || ec != 1 {
		t.Fatalf("run: %v; want exit code 1 for the refused row", err)
	}
	if want := rt.file + ": line 3: the request is too large to submit: its event would be over 204800 bytes; raprov submits at most 102400"; !strings.Contains(out, want) {
		t.Errorf("output lacks %q", want)
	}
	sts := rt.statuses(t)
	for _, id := range []string{"OK-1", "OK-2"} {
		if sts[id].Outcome != ledger.Completed {
			t.Errorf("%s: %+v; want completed", id, sts[id])
		}
	}
	if _, ok := sts["BIG-1"]; ok {
		t.Errorf("BIG-1 was submitted")
	}
}

// A request just small enough to submit still ends: intake's refusal of
// it, which carries the request lower-cased (Ⱥ, 2 bytes, becomes ⱥ, 3
// bytes) and a failure, fits in an event (issue 8, item 2).
func TestRunLargestRow(t *testing.T) {
	for _, tt := range []struct{ name, upn, displayName string }{
		{"long display name", "ra-large@contoso.com", strings.Repeat("x", submission.MaxRequestEvent-1024)},
		{"growing UPN", strings.Repeat("Ⱥ", (submission.MaxRequestEvent-1024)/2) + "@contoso.com", "Large"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rt := newFileRun(t, []byte(runHeader+"LARGE-1,"+tt.upn+","+tt.displayName+",AA,US\n"))
			rt.f.timeout = 15 * time.Second
			if _, err := rt.run(t); err != exitCode(1) { // 1: failed, not completed
				t.Fatalf("run: %v; want exit code 1", err)
			}
			if st := rt.statuses(t)["LARGE-1"]; st.Outcome != ledger.Failed || st.Reason != string(events.ReasonInvalidRequest) {
				t.Errorf("LARGE-1: %+v; want failed with invalid_request", st)
			}
		})
	}
}

// A requestId with spaces around it is the trimmed id everywhere: the run
// waits for it under that id, and the ledger knows no other; one of spaces
// only is no id, and gets stableID's (issue 8, item 5).
func TestRunRequestIDSpaces(t *testing.T) {
	rt := newFileRun(t, []byte(runHeader+
		" SP-1 ,ra-sp-1@contoso.com,Spaced,AA,US\n"+
		"   ,ra-sp-2@contoso.com,Blank Id,AA,US\n"))
	rt.f.timeout = 15 * time.Second // it used to wait for the blank id until this ran out
	if _, err := rt.run(t); err != nil {
		t.Fatalf("run: %v", err)
	}
	sts := rt.statuses(t)
	blank := stableID(events.Request{UserPrincipalName: "ra-sp-2@contoso.com", DisplayName: "Blank Id", AccountType: "AA", UsageLocation: "US"})
	if len(sts) != 2 || sts["SP-1"].Outcome != ledger.Completed || sts[blank].Outcome != ledger.Completed {
		t.Errorf("ledger %+v; want SP-1 and %s completed, nothing else", sts, blank)
	}
}

// raprov submit refuses an oversized row alone and submits the trimmed id:
// the event on the intake queue, its claim and its ledger row all say SP-1
// (issue 8, items 2 and 5).
func TestRunSubmit(t *testing.T) {
	rt := newFileRun(t, []byte(runHeader+
		" SP-1 ,ra-sp-1@contoso.com,Spaced,AA,US\n"+
		"BIG-1,ra-big-1@contoso.com,"+strings.Repeat("x", events.MaxSize)+",AA,US\n"))
	out, err := executeCmd(newSubmitCmd(), "--db", rt.s.DB, rt.file)
	t.Logf("raprov submit printed:\n%s", out)
	if ec, ok := errors.AsType[exitCode](err); !ok || ec != 1 {
		t.Fatalf("submit: %v; want exit code 1 for the refused row", err)
	}
	if !strings.Contains(out, "line 3: the request is too large to submit") || !strings.Contains(out, "submitted 1 requests") {
		t.Errorf("submit output does not refuse line 3 alone")
	}

	store, err := local.Open(context.Background(), rt.s.DB, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	d, err := store.Queue(events.StepIntake, local.QueueOptions{}).Receive(context.Background())
	if err != nil || d == nil {
		t.Fatalf("intake queue: %v, %v", d, err)
	}
	ev, err := events.Decode(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Subject != "SP-1" || ev.Data.Request.RequestID != "SP-1" {
		t.Errorf("submitted event: subject %q, request id %q; want SP-1", ev.Subject, ev.Data.Request.RequestID)
	}
	sts, err := store.Ledger().List(context.Background(), ledger.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sts) != 1 || sts[0].RequestID != "SP-1" {
		t.Errorf("ledger %+v; want SP-1 alone", sts)
	}
}

// executeCmd runs a command as main does and returns what it printed.
func executeCmd(cmd *cobra.Command, args ...string) (string, error) {
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}
