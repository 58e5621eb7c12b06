package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxSize is the largest encoded event in bytes (200 KiB), enforced by
// Encode and Decode alike. It leaves room below SQS's 256 KiB message limit
// for message attributes and transport framing.
const MaxSize = 200 << 10

// Poison reasons: why an event cannot be accepted. Transports put the reason
// on the dead-lettered message.
const (
	PoisonTooLarge          = "too_large"          // larger than MaxSize
	PoisonMalformedJSON     = "malformed_json"     // not UTF-8 or not JSON
	PoisonMalformedEnvelope = "malformed_envelope" // not a JSON object, or a CloudEvents attribute is missing, mistyped or invalid
	PoisonBadSpecVersion    = "bad_specversion"    // specversion missing or not "1.0"
	PoisonUnknownType       = "unknown_type"       // type (name or version) not declared in this package
	PoisonMalformedData     = "malformed_data"     // data missing, mistyped, or inconsistent with the type
)

// PoisonError reports an event that can never be processed, however often it
// is retried: it belongs in the dead-letter queue with its Reason. Decode
// returns it directly; Encode wraps it, since encoding it would create
// poison.
type PoisonError struct {
	Reason string // one of the Poison* constants
	Detail string // what exactly is wrong, for the operator
}

func (e *PoisonError) Error() string {
	return "events: poison event (" + e.Reason + "): " + e.Detail
}

func poison(reason, format string, args ...any) *PoisonError {
	return &PoisonError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
}

// wireEvent is the structured-mode JSON form of an Event.
type wireEvent struct {
	SpecVersion     string `json:"specversion"`
	ID              string `json:"id"`
	Source          string `json:"source"`
	Type            string `json:"type"`
	Subject         string `json:"subject,omitempty"`
	Time            string `json:"time"`
	DataContentType string `json:"datacontenttype"`
	TraceParent     string `json:"traceparent,omitempty"`
	Attempt         int    `json:"attempt"`
	ReplayCount     int    `json:"replaycount"`
	Data            Data   `json:"data"`
}

// Encode returns e as a CloudEvents structured-mode JSON document. It
// refuses events that Decode would reject, including those larger than
// MaxSize; errors.As finds the *PoisonError in the error it returns. An
// invalid TraceParent is left out, as Decode would drop it.
func Encode(e Event) ([]byte, error) {
	if err := check(e); err != nil {
		return nil, fmt.Errorf("events: cannot encode event %q: %w", e.ID, err)
	}
	w := wireEvent{
		SpecVersion:     SpecVersion,
		ID:              e.ID,
		Source:          e.Source,
		Type:            e.Type,
		Subject:         e.Subject,
		Time:            e.Time.UTC().Format(time.RFC3339Nano),
		DataContentType: ContentType,
		TraceParent:     validTraceParent(e.TraceParent),
		Attempt:         e.Attempt,
		ReplayCount:     e.ReplayCount,
		Data:            e.Data,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep URLs with & readable in queues and logs
	if err := enc.Encode(w); err != nil {
		return nil, fmt.Errorf("events: cannot encode event %q: %w", e.ID, err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(b) > MaxSize {
		return nil, fmt.Errorf("events: cannot encode event %q: %w", e.ID,
			poison(PoisonTooLarge, "encoded event is %d bytes; the limit is %d", len(b), MaxSize))
	}
	return b, nil
}

// Decode parses a CloudEvents structured-mode JSON document. Every failure
// is a *PoisonError: the document is larger than MaxSize, not UTF-8 JSON,
// not an object, has a specversion other than "1.0", a type (or type
// version) this package does not declare, a required attribute (id, source,
// type, time, data) missing or of the wrong JSON type, an invalid time,
// attempt or replaycount, a datacontenttype other than
// application/json, data_base64 instead of data, or data that does not fit
// the type (see Encode). Attribute names are matched exactly; unknown
// extension attributes are ignored, and so is a traceparent that is not a
// valid W3C traceparent string (the event decodes without one). Decode
// never panics.
func Decode(b []byte) (Event, error) {
	if len(b) > MaxSize {
		return Event{}, poison(PoisonTooLarge, "event is %d bytes; the limit is %d", len(b), MaxSize)
	}
	if !utf8.Valid(b) {
		return Event{}, poison(PoisonMalformedJSON, "event is not valid UTF-8")
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(b, &attrs); err != nil {
		if se := (*json.SyntaxError)(nil); errors.As(err, &se) {
			return Event{}, poison(PoisonMalformedJSON, "invalid JSON at byte %d: %v", se.Offset, err)
		}
		return Event{}, poison(PoisonMalformedEnvelope, "event is not a JSON object")
	}
	if attrs == nil {
		return Event{}, poison(PoisonMalformedEnvelope, "event is not a JSON object")
	}
	a := attributes(attrs)

	spec, ok, err := a.string("specversion", PoisonBadSpecVersion)
	switch {
	case err != nil:
		return Event{}, err
	case !ok:
		return Event{}, poison(PoisonBadSpecVersion, "specversion is missing")
	case spec != SpecVersion:
		return Event{}, poison(PoisonBadSpecVersion, "specversion %q is not supported; want %q", spec, SpecVersion)
	}

	var e Event
	if e.Type, err = a.required("type"); err != nil {
		return Event{}, err
	}
	if !Known(e.Type) {
		return Event{}, unknownType(e.Type)
	}
	if e.ID, err = a.required("id"); err != nil {
		return Event{}, err
	}
	if e.Source, err = a.required("source"); err != nil {
		return Event{}, err
	}
	if e.Subject, _, err = a.string("subject", PoisonMalformedEnvelope); err != nil {
		return Event{}, err
	}
	ts, err := a.required("time")
	if err != nil {
		return Event{}, err
	}
	t, terr := time.Parse(time.RFC3339Nano, ts)
	if terr != nil {
		return Event{}, poison(PoisonMalformedEnvelope, "time %q is not an RFC 3339 timestamp", ts)
	}
	e.Time = t.UTC()
	ct, ok, err := a.string("datacontenttype", PoisonMalformedEnvelope)
	if err != nil {
		return Event{}, err
	}
	if ok {
		if mt, _, perr := mime.ParseMediaType(ct); perr != nil || mt != ContentType {
			return Event{}, poison(PoisonMalformedEnvelope, "datacontenttype %q is not supported; want %q", ct, ContentType)
		}
	}
	// An invalid traceparent is dropped, never poison: W3C Trace Context
	// has a receiver ignore a traceparent it cannot parse (the next step
	// starts a new trace), and a request must not be dead-lettered for
	// its tracing header.
	if tp, _, perr := a.string("traceparent", PoisonMalformedEnvelope); perr == nil && ValidTraceParent(tp) {
		e.TraceParent = tp
	}
	if e.Attempt, err = a.count("attempt"); err != nil {
		return Event{}, err
	}
	if e.ReplayCount, err = a.count("replaycount"); err != nil {
		return Event{}, err
	}

	if _, ok := attrs["data_base64"]; ok {
		return Event{}, poison(PoisonMalformedEnvelope, "data_base64 is not supported; data must be JSON")
	}
	raw, ok := a.get("data")
	if !ok {
		return Event{}, poison(PoisonMalformedData, "data is missing")
	}
	if raw[0] != '{' {
		return Event{}, poison(PoisonMalformedData, "data is not a JSON object")
	}
	if uerr := json.Unmarshal(raw, &e.Data); uerr != nil {
		return Event{}, poison(PoisonMalformedData, "data does not match the %s schema: %v", e.Type, uerr)
	}
	if err := check(e); err != nil {
		return Event{}, err
	}
	return e, nil
}

// validTraceParent returns s when it is a valid traceparent, else "".
func validTraceParent(s string) string {
	if ValidTraceParent(s) {
		return s
	}
	return ""
}

// check reports why e violates the rules shared by Encode and Decode.
func check(e Event) *PoisonError {
	switch {
	case !Known(e.Type):
		return unknownType(e.Type)
	case e.ID == "":
		return poison(PoisonMalformedEnvelope, "id is empty")
	case e.Source == "":
		return poison(PoisonMalformedEnvelope, "source is empty")
	case e.Time.IsZero():
		return poison(PoisonMalformedEnvelope, "time is missing")
	case e.Time.UTC().Year() > 9999:
		return poison(PoisonMalformedEnvelope, "time %s is out of range", e.Time.UTC().Format(time.RFC3339))
	case e.Attempt < 0 || e.Attempt > math.MaxInt32:
		return poison(PoisonMalformedEnvelope, "attempt %d is out of range", e.Attempt)
	case e.ReplayCount < 0 || e.ReplayCount > math.MaxInt32:
		return poison(PoisonMalformedEnvelope, "replaycount %d is out of range", e.ReplayCount)
	}
	if _, err := url.Parse(e.Source); err != nil {
		return poison(PoisonMalformedEnvelope, "source %q is not a URI reference", e.Source)
	}
	id := e.Data.Request.RequestID
	if e.Subject != id && (!Submitted(e.Type) || e.Subject != "") {
		return poison(PoisonMalformedEnvelope, "subject %q differs from data.request.requestId %q", e.Subject, id)
	}
	if e.Subject == "" && !Submitted(e.Type) {
		return poison(PoisonMalformedEnvelope, "subject (the request id) is empty")
	}
	f := e.Data.Failure
	switch {
	case e.Type == TypeProvisioningFailed && f == nil:
		return poison(PoisonMalformedData, "data.failure is missing")
	case e.Type != TypeProvisioningFailed && f != nil:
		return poison(PoisonMalformedData, "data.failure is set on a %s event", e.Type)
	case f != nil && !f.Reason.Valid():
		return poison(PoisonMalformedData, "data.failure.reason %q is not a known reason code", f.Reason)
	}
	if f != nil {
		for _, fe := range f.Errors {
			if !fe.Reason.Valid() {
				return poison(PoisonMalformedData, "data.failure.errors reason %q is not a known reason code", fe.Reason)
			}
		}
	}
	return nil
}

var typePattern = regexp.MustCompile(`^(raprov\.[A-Za-z]+\.[A-Za-z]+)\.(v[0-9]+)$`)

func unknownType(typ string) *PoisonError {
	if m := typePattern.FindStringSubmatch(typ); m != nil {
		for _, t := range Types {
			if strings.HasPrefix(t, m[1]+".") {
				return poison(PoisonUnknownType, "type %q: version %s of %s is not supported (this build knows %s)", typ, m[2], m[1], t)
			}
		}
	}
	return poison(PoisonUnknownType, "type %q is not a raprov event type", typ)
}

// attributes are the top-level members of a structured-mode event.
type attributes map[string]json.RawMessage

// get returns the raw value of name; a JSON null counts as absent.
func (a attributes) get(name string) (json.RawMessage, bool) {
	raw, ok := a[name]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return nil, false
	}
	return raw, true
}

// string returns the string attribute name and whether it is present; a
// value of another JSON type is a poison error with the given reason.
func (a attributes) string(name, reason string) (string, bool, *PoisonError) {
	raw, ok := a.get(name)
	if !ok {
		return "", false, nil
	}
	if raw[0] != '"' {
		return "", false, poison(reason, "%s is not a JSON string", name)
	}
	// raw is a member of a document already checked to be valid JSON: a
	// string without escapes is its bytes between the quotes.
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true, nil
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false, poison(reason, "%s is not a JSON string", name)
	}
	return s, true, nil
}

// required returns the string attribute name, which must be present and
// not empty.
func (a attributes) required(name string) (string, *PoisonError) {
	s, ok, err := a.string(name, PoisonMalformedEnvelope)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return "", poison(PoisonMalformedEnvelope, "%s is missing", name)
	}
	return s, nil
}

// count returns the optional integer extension name (0 when absent), a
// CloudEvents Integer: a JSON number in [0, 2^31).
func (a attributes) count(name string) (int, *PoisonError) {
	raw, ok := a.get(name)
	if !ok {
		return 0, nil
	}
	var n int32
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
		return 0, poison(PoisonMalformedEnvelope, "%s is %s; want a non-negative integer", name, truncate(raw, 32))
	}
	return int(n), nil
}

// truncate shortens b to at most n bytes for an error message.
func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return strings.ToValidUTF8(string(b[:n]), "") + "…"
}
