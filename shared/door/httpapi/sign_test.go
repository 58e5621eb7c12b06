package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/callback"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger/memledger"
)

// TestSignMatchesCallback checks that the door verifies what raprov's
// callback signer produces and the other way round: one scheme both ways.
func TestSignMatchesCallback(t *testing.T) {
	body := []byte(`{"requestId":"INC1"}`)
	for _, body := range [][]byte{body, nil} {
		got := httpapi.Sign(key1, now, body)
		if want := callback.Sign([]byte(key1), now, body); got != want {
			t.Errorf("Sign = %s, callback.Sign = %s", got, want)
		}
		if err := callback.Verify([]byte(key1), got, body, now, httpapi.MaxSkew); err != nil {
			t.Errorf("callback.Verify: %v", err)
		}
		if err := httpapi.Verify([]string{key1}, callback.Sign([]byte(key1), now, body), body, now); err != nil {
			t.Errorf("Verify of callback.Sign: %v", err)
		}
	}
	// Written out: HMAC-SHA256(key, "<t>.<body>") in lower-case hex.
	m := hmac.New(sha256.New, []byte(key1))
	fmt.Fprintf(m, "%d.%s", now.Unix(), body)
	if want := fmt.Sprintf("t=%d,v1=%s", now.Unix(), hex.EncodeToString(m.Sum(nil))); httpapi.Sign(key1, now, body) != want {
		t.Errorf("Sign = %s, want %s", httpapi.Sign(key1, now, body), want)
	}
}

func TestVerify(t *testing.T) {
	body := []byte("{}")
	good := httpapi.Sign(key1, now, body)
	v1 := good[strings.Index(good, "v1="):]
	tests := []struct {
		name   string
		keys   []string
		header string
		want   error
	}{
		{"valid", []string{key1}, good, nil},
		{"second key", []string{key2, key1}, good, nil},
		{"spaces around members", []string{key1}, strings.ReplaceAll(good, ",", " , "), nil},
		{"v1 first", []string{key1}, v1 + ",t=" + unix(now), nil},
		{"unknown scheme ignored", []string{key1}, good + ",v0=abc", nil},
		{"upper-case hex", []string{key1}, "t=" + unix(now) + ",v1=" + strings.ToUpper(v1[3:]), nil},
		{"upper-case name", []string{key1}, "t=" + unix(now) + ",V1=" + v1[3:], httpapi.ErrMalformedSignature},
		{"missing", []string{key1}, "", httpapi.ErrNoSignature},
		{"no v1", []string{key1}, "t=" + unix(now), httpapi.ErrMalformedSignature},
		{"no t", []string{key1}, v1, httpapi.ErrMalformedSignature},
		{"empty t", []string{key1}, "t=," + v1, httpapi.ErrMalformedSignature},
		{"negative t", []string{key1}, "t=-1," + v1, httpapi.ErrMalformedSignature},
		{"huge t", []string{key1}, "t=99999999999999999999," + v1, httpapi.ErrMalformedSignature},
		{"trailing comma", []string{key1}, good + ",", httpapi.ErrMalformedSignature},
		{"five signatures", []string{key1}, good + strings.Repeat(","+v1, 4), httpapi.ErrMalformedSignature},
		{"too long", []string{key1}, good + ",x=" + strings.Repeat("a", 1100), httpapi.ErrMalformedSignature},
		{"wrong key", []string{key2}, good, httpapi.ErrBadSignature},
		{"stale", []string{key1}, httpapi.Sign(key1, now.Add(-httpapi.MaxSkew-time.Second), body), httpapi.ErrStaleSignature},
		{"future", []string{key1}, httpapi.Sign(key1, now.Add(httpapi.MaxSkew+time.Second), body), httpapi.ErrStaleSignature},
		{"oldest accepted", []string{key1}, httpapi.Sign(key1, now.Add(-httpapi.MaxSkew), body), nil},
		{"newest accepted", []string{key1}, httpapi.Sign(key1, now.Add(httpapi.MaxSkew), body), nil},
		{"one of two signatures", []string{key1}, httpapi.Sign(key2, now, body) + "," + v1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := httpapi.Verify(tt.keys, tt.header, body, now)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil && (strings.Contains(err.Error(), key1) || strings.Contains(err.Error(), key2)) {
				t.Errorf("error names a key: %v", err)
			}
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	base := func() httpapi.Options {
		led := memledger.New()
		return httpapi.Options{Submitter: &fakeSubmitter{ledger: led}, Ledger: led, Keys: []string{key1}}
	}
	short := "short-secret-of-31-bytes-123456"
	tests := []struct {
		name   string
		change func(*httpapi.Options)
		want   string
	}{
		{"no keys", func(o *httpapi.Options) { o.Keys = nil }, "at least one HMAC key"},
		{"short key", func(o *httpapi.Options) { o.Keys = []string{key1, short} }, "key 2 is 31 bytes"},
		{"empty key", func(o *httpapi.Options) { o.Keys = []string{""} }, "key 1 is 0 bytes"},
		{"three keys", func(o *httpapi.Options) { o.Keys = []string{key1, key2, key1 + "x"} }, "at most 2"},
		{"no submitter", func(o *httpapi.Options) { o.Submitter = nil }, "Submitter"},
		{"no ledger", func(o *httpapi.Options) { o.Ledger = nil }, "Ledger"},
		{"negative body", func(o *httpapi.Options) { o.MaxBody = -1 }, "MaxBody"},
		{"negative batch", func(o *httpapi.Options) { o.MaxBatch = -1 }, "MaxBatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base()
			tt.change(&o)
			_, err := httpapi.New(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error about %q", err, tt.want)
			}
			for _, k := range o.Keys {
				if k != "" && strings.Contains(err.Error(), k) {
					t.Errorf("error names a key: %v", err)
				}
			}
		})
	}
	if len(short) != 31 {
		t.Fatal("short key is not 31 bytes")
	}
	if _, err := httpapi.New(base()); err != nil {
		t.Errorf("valid options: %v", err)
	}
}
