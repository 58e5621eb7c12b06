package local_test

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A signature is first once until it expires, even under concurrent use
// and after the store is reopened; a logged-out session stays logged out
// across a reopen until it expires. The two kinds do not mix.
func TestTokens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	s := openStore(t, path)
	sig := s.Signatures()
	key := sha256.Sum256([]byte("ts.body"))
	later := time.Now().Add(5 * time.Minute)

	if first, err := sig.First(ctx, key, later); err != nil || !first {
		t.Fatalf("first use: %t, %v; want true", first, err)
	}
	if first, err := sig.First(ctx, key, later); err != nil || first {
		t.Errorf("second use: %t, %v; want false", first, err)
	}
	// An expired one is first again (its row was left behind).
	old := sha256.Sum256([]byte("old"))
	if first, _ := sig.First(ctx, old, time.Now().Add(-time.Second)); !first {
		t.Error("a signature remembered as expired already was not first")
	}
	if first, _ := sig.First(ctx, old, later); !first {
		t.Error("an expired signature was not first again")
	}

	var wins atomic.Int32
	race := sha256.Sum256([]byte("race"))
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if first, err := sig.First(ctx, race, later); err != nil {
				t.Error(err)
			} else if first {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("20 concurrent first uses of one signature: %d won, want 1", n)
	}

	rev := s.Revocations()
	if err := rev.Revoke(ctx, "v1.123.nonce.mac", later); err != nil {
		t.Fatal(err)
	}
	if err := rev.Revoke(ctx, "v1.1.gone.mac", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}

	// Reopened: what was remembered still is.
	s2 := openStore(t, path)
	if first, _ := s2.Signatures().First(ctx, key, later); first {
		t.Error("after reopening, a used signature was first again")
	}
	for token, want := range map[string]bool{"v1.123.nonce.mac": true, "v1.1.gone.mac": false, "v1.9.other.mac": false} {
		if got, err := s2.Revocations().Revoked(ctx, token); err != nil || got != want {
			t.Errorf("after reopening, Revoked(%s) = %t, %v; want %t", token, got, err, want)
		}
	}
	// A signature is not a revocation, nor the other way round.
	if got, _ := s2.Revocations().Revoked(ctx, "ts.body"); got {
		t.Error("a signature's key counts as a logged-out session")
	}
}
