package local_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/raprov/raprov/shared/apperr"
)

func TestClaims(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	c := openStore(t, path).Claims()
	tests := []struct {
		name           string
		request, event string
		want           bool
	}{
		{"free id", "r1", "e1", true},
		{"same event again (redelivery, replay)", "r1", "e1", true},
		{"another event", "r1", "e2", false},
		{"another request", "r2", "e2", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Claim(ctx, tt.request, tt.event)
			if err != nil || got != tt.want {
				t.Errorf("Claim(%s, %s) = %v, %v; want %v", tt.request, tt.event, got, err, tt.want)
			}
		})
	}
	if _, err := c.Claim(ctx, "", "e1"); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("Claim without request id: error %v, want code invalid", err)
	}

	// Claims survive a restart.
	if got, err := openStore(t, path).Claims().Claim(ctx, "r1", "e3"); err != nil || got {
		t.Errorf("after reopening, Claim(r1, e3) = %v, %v; want false", got, err)
	}
}

// Of many events racing for one request id, exactly one wins.
func TestClaimsRace(t *testing.T) {
	c := MustOpen(t).Claims()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			ok, err := c.Claim(context.Background(), "r", fmt.Sprint("e", i))
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d events claimed the request id, want 1", n)
	}
}
