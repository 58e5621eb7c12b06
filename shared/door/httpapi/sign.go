package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries the HMAC signature of a request, as the one of a
// result callback (shared/callback).
const SignatureHeader = "X-Raprov-Signature"

// MaxSkew is how far a signature's timestamp may lie from the server's
// clock, in the past or the future.
const MaxSkew = 5 * time.Minute

// Key rules.
const (
	MinKeyLen = 32 // bytes of every HMAC key
	MaxKeys   = 2  // active keys: the current one and the one being retired
)

// Bounds of a signature header, so that a hostile header costs little.
const (
	maxSignatureHeader = 1024 // bytes
	maxSignatures      = 4    // v1= values in one header
)

// Why a signature is refused. The messages name no key and quote no header.
var (
	ErrNoSignature        = errors.New("missing " + SignatureHeader + " header")
	ErrMalformedSignature = errors.New("malformed " + SignatureHeader + " header; want t=<unix seconds>,v1=<hex HMAC-SHA256>")
	ErrStaleSignature     = errors.New("signature timestamp is more than 5 minutes away from the server's time")
	ErrBadSignature       = errors.New("signature does not match")
)

// Sign returns the SignatureHeader value for body at time t under key:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">". Sign a GET over
// an empty body.
func Sign(key string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac([]byte(key), ts, body))
}

// Verify checks a SignatureHeader value against body with any of keys at
// time now. It returns nil or one of the Err*Signature errors.
func Verify(keys []string, header string, body []byte, now time.Time) error {
	sig, err := parseSignature(header, now)
	if err != nil {
		return err
	}
	k := make([][]byte, len(keys))
	for i, key := range keys {
		k[i] = []byte(key)
	}
	return sig.check(k, body)
}

// signature is a parsed SignatureHeader.
type signature struct {
	ts   string   // the timestamp as sent: it is what was signed
	sigs [][]byte // decoded v1 values
}

// parseSignature parses header and checks its timestamp against now. The
// header is t=<decimal>, v1=<64 hex digits> one or more times, and maybe
// other k=v members (later schemes), which are ignored.
func parseSignature(header string, now time.Time) (signature, error) {
	if header == "" {
		return signature{}, ErrNoSignature
	}
	if len(header) > maxSignatureHeader {
		return signature{}, ErrMalformedSignature
	}
	var s signature
	seenT := false
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return signature{}, ErrMalformedSignature
		}
		switch k {
		case "t":
			if seenT || !isTimestamp(v) {
				return signature{}, ErrMalformedSignature
			}
			seenT, s.ts = true, v
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size || len(s.sigs) == maxSignatures {
				return signature{}, ErrMalformedSignature
			}
			s.sigs = append(s.sigs, b)
		}
	}
	if !seenT || len(s.sigs) == 0 {
		return signature{}, ErrMalformedSignature
	}
	sec, err := strconv.ParseInt(s.ts, 10, 64)
	if err != nil {
		return signature{}, ErrMalformedSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > MaxSkew || d < -MaxSkew {
		return signature{}, ErrStaleSignature
	}
	return s, nil
}

// isTimestamp reports whether v is 1 to 18 decimal digits: no sign, no
// space, and far from int64 overflow.
func isTimestamp(v string) bool {
	if v == "" || len(v) > 18 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

// check reports whether one of s's signatures is body's MAC under one of
// keys. Every key and signature is compared, in constant time each.
func (s signature) check(keys [][]byte, body []byte) error {
	ok := false
	for _, k := range keys {
		want := mac(k, s.ts, body)
		for _, got := range s.sigs {
			if hmac.Equal(want, got) {
				ok = true
			}
		}
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

func mac(key []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// GetMessage is what a GET's signature covers in place of a body: the
// method and the request target as sent (escaped path and query), so that
// a captured signature reads only the one resource it was made for.
func GetMessage(requestURI string) []byte { return []byte("GET " + requestURI) }

// SignGet returns the signature header of a GET of requestURI (escaped
// path and query, e.g. "/requests/INC0012345") at t.
func SignGet(key string, t time.Time, requestURI string) string {
	return Sign(key, t, GetMessage(requestURI))
}

// DeleteMessage is what a DELETE's signature covers in place of a body:
// "DELETE <requestURI>" (the request target as sent, escaped path and
// query), followed by a line feed and the body when there is one. A target
// never holds a line feed, so the two parts cannot be confused; a captured
// signature removes only the account it was made for, with the body it was
// sent with.
func DeleteMessage(requestURI string, body []byte) []byte {
	msg := []byte("DELETE " + requestURI)
	if len(body) > 0 {
		msg = append(append(msg, '\n'), body...)
	}
	return msg
}

// SignDelete returns the signature header of a DELETE of requestURI
// (escaped path and query, e.g. "/requests/INC0012345") with body (nil
// for none) at t.
func SignDelete(key string, t time.Time, requestURI string, body []byte) string {
	return Sign(key, t, DeleteMessage(requestURI, body))
}
