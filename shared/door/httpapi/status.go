package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
)

// get serves GET /requests/{id}, signed over its request target
// (GetMessage).
func (h *handler) get(w http.ResponseWriter, r *http.Request, id string) {
	sig, ok := h.signature(w, r)
	if !ok || !h.authenticate(w, r, h.keys, sig, GetMessage(r.URL.RequestURI())) {
		return
	}
	notFound := ErrorResponse{Error: "no request with this requestId", Reason: ReasonNotFound}
	if len(id) > validate.MaxRequestID {
		writeError(w, http.StatusNotFound, notFound)
		return
	}
	st, err := h.ledger.Get(r.Context(), id)
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			writeError(w, http.StatusNotFound, notFound)
			return
		}
		h.ledgerFailed(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, statusDoc(st, true))
}

// list serves GET /requests?outcome=&step=&reason=&since=&limit=, signed
// over its request target (GetMessage).
func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	sig, ok := h.signature(w, r)
	if !ok || !h.authenticate(w, r, h.keys, sig, GetMessage(r.URL.RequestURI())) {
		return
	}
	f, err := parseFilter(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, *err)
		return
	}
	sts, lerr := h.ledger.List(r.Context(), f)
	if lerr != nil {
		h.ledgerFailed(w, r, lerr)
		return
	}
	out := ListResponse{Requests: make([]Status, len(sts))}
	for i, st := range sts {
		out.Requests[i] = statusDoc(st, false)
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) ledgerFailed(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "http: ledger failed", "error", err.Error())
	code, reason := http.StatusInternalServerError, ReasonInternal
	if apperr.IsTransient(err) {
		code, reason = http.StatusServiceUnavailable, ReasonUnavailable
	}
	writeError(w, code, ErrorResponse{Error: "the status store failed; retry later", Reason: reason})
}

// token is a step or reason name: lower-case letters, digits, _ and -.
var token = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// parseFilter reads the query of GET /requests. Each parameter may appear
// once; an empty value does not filter; unknown parameters are refused, so
// that a misspelt filter is not silently ignored.
func parseFilter(rawQuery string) (ledger.Filter, *ErrorResponse) {
	bad := func(field, format string, args ...any) *ErrorResponse {
		return &ErrorResponse{Error: fmt.Sprintf(format, args...), Field: field, Reason: ReasonBadFilter}
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return ledger.Filter{}, bad("", "the query string is malformed")
	}
	var f ledger.Filter
	for name, vs := range q {
		if len(vs) > 1 {
			return ledger.Filter{}, bad(clip(name), "%s is given %d times; give it once", clip(name), len(vs))
		}
		v := vs[0]
		if v == "" {
			continue
		}
		switch name {
		case "outcome":
			switch o := ledger.Outcome(v); o {
			case ledger.InProgress, ledger.Completed, ledger.Failed:
				f.Outcome = o
			default:
				return ledger.Filter{}, bad(name, "outcome must be in_progress, completed or failed")
			}
		case "step", "reason":
			if !token.MatchString(v) {
				return ledger.Filter{}, bad(name, "%s must be a step or reason name such as create-account or number_in_use", name)
			}
			if name == "step" {
				f.Step = v
			} else {
				f.Reason = v
			}
		case "since":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return ledger.Filter{}, bad(name, "since must be an RFC 3339 time such as 2026-11-25T09:00:00Z")
			}
			f.Since = t.UTC()
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > MaxListLimit {
				return ledger.Filter{}, bad(name, "limit must be a whole number from 1 to %d", MaxListLimit)
			}
			f.Limit = n
		default:
			return ledger.Filter{}, bad(clip(name), "unknown parameter %q; filter with outcome, step, reason, since and limit", clip(name))
		}
	}
	return f, nil
}

// statusDoc renders a ledger status, with its history when withHistory.
func statusDoc(st ledger.Status, withHistory bool) Status {
	doc := Status{
		RequestID: st.RequestID,
		Outcome:   st.Outcome,
		Step:      st.Step,
		Type:      st.Type,
		Reason:    st.Reason,
		Detail:    st.Detail,
		Attempt:   st.Attempt,
		Started:   st.Started.UTC(),
		Updated:   st.Updated.UTC(),
		Account:   st.Account,
		ObjectID:  st.ObjectID,
		Action:    st.Action,
	}
	if withHistory {
		doc.History = make([]HistoryEntry, len(st.History))
		for i, e := range st.History {
			outcome := e.Outcome
			if outcome == "" {
				outcome = ledger.InProgress
			}
			doc.History[i] = HistoryEntry{
				Time: e.Time.UTC(), Step: e.Step, Type: e.Type, Attempt: e.Attempt,
				Reason: e.Reason, Detail: e.Detail, Outcome: outcome,
			}
		}
	}
	return doc
}
