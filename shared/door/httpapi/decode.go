package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/raprov/raprov/events"
)

// Media types of POST /requests.
const (
	ContentTypeJSON            = "application/json"
	ContentTypeCloudEvent      = "application/cloudevents+json"
	ContentTypeCloudEventBatch = "application/cloudevents-batch+json"
)

// bodyError is a 4xx answer about the body as a whole.
type bodyError struct {
	code int
	resp ErrorResponse
}

// reasonInvalid is the reason of a request that is not well formed.
const reasonInvalid = string(events.ReasonInvalidRequest)

func badRequest(field, reason, format string, args ...any) *bodyError {
	return &bodyError{http.StatusBadRequest, ErrorResponse{Error: fmt.Sprintf(format, args...), Field: field, Reason: reason}}
}

// decoded is one request of a POST as the sender wrote it, or what is wrong
// with it.
type decoded struct {
	req  events.Request
	errs []ItemError
	// dryRun is the request's "dryRun" member: plan it, do not submit it.
	// A door-level flag, never part of the request (nor its fingerprint).
	dryRun bool
}

// body is a parsed POST body.
type body struct {
	items       []decoded
	batch       bool
	dryRun      bool   // every item says "dryRun": true
	traceParent string // traceparent of a single CloudEvent (extension or ce-traceparent), if valid
}

// parseBody reads the formats of POST /requests from b according to hdr:
// a structured CloudEvent, a CloudEvents batch, a binary-mode CloudEvent
// (ce-specversion header), a JSON array of requests or a plain request.
// Errors about the body as a whole come back as a *bodyError; errors about
// one item are in its decoded.errs.
func parseBody(hdr http.Header, b []byte, maxBatch int) (body, *bodyError) {
	mt := ContentTypeJSON
	if ct := hdr.Get("Content-Type"); ct != "" {
		m, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return body{}, unsupported()
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return body{}, unsupported()
		}
		mt = m
	}
	switch mt {
	case ContentTypeJSON, ContentTypeCloudEvent, ContentTypeCloudEventBatch:
	default:
		return body{}, unsupported()
	}
	if berr := checkJSON(b); berr != nil {
		return body{}, berr
	}
	first := firstByte(b)
	switch {
	case mt == ContentTypeCloudEvent:
		if first != '{' {
			return body{}, badRequest("", events.PoisonMalformedEnvelope, "an application/cloudevents+json body must be one JSON object (a structured-mode CloudEvent)")
		}
		d, tp := decodeCloudEvent(b, nil)
		return body{items: []decoded{d}, traceParent: tp}, nil
	case mt == ContentTypeCloudEventBatch:
		raws, berr := array(b, maxBatch, "an application/cloudevents-batch+json body must be a JSON array of CloudEvents")
		if berr != nil {
			return body{}, berr
		}
		items := make([]decoded, len(raws))
		for i, raw := range raws {
			items[i], _ = decodeCloudEvent(raw, index(i))
		}
		return body{items: items, batch: true}, nil
	case hdr.Get("Ce-Specversion") != "":
		if first != '{' {
			return body{}, badRequest("", reasonInvalid, "a binary-mode CloudEvent's body must be one JSON request object")
		}
		d, tp := decodeBinary(hdr, b)
		return body{items: []decoded{d}, traceParent: tp}, nil
	case first == '[':
		raws, berr := array(b, maxBatch, "")
		if berr != nil {
			return body{}, berr
		}
		items := make([]decoded, len(raws))
		for i, raw := range raws {
			items[i] = decodeRequest(raw, index(i), "")
		}
		return body{items: items, batch: true}, nil
	case first == '{':
		return body{items: []decoded{decodeRequest(b, nil, "")}}, nil
	}
	return body{}, badRequest("", reasonInvalid,
		"the body must be a JSON request object, a JSON array of requests, or a CloudEvent")
}

func unsupported() *bodyError {
	return &bodyError{http.StatusUnsupportedMediaType, ErrorResponse{
		Error:  "unsupported Content-Type; send " + ContentTypeJSON + ", " + ContentTypeCloudEvent + " or " + ContentTypeCloudEventBatch + " in UTF-8",
		Reason: ReasonUnsupportedType,
	}}
}

// checkJSON refuses a body that is empty, not UTF-8 or not one JSON value.
func checkJSON(b []byte) *bodyError {
	if len(bytes.TrimSpace(b)) == 0 {
		return badRequest("", events.PoisonMalformedJSON, "the body is empty")
	}
	if !utf8.Valid(b) {
		return badRequest("", events.PoisonMalformedJSON, "the body is not UTF-8")
	}
	var v json.RawMessage
	if err := json.Unmarshal(b, &v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return badRequest("", events.PoisonMalformedJSON, "the body is not valid JSON: %s (at byte %d)", se.Error(), se.Offset)
		}
		return badRequest("", events.PoisonMalformedJSON, "the body is not valid JSON")
	}
	return nil
}

// array splits a JSON array (already checked to be valid JSON) into its
// elements, refusing an empty one and one of more than max elements.
func array(b []byte, max int, notArray string) ([]json.RawMessage, *bodyError) {
	if firstByte(b) != '[' {
		return nil, badRequest("", events.PoisonMalformedEnvelope, "%s", notArray)
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(b, &raws); err != nil {
		return nil, badRequest("", events.PoisonMalformedJSON, "the body is not a JSON array")
	}
	switch {
	case len(raws) == 0:
		return nil, badRequest("", reasonInvalid, "the batch is empty")
	case len(raws) > max:
		return nil, &bodyError{http.StatusRequestEntityTooLarge, ErrorResponse{
			Error:  fmt.Sprintf("the batch holds %d requests; at most %d are accepted at once", len(raws), max),
			Reason: ReasonTooLarge,
		}}
	}
	return raws, nil
}

func firstByte(b []byte) byte {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func index(i int) *int { return &i }

func itemError(idx *int, field, reason, format string, args ...any) decoded {
	return decoded{errs: []ItemError{{Index: idx, Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)}}}
}

// member is one member of a JSON object.
type member struct {
	name  string
	value json.RawMessage
}

// errDuplicate reports a member that appears twice.
type errDuplicate struct{ name string }

func (e errDuplicate) Error() string { return "member " + e.name + " appears twice" }

// members returns the members of the JSON object raw (valid JSON), in
// order. A name that appears twice is an errDuplicate: which of the two
// values counts would be a guess.
func members(raw []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var out []member
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("not a JSON object")
		}
		if seen[name] {
			return nil, errDuplicate{name}
		}
		seen[name] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{name, v})
	}
	return out, nil
}

// requestFields maps the JSON names of a request (case-sensitive, unlike
// encoding/json) to the field each fills.
var requestFields = map[string]func(*events.Request) any{
	"requestId":         func(r *events.Request) any { return &r.RequestID },
	"displayName":       func(r *events.Request) any { return &r.DisplayName },
	"userPrincipalName": func(r *events.Request) any { return &r.UserPrincipalName },
	"accountType":       func(r *events.Request) any { return &r.AccountType },
	"usageLocation":     func(r *events.Request) any { return &r.UsageLocation },
	"phoneNumber":       func(r *events.Request) any { return &r.PhoneNumber },
	"numberType":        func(r *events.Request) any { return &r.NumberType },
	"associateWith":     func(r *events.Request) any { return &r.AssociateWith },
	"callbackUrl":       func(r *events.Request) any { return &r.CallbackURL },
	"adopt":             func(r *events.Request) any { return &r.Adopt },
}

// dryRunField is the member of a request object that makes a POST a dry
// run. It is read and dropped while decoding: events.Request has no such
// field.
const dryRunField = "dryRun"

// decodeRequest decodes one request object strictly: only the fields of
// events.Request, spelt exactly, each once and of its type (null counts as
// absent). Errors name the request field; where names the request itself
// when it is not an object ("" at the top of the body).
func decodeRequest(raw []byte, idx *int, where string) decoded {
	if firstByte(raw) != '{' {
		return itemError(idx, where, reasonInvalid, "a request must be a JSON object")
	}
	ms, err := members(raw)
	if err != nil {
		var dup errDuplicate
		if errors.As(err, &dup) {
			return itemError(idx, clip(dup.name), reasonInvalid, "field %s appears twice", clip(dup.name))
		}
		return itemError(idx, where, reasonInvalid, "a request must be a JSON object")
	}
	var d decoded
	for _, m := range ms {
		if m.name == dryRunField {
			if err := json.Unmarshal(m.value, &d.dryRun); err != nil {
				return itemError(idx, dryRunField, reasonInvalid, "dryRun must be true or false")
			}
			continue
		}
		field, ok := requestFields[m.name]
		if !ok {
			return itemError(idx, clip(m.name), reasonInvalid,
				"unknown field %q; a request has requestId, displayName, userPrincipalName, accountType, usageLocation, "+
					"phoneNumber, numberType, associateWith, callbackUrl and adopt (and dryRun, to plan it without submitting it)", clip(m.name))
		}
		if err := json.Unmarshal(m.value, field(&d.req)); err != nil {
			want := "a string"
			if m.name == "adopt" {
				want = "true or false"
			}
			return itemError(idx, m.name, reasonInvalid, "%s must be %s", m.name, want)
		}
	}
	return d
}

// decodeData decodes a CloudEvent's data: a request, or raprov's own event
// data {"request": {...}} as events.Encode writes it (docs/events.md), with
// an empty progress at most: a submission carries no progress.
func decodeData(raw []byte, idx *int) decoded {
	if firstByte(raw) != '{' {
		return itemError(idx, "data", events.PoisonMalformedData, "data must be a JSON object: the request")
	}
	ms, err := members(raw)
	if err != nil {
		var dup errDuplicate
		if errors.As(err, &dup) {
			return itemError(idx, clip(dup.name), reasonInvalid, "field %s appears twice", clip(dup.name))
		}
		return itemError(idx, "data", events.PoisonMalformedData, "data must be a JSON object: the request")
	}
	var req json.RawMessage
	wrapped := false
	for _, m := range ms {
		if m.name == "request" {
			wrapped, req = true, m.value
		}
	}
	if !wrapped {
		return decodeRequest(raw, idx, "data")
	}
	for _, m := range ms {
		switch m.name {
		case "request":
		case "progress":
			if string(bytes.TrimSpace(m.value)) != "null" && !isEmptyObject(m.value) {
				return itemError(idx, "data.progress", reasonInvalid, "a submitted request carries no progress; leave data.progress out")
			}
		default:
			return itemError(idx, "data."+clip(m.name), reasonInvalid,
				"unknown member %q of data; it holds request (and an empty progress)", clip(m.name))
		}
	}
	return decodeRequest(req, idx, "data.request")
}

func isEmptyObject(raw []byte) bool {
	ms, err := members(raw)
	return err == nil && len(ms) == 0
}

// clip shortens a sender's member name for an error message.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// decodeCloudEvent decodes a structured-mode CloudEvent of type
// provisioning.requested. It returns the request (or what is wrong) and the
// event's traceparent extension when it is a valid W3C traceparent; an
// invalid one is ignored.
func decodeCloudEvent(raw []byte, idx *int) (decoded, string) {
	if firstByte(raw) != '{' {
		return itemError(idx, "", events.PoisonMalformedEnvelope, "a CloudEvent must be a JSON object"), ""
	}
	ms, err := members(raw)
	if err != nil {
		var dup errDuplicate
		if errors.As(err, &dup) {
			return itemError(idx, clip(dup.name), events.PoisonMalformedEnvelope, "attribute %s appears twice", clip(dup.name)), ""
		}
		return itemError(idx, "", events.PoisonMalformedEnvelope, "a CloudEvent must be a JSON object"), ""
	}
	attrs := make(map[string]json.RawMessage, len(ms))
	for _, m := range ms {
		if string(bytes.TrimSpace(m.value)) != "null" {
			attrs[m.name] = m.value
		}
	}
	str := func(name string) (string, bool, bool) { // value, present, is a string
		raw, ok := attrs[name]
		if !ok {
			return "", false, true
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", true, false
		}
		return s, true, true
	}
	if v, ok, isStr := str("specversion"); !ok || !isStr || v != events.SpecVersion {
		return itemError(idx, "specversion", events.PoisonBadSpecVersion, "specversion must be %q", events.SpecVersion), ""
	}
	if v, _, isStr := str("type"); !isStr || v != events.TypeProvisioningRequested {
		return itemError(idx, "type", events.PoisonUnknownType, "type must be %q", events.TypeProvisioningRequested), ""
	}
	for _, name := range []string{"id", "source"} {
		if v, _, isStr := str(name); !isStr || v == "" {
			return itemError(idx, name, events.PoisonMalformedEnvelope, "%s is required: a non-empty string", name), ""
		}
	}
	for _, name := range []string{"subject", "dataschema"} {
		if _, _, isStr := str(name); !isStr {
			return itemError(idx, name, events.PoisonMalformedEnvelope, "%s must be a string", name), ""
		}
	}
	if v, ok, isStr := str("time"); !isStr || (ok && !isTime(v)) {
		return itemError(idx, "time", events.PoisonMalformedEnvelope, "time must be an RFC 3339 timestamp"), ""
	}
	if v, ok, isStr := str("datacontenttype"); !isStr || (ok && !isJSONType(v)) {
		return itemError(idx, "datacontenttype", events.PoisonMalformedEnvelope, "datacontenttype must be %q", ContentTypeJSON), ""
	}
	if _, ok := attrs["dryrun"]; ok {
		// An extension would be ignored, and the request submitted for real.
		return itemError(idx, "dryrun", events.PoisonMalformedEnvelope, "a dry run is not a CloudEvent attribute: put \"dryRun\": true in data, the request"), ""
	}
	if _, ok := attrs["data_base64"]; ok {
		return itemError(idx, "data_base64", events.PoisonMalformedEnvelope, "data_base64 is not supported; send the request as JSON in data"), ""
	}
	data, ok := attrs["data"]
	if !ok {
		return itemError(idx, "data", events.PoisonMalformedData, "data is required: the request"), ""
	}
	tp, _, _ := str("traceparent")
	if !events.ValidTraceParent(tp) {
		tp = ""
	}
	return decodeData(data, idx), tp
}

// decodeBinary decodes a binary-mode CloudEvent: attributes in ce-*
// headers, the request as the body.
func decodeBinary(hdr http.Header, b []byte) (decoded, string) {
	if v := hdr.Get("Ce-Specversion"); v != events.SpecVersion {
		return itemError(nil, "ce-specversion", events.PoisonBadSpecVersion, "ce-specversion must be %q", events.SpecVersion), ""
	}
	if hdr.Get("Ce-Type") != events.TypeProvisioningRequested {
		return itemError(nil, "ce-type", events.PoisonUnknownType, "ce-type must be %q", events.TypeProvisioningRequested), ""
	}
	for _, name := range []string{"Ce-Id", "Ce-Source"} {
		if hdr.Get(name) == "" {
			return itemError(nil, strings.ToLower(name), events.PoisonMalformedEnvelope, "the %s header is required", strings.ToLower(name)), ""
		}
	}
	if v := hdr.Get("Ce-Time"); v != "" && !isTime(v) {
		return itemError(nil, "ce-time", events.PoisonMalformedEnvelope, "ce-time must be an RFC 3339 timestamp"), ""
	}
	if _, ok := hdr["Ce-Dryrun"]; ok {
		return itemError(nil, "ce-dryrun", events.PoisonMalformedEnvelope, "a dry run is not a CloudEvent attribute: put \"dryRun\": true in the body, the request"), ""
	}
	tp := hdr.Get("Ce-Traceparent")
	if !events.ValidTraceParent(tp) {
		tp = ""
	}
	return decodeData(b, nil), tp
}

func isTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

func isJSONType(s string) bool {
	mt, _, err := mime.ParseMediaType(s)
	return err == nil && mt == ContentTypeJSON
}
