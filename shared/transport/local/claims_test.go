package local_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

func TestClaims(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	c := openStore(t, path).Claims()
	tests := []struct {
		name                  string
		request, event, fp    string
		wantHolder, wantPrint string
	}{
		{"free id", "r1", "e1", "fa", "e1", "fa"},
		{"same event again (redelivery, replay)", "r1", "e1", "fa", "e1", "fa"},
		{"another event, same request", "r1", "e2", "fa", "e1", "fa"},
		{"another event, another request", "r1", "e3", "fb", "e1", "fa"},
		{"another request id", "r2", "e2", "fb", "e2", "fb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, fp, err := c.Claim(ctx, tt.request, tt.event, tt.fp)
			if err != nil || h != tt.wantHolder || fp != tt.wantPrint {
				t.Errorf("Claim(%s, %s, %s) = %s, %s, %v; want %s, %s", tt.request, tt.event, tt.fp, h, fp, err, tt.wantHolder, tt.wantPrint)
			}
		})
	}
	if _, _, err := c.Claim(ctx, "", "e1", "fa"); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("Claim without request id: error %v, want code invalid", err)
	}

	// Claims survive a restart.
	if h, fp, err := openStore(t, path).Claims().Claim(ctx, "r1", "e3", "fc"); err != nil || h != "e1" || fp != "fa" {
		t.Errorf("after reopening, Claim(r1, e3) = %s, %s, %v; want e1, fa", h, fp, err)
	}
}

// SubmitClaimed sends only the requests whose id it claimed, in the same
// transaction, and says who holds the others.
func TestSubmitClaimed(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	q := s.Queue("intake", local.QueueOptions{})
	sub := func(req, ev, fp string) local.Submission {
		s := local.Submission{RequestID: req, EventID: ev, Fingerprint: fp, Message: transport.Message{Body: []byte(ev)}}
		if req != "" {
			s.Record = []ledger.Entry{{EventID: ev, RequestID: req, Type: "submitted", Step: "submit"}}
		}
		return s
	}
	holders, err := s.SubmitClaimed(ctx, "intake", []local.Submission{sub("r1", "e1", "fa"), sub("r1", "e2", "fb"), sub("r2", "e3", "fc"), sub("", "e4", "")})
	if err != nil {
		t.Fatal(err)
	}
	want := []local.Holder{{"e1", "fa"}, {"e1", "fa"}, {"e3", "fc"}, {"e4", ""}}
	if fmt.Sprint(holders) != fmt.Sprint(want) {
		t.Fatalf("holders %v, want %v", holders, want)
	}
	var got []string
	for {
		d, err := q.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d == nil {
			break
		}
		got = append(got, string(d.Body))
	}
	if fmt.Sprint(got) != "[e1 e3 e4]" {
		t.Fatalf("sent %v, want e1 e3 e4 (e2's id was taken)", got)
	}
	if st, err := s.Ledger().Get(ctx, "r1"); err != nil || len(st.History) != 1 || st.History[0].EventID != "e1" {
		t.Fatalf("ledger of r1: %+v %v", st, err)
	}
}

// Of many events racing for one request id, exactly one wins.
func TestClaimsRace(t *testing.T) {
	c := MustOpen(t).Claims()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ev := fmt.Sprint("e", i)
			h, _, err := c.Claim(context.Background(), "r", ev, "fa")
			if err != nil {
				t.Error(err)
			}
			if h == ev {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d events claimed the request id, want 1", n)
	}
}

// A number is held by one request at a time, survives a restart, and only
// its holder releases it.
func TestNumberHolds(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	h := openStore(t, path).NumberHolds()
	for _, tt := range []struct{ number, request, want string }{
		{"+12065550100", "r1", "r1"},
		{"+12065550100", "r1", "r1"},
		{"+12065550100", "r2", "r1"},
		{"+12065550101", "r2", "r2"},
	} {
		if got, err := h.Hold(ctx, tt.number, tt.request); err != nil || got != tt.want {
			t.Fatalf("Hold(%s, %s) = %s, %v; want %s", tt.number, tt.request, got, err, tt.want)
		}
	}
	h = openStore(t, path).NumberHolds()
	if err := h.Release(ctx, "+12065550100", "r2"); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Hold(ctx, "+12065550100", "r3"); got != "r1" {
		t.Fatalf("after another request's release: holder %s, want r1", got)
	}
	if err := h.Release(ctx, "+12065550100", "r1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Hold(ctx, "+12065550100", "r3"); got != "r3" {
		t.Fatalf("after the holder's release: holder %s, want r3", got)
	}
}
