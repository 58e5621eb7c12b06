package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
)

// post serves POST /requests. The order is the contract: signature header
// and timestamp (401), body size (413), MAC over the raw body (401), the
// signature not used before (401; 503 when Options.Signatures fails), format
// (415, 400), every request valid (400), submission (503), answer (202,
// 200, 409). Nothing is submitted unless every check before it passed.
// post answers a POST whose body parse reads (POST /requests, or a
// sender's payload).
func (h *handler) post(w http.ResponseWriter, r *http.Request, keys [][]byte, parse func(http.Header, []byte) (body, *bodyError)) {
	sig, ok := h.signature(w, r)
	if !ok {
		return
	}
	raw, ok := h.readBody(w, r)
	if !ok || !h.authenticate(w, r, keys, sig, raw) {
		return
	}
	if !h.firstUse(w, r, sig, raw) {
		return
	}
	if dryRunQuery(r.URL.RawQuery) {
		writeError(w, http.StatusBadRequest, ErrorResponse{
			Error: "dryRun is not a query parameter (a POST's query is not signed and is ignored): " +
				"put \"dryRun\": true in each request of the body", Field: dryRunField, Reason: reasonInvalid})
		return
	}
	b, berr := parse(r.Header, raw)
	if berr == nil {
		b.dryRun, berr = dryRunMode(b)
	}
	if berr != nil {
		h.log.InfoContext(r.Context(), "http: request body refused", "status", berr.code, "reason", berr.resp.Reason, "field", berr.resp.Field)
		writeError(w, berr.code, berr.resp)
		return
	}
	if b.dryRun && h.planner == nil {
		writeError(w, http.StatusNotImplemented, dryRunUnavailable())
		return
	}

	reqs, errs := h.validate(b)
	if len(errs) > 0 {
		h.log.InfoContext(r.Context(), "http: invalid requests refused", "invalid", len(errs), "requests", len(b.items))
		writeError(w, http.StatusBadRequest, invalidResponse(errs, b.batch))
		return
	}
	if b.dryRun {
		h.dryRun(w, r, reqs, b.batch)
		return
	}

	// Identical items of a batch are submitted once; the others share the
	// first one's result. (validate refused the same id for different
	// requests.)
	firstItem := make(map[string]int, len(reqs)) // request id → first item with it
	slot := make([]int, len(reqs))               // item → its index in unique
	var unique []events.Request
	for i, q := range reqs {
		if f, seen := firstItem[q.RequestID]; seen {
			slot[i] = slot[f]
			continue
		}
		firstItem[q.RequestID] = i
		slot[i] = len(unique)
		unique = append(unique, q)
	}

	tp := traceParent(r.Header, b.traceParent)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), submitTimeout)
	subs, err := h.submit.Submit(ctx, tp, unique)
	cancel()
	if err != nil {
		h.log.ErrorContext(r.Context(), "http: submission failed", "requests", len(unique), "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, ErrorResponse{
			Error:  "the requests could not be queued; retry under the same requestId",
			Reason: ReasonUnavailable,
		})
		return
	}
	counts := map[Outcome]int{}
	for _, s := range subs {
		counts[s.Outcome]++
	}
	if len(subs) != len(unique) || counts[Sent]+counts[Duplicate]+counts[Conflict] != len(subs) {
		h.log.ErrorContext(r.Context(), "http: submitter answered unexpected results", "requests", len(unique), "results", len(subs))
		writeError(w, http.StatusInternalServerError, ErrorResponse{Error: "internal error", Reason: ReasonInternal})
		return
	}
	h.log.InfoContext(r.Context(), "http: requests submitted", "requests", len(reqs),
		"sent", counts[Sent], "duplicate", counts[Duplicate], "conflict", counts[Conflict], "traceparent", tp)

	if !b.batch {
		h.answerOne(w, r, reqs[0].RequestID, subs[0].Outcome)
		return
	}
	results := make([]Receipt, len(reqs))
	for i, q := range reqs {
		out := subs[slot[i]].Outcome
		if firstItem[q.RequestID] != i && out == Sent {
			out = Duplicate // a repeat of an item queued just now
		}
		results[i] = receipt(i, q.RequestID, out)
	}
	writeJSON(w, batchCode(results), BatchResponse{Results: results})
}

// readBody reads r's body up to the limit; on failure it answers 413 or
// 400 and returns false. A body is never read past the limit.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.ContentLength > h.maxBody {
		h.tooLarge(w)
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.maxBody)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.tooLarge(w)
			return nil, false
		}
		writeError(w, http.StatusBadRequest, ErrorResponse{Error: "could not read the body", Reason: events.PoisonMalformedJSON})
		return nil, false
	}
	return raw, true
}

func (h *handler) tooLarge(w http.ResponseWriter) {
	writeError(w, http.StatusRequestEntityTooLarge, ErrorResponse{
		Error:  fmt.Sprintf("the body is larger than %d bytes", h.maxBody),
		Reason: ReasonTooLarge,
	})
}

// validate normalises every decoded request. It returns the normalised
// requests, or every error: decoding errors, field errors, adopt when it is
// not allowed, and one id used for two different requests of a batch.
func (h *handler) validate(b body) ([]events.Request, []ItemError) {
	var errs []ItemError
	reqs := make([]events.Request, len(b.items))
	type claim struct {
		index int
		fp    string
	}
	claims := make(map[string]claim, len(b.items))
	for i, d := range b.items {
		var idx *int
		if b.batch {
			idx = index(i)
		}
		if len(d.errs) > 0 {
			errs = append(errs, d.errs...)
			continue
		}
		norm, ferrs := h.normalize(d.req)
		if norm.Adopt && !h.allowAdopt {
			ferrs = append(ferrs, events.FieldError{Field: "adopt", Reason: events.ReasonInvalidRequest,
				Message: "adopt is not enabled: taking over existing resource accounts needs the operator's RAPROV_ALLOW_ADOPT=true"})
		}
		if len(ferrs) == 0 && norm.RequestID == "" { // a Normalize that assigns no id
			ferrs = []events.FieldError{{Field: "requestId", Reason: events.ReasonInvalidRequest, Message: "requestId is required"}}
		}
		for _, fe := range ferrs {
			errs = append(errs, ItemError{Index: idx, Field: fe.Field, Reason: string(fe.Reason), Message: fe.Message})
		}
		if len(ferrs) > 0 {
			continue
		}
		fp := norm.Fingerprint()
		if c, ok := claims[norm.RequestID]; ok && c.fp != fp {
			errs = append(errs, ItemError{Index: idx, Field: "requestId", Reason: string(events.ReasonRequestConflict),
				Message: fmt.Sprintf("requestId %s is used by item %d of this batch for a different request", norm.RequestID, c.index)})
			continue
		} else if !ok {
			claims[norm.RequestID] = claim{i, fp}
		}
		reqs[i] = norm
	}
	return reqs, errs
}

// invalidResponse is the 400 answer listing errs. Its top-level field and
// reason are the first error's, so that a script reading them alone learns
// something true.
func invalidResponse(errs []ItemError, batch bool) ErrorResponse {
	e := errs[0]
	resp := ErrorResponse{Error: e.Message, Field: e.Field, Reason: e.Reason, Index: e.Index, Errors: errs}
	if batch {
		bad := map[int]bool{}
		for _, e := range errs {
			if e.Index != nil {
				bad[*e.Index] = true
			}
		}
		resp.Error = fmt.Sprintf("%d requests of the batch are invalid; nothing was queued", len(bad))
	}
	return resp
}

// answerOne answers a single request.
func (h *handler) answerOne(w http.ResponseWriter, r *http.Request, id string, out Outcome) {
	link := StatusPath(id)
	switch out {
	case Sent:
		w.Header().Set("Location", link)
		writeJSON(w, http.StatusAccepted, Receipt{RequestID: id, Status: link})
	case Duplicate:
		w.Header().Set("Content-Location", link)
		st, err := h.ledger.Get(r.Context(), id)
		if err != nil {
			if apperr.CodeOf(err) != apperr.NotFound {
				h.log.WarnContext(r.Context(), "http: status of a repeated request unavailable", "request_id", id, "error", err.Error())
			}
			writeJSON(w, http.StatusOK, Receipt{RequestID: id, Status: link})
			return
		}
		doc := statusDoc(st, true)
		doc.Link = link
		writeJSON(w, http.StatusOK, doc)
	case Conflict:
		writeError(w, http.StatusConflict, ErrorResponse{
			Error:     conflictMessage(id),
			Field:     "requestId",
			Reason:    string(events.ReasonRequestConflict),
			RequestID: id,
			Status:    link,
		})
	default:
		h.log.ErrorContext(r.Context(), "http: submitter answered an unknown outcome", "outcome", string(out))
		writeError(w, http.StatusInternalServerError, ErrorResponse{Error: "internal error", Reason: ReasonInternal})
	}
}

func conflictMessage(id string) string {
	return "requestId " + id + " was already used for a different request; the first one stands: submit this one under a new requestId"
}

// receipt is the batch result of item i; out is Sent, Duplicate or Conflict.
func receipt(i int, id string, out Outcome) Receipt {
	rc := Receipt{Index: index(i), RequestID: id, Status: StatusPath(id), Result: out}
	switch out {
	case Sent:
		rc.Code = http.StatusAccepted
	case Duplicate:
		rc.Code = http.StatusOK
	case Conflict:
		rc.Code = http.StatusConflict
		rc.Error = conflictMessage(id)
		rc.Reason = string(events.ReasonRequestConflict)
	}
	return rc
}

// batchCode is the status of a batch answer: 202 when a request was
// queued, else 409 when one conflicted, else 200 (all were known already).
func batchCode(results []Receipt) int {
	code := http.StatusOK
	for _, rc := range results {
		switch rc.Code {
		case http.StatusAccepted:
			return http.StatusAccepted
		case http.StatusConflict:
			code = http.StatusConflict
		}
	}
	return code
}

// traceParent returns the W3C traceparent header when it is present once
// and valid, else fromEvent (a single CloudEvent's traceparent), else "".
func traceParent(hdr http.Header, fromEvent string) string {
	if vs := hdr.Values("Traceparent"); len(vs) == 1 && events.ValidTraceParent(vs[0]) {
		return vs[0]
	}
	return fromEvent
}

// senderBody reads a sender's payload as a single request.
func senderBody(read Sender) func(http.Header, []byte) (body, *bodyError) {
	return func(_ http.Header, raw []byte) (body, *bodyError) {
		req, ferrs, err := read(raw)
		if err != nil {
			return body{}, badRequest("", events.PoisonMalformedJSON, "%s", clip(err.Error()))
		}
		d := decoded{req: req}
		for _, fe := range ferrs {
			d.errs = append(d.errs, ItemError{Field: fe.Field, Reason: string(fe.Reason), Message: fe.Message})
		}
		return body{items: []decoded{d}}, nil
	}
}
