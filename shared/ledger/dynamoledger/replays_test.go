//go:build unix

package dynamoledger_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger/dynamoledger"
)

var _ httpapi.SignatureLog = (*dynamoledger.Signatures)(nil)

func TestSignatures(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	sigs := dynamoledger.NewSignatures(c, table)
	first := func(k [32]byte, expires time.Time) bool {
		t.Helper()
		ok, err := sigs.First(ctx, k, expires)
		if err != nil {
			t.Fatalf("First(%x): %v", k[:4], err)
		}
		return ok
	}
	k1, k2 := sha256.Sum256([]byte("1764061200.a")), sha256.Sum256([]byte("1764061200.b"))
	soon := time.Now().Add(httpapi.MaxSkew).Truncate(time.Second)

	if !first(k1, soon) {
		t.Error("first use of k1: false, want true")
	}
	if first(k1, soon) {
		t.Error("k1 again: true, want false")
	}
	if first(k1, soon.Add(time.Hour)) {
		t.Error("k1 again with a later expiry: true, want false")
	}
	if !first(k2, soon) {
		t.Error("first use of k2: false, want true")
	}

	// The item: sig#<hex>, sk signature, ttl the expiry in Unix seconds,
	// nothing else.
	want := map[string]string{}
	for _, k := range [][32]byte{k1, k2} {
		want["sig#"+hex.EncodeToString(k[:])] = "signature " + strconv.FormatInt(soon.Unix(), 10)
	}
	got := map[string]string{}
	for _, it := range scanAll(t, c, table) {
		if len(it) != 3 {
			t.Errorf("item %v has %d attributes, want pk, sk and ttl", it["pk"], len(it))
		}
		got[it["pk"].(*types.AttributeValueMemberS).Value] = it["sk"].(*types.AttributeValueMemberS).Value + " " + it["ttl"].(*types.AttributeValueMemberN).Value
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}

// An item whose ttl has passed but that DynamoDB's TTL has not deleted
// yet does not block the key.
func TestSignaturesAfterExpiry(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	sigs := dynamoledger.NewSignatures(c, table)
	k := sha256.Sum256([]byte("1764061200.{}"))
	for i, step := range []struct {
		expires time.Time
		want    bool
	}{
		{time.Now().Add(-2 * time.Second), true}, // written already expired
		{time.Now().Add(httpapi.MaxSkew), true},  // the expired item is still there and does not count
		{time.Now().Add(httpapi.MaxSkew), false}, // but the new one does
	} {
		got, err := sigs.First(ctx, k, step.expires)
		if err != nil || got != step.want {
			t.Errorf("call %d: First = %v, %v; want %v", i+1, got, err, step.want)
		}
	}
	if n := len(scanAll(t, c, table)); n != 1 {
		t.Errorf("the table holds %d items, want 1", n)
	}
}

func TestSignaturesConcurrent(t *testing.T) {
	ctx := context.Background()
	c, table := mustTable(t)
	sigs := dynamoledger.NewSignatures(c, table)
	k := sha256.Sum256([]byte("1764061200.same"))
	expires := time.Now().Add(httpapi.MaxSkew)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ok, err := sigs.First(ctx, k, expires)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("%d of 20 concurrent calls were first, want exactly 1", n)
	}
}

// A store that fails is an error, never a first use.
func TestSignaturesStoreFails(t *testing.T) {
	c, table := mustTable(t)
	sigs := dynamoledger.NewSignatures(c, table+"-missing")
	ok, err := sigs.First(context.Background(), sha256.Sum256([]byte("x")), time.Now().Add(time.Minute))
	if err == nil || ok {
		t.Errorf("First on a missing table = %v, %v; want false and an error", ok, err)
	}
}
