package events

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"time"
)

// ValidTraceParent reports whether s is a W3C Trace Context traceparent
// header value (https://www.w3.org/TR/trace-context/#traceparent-header):
// version-traceid-parentid-flags in lower-case hex, with a non-zero trace
// and parent id. Version ff is invalid; version 00 has exactly these four
// fields, and later versions may append "-" and more, as the specification
// asks parsers to accept.
func ValidTraceParent(s string) bool {
	const v0Len = 2 + 1 + 32 + 1 + 16 + 1 + 2 // 55
	if len(s) < v0Len || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	version, traceID, parentID, flags := s[0:2], s[3:35], s[36:52], s[53:55]
	if !isLowerHex(version) || version == "ff" || !isLowerHex(flags) ||
		!isLowerHex(traceID) || allZero(traceID) ||
		!isLowerHex(parentID) || allZero(parentID) {
		return false
	}
	if version == "00" {
		return len(s) == v0Len
	}
	return len(s) == v0Len || s[v0Len] == '-'
}

// TraceContext is a parsed traceparent: the trace a request belongs to, the
// span that caused the event (its parent on the next hop), and the trace
// flags. Its zero value is invalid.
type TraceContext struct {
	TraceID  [16]byte
	ParentID [8]byte
	Flags    byte // bit 0: sampled
}

// FlagSampled is the sampled bit of TraceContext.Flags.
const FlagSampled byte = 0x01

// ParseTraceParent parses a traceparent. It returns false, and the zero
// TraceContext, when s is not valid (see ValidTraceParent): an invalid
// traceparent is never trusted, never repaired. The fields a later version
// appends are ignored, as the specification asks.
func ParseTraceParent(s string) (TraceContext, bool) {
	if !ValidTraceParent(s) {
		return TraceContext{}, false
	}
	var c TraceContext
	var f [1]byte
	// Valid: every field is lower-case hex of the right length.
	hex.Decode(c.TraceID[:], []byte(s[3:35]))
	hex.Decode(c.ParentID[:], []byte(s[36:52]))
	hex.Decode(f[:], []byte(s[53:55]))
	c.Flags = f[0]
	return c, true
}

// NewTraceContext starts a new trace: a new trace id, a random parent id,
// and the sampled flag set. The trace id's first 4 bytes are the current
// time in Unix seconds and the other 12 random, the form AWS X-Ray's trace
// ids take, so X-Ray accepts raprov's traces whichever way they reach it.
//
// Sampling rule: a trace raprov starts is always marked sampled (exporting
// spans is off unless configured, so this costs nothing; an OpenTelemetry
// SDK, when configured, applies its own sampler to the spans it records).
// A trace that arrives keeps its flags.
func NewTraceContext() TraceContext {
	c := TraceContext{Flags: FlagSampled}
	binary.BigEndian.PutUint32(c.TraceID[:4], uint32(time.Now().Unix()))
	rand.Read(c.TraceID[4:])
	randomNonZero(c.ParentID[:])
	return c
}

// Child returns c with a new random parent id: the context a span of the
// same trace, started under c, hands on to the next hop.
func (c TraceContext) Child() TraceContext {
	randomNonZero(c.ParentID[:])
	return c
}

// Valid reports whether c has a non-zero trace id and parent id.
func (c TraceContext) Valid() bool {
	return c.TraceID != [16]byte{} && c.ParentID != [8]byte{}
}

// Sampled reports whether the sampled flag is set.
func (c TraceContext) Sampled() bool { return c.Flags&FlagSampled != 0 }

// String returns c as a version 00 traceparent, or "" when c is invalid.
func (c TraceContext) String() string {
	if !c.Valid() {
		return ""
	}
	const hexDigits = "0123456789abcdef"
	b := make([]byte, 0, 55)
	b = append(b, "00-"...)
	b = hex.AppendEncode(b, c.TraceID[:])
	b = append(b, '-')
	b = hex.AppendEncode(b, c.ParentID[:])
	b = append(b, '-', hexDigits[c.Flags>>4], hexDigits[c.Flags&0x0f])
	return string(b)
}

// TraceID returns the trace id of traceparent s in hex, or "" when s is
// not valid.
func TraceID(s string) string {
	if !ValidTraceParent(s) {
		return ""
	}
	return s[3:35]
}

// randomNonZero fills b with random bytes, none of them all zero.
func randomNonZero(b []byte) {
	for {
		rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
		for _, x := range b {
			if x != 0 {
				return
			}
		}
	}
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
