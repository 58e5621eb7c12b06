package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/deprovision"
)

// delete serves DELETE /requests/{id}: it deprovisions the account that the
// provisioning request {id} created, by submitting the deprovision request
// events.DeprovisionID(id) with target {id}. The order is the contract:
// signature header and timestamp (401), body size (413), MAC over
// DeleteMessage (401), the signature not used before (401; 503 when
// Options.Signatures fails), Content-Type (415), body (400), {id} in the
// ledger (404, 503), what {id} is and where it stands (400, 409, 422), the
// deprovision request valid (400), the account (Options.Accounts: 422,
// 503), submission (503), answer (202, 200, 409). Nothing is submitted
// unless every check before it passed.
//
// The account is the one the ledger recorded for {id}, unless the body
// names another ({"userPrincipalName": ...}: the account was renamed, or
// {id} was recorded by a raprov that kept no accounts); either way the
// chain removes it only if it carries {id}'s ownership mark.
func (h *handler) delete(w http.ResponseWriter, r *http.Request, id string) {
	sig, ok := h.signature(w, r)
	if !ok {
		return
	}
	raw, ok := h.readBody(w, r)
	if !ok {
		return
	}
	msg := DeleteMessage(r.URL.RequestURI(), raw)
	if !h.authenticate(w, r, h.keys, sig, msg) || !h.firstUse(w, r, sig, msg) {
		return
	}
	body, berr := parseDeleteBody(r.Header, raw)
	if berr != nil {
		h.log.InfoContext(r.Context(), "http: deprovision body refused", "status", berr.code, "reason", berr.resp.Reason, "field", berr.resp.Field)
		writeError(w, berr.code, berr.resp)
		return
	}

	notFound := ErrorResponse{Error: "no request with this requestId: DELETE /requests/{id} names the provisioning request whose account to remove", Reason: ReasonNotFound}
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
	req, refusal := deprovision.Request(st, body.upn, body.callbackURL)
	if refusal == nil {
		if refusal, err = deprovision.CheckHolders(r.Context(), h.ledger, st); err != nil {
			h.ledgerFailed(w, r, err)
			return
		}
	}
	if refusal != nil {
		code := refusalStatus[refusal.Reason]
		h.log.InfoContext(r.Context(), "http: deprovision refused", "target", id, "status", code, "reason", refusal.Reason)
		e := ErrorResponse{Error: refusal.Message, Reason: refusal.Reason, RequestID: st.RequestID, Status: StatusPath(st.RequestID)}
		if refusal.Reason == deprovision.NoAccount {
			e.Field = "userPrincipalName"
			e.Error += `: send {"userPrincipalName": "..."} as the JSON body`
		}
		writeError(w, code, e)
		return
	}
	norm, ferrs := h.normalize(req)
	if len(ferrs) > 0 {
		errs := make([]ItemError, len(ferrs))
		for i, fe := range ferrs {
			errs[i] = ItemError{Field: fe.Field, Reason: string(fe.Reason), Message: fe.Message}
		}
		writeError(w, http.StatusBadRequest, invalidResponse(errs, false))
		return
	}
	if !norm.Deprovision() || norm.Target != id || norm.RequestID != req.RequestID {
		// A Normalize that does not know deprovision requests would
		// submit a provisioning request under the deprovision id.
		h.log.ErrorContext(r.Context(), "http: the normalizer changed a deprovision request's action, target or id")
		writeError(w, http.StatusInternalServerError, ErrorResponse{Error: "internal error", Reason: ReasonInternal})
		return
	}

	if code, refusal := h.checkAccount(r, norm); refusal != nil {
		writeError(w, code, *refusal)
		return
	}

	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), submitTimeout)
	subs, err := h.submit.Submit(ctx, traceParent(r.Header, ""), []events.Request{norm})
	cancel()
	if err != nil {
		h.log.ErrorContext(r.Context(), "http: deprovision submission failed", "target", id, "error", err.Error())
		writeError(w, http.StatusServiceUnavailable, ErrorResponse{
			Error:  "the deprovision request could not be queued; send the DELETE again",
			Reason: ReasonUnavailable,
		})
		return
	}
	if len(subs) != 1 {
		h.log.ErrorContext(r.Context(), "http: submitter answered unexpected results", "requests", 1, "results", len(subs))
		writeError(w, http.StatusInternalServerError, ErrorResponse{Error: "internal error", Reason: ReasonInternal})
		return
	}
	h.log.InfoContext(r.Context(), "http: deprovision submitted", "request_id", norm.RequestID, "target", id, "outcome", string(subs[0].Outcome))

	link := StatusPath(norm.RequestID)
	switch subs[0].Outcome {
	case Sent:
		w.Header().Set("Location", link)
		writeJSON(w, http.StatusAccepted, Receipt{RequestID: norm.RequestID, Status: link, Target: id})
	case Duplicate:
		h.answerOne(w, r, norm.RequestID, Duplicate)
	case Conflict:
		writeError(w, http.StatusConflict, ErrorResponse{
			Error: "the account of request " + id + " was already asked to be removed with another userPrincipalName or callbackUrl; " +
				"that deprovision request (" + norm.RequestID + ") stands: read its status",
			Field:     "userPrincipalName",
			Reason:    string(events.ReasonRequestConflict),
			RequestID: norm.RequestID,
			Status:    link,
		})
	default:
		h.log.ErrorContext(r.Context(), "http: submitter answered an unknown outcome", "outcome", string(subs[0].Outcome))
		writeError(w, http.StatusInternalServerError, ErrorResponse{Error: "internal error", Reason: ReasonInternal})
	}
}

// checkAccount asks Options.Accounts, when set, whether req's account is
// the one its target created, so that a wrong userPrincipalName is refused
// here (422) instead of ending the deprovision request with nothing
// removed. A deprovision request submitted before is not checked again:
// its account may be gone by now, and the Submitter answers the repeat.
func (h *handler) checkAccount(r *http.Request, req events.Request) (int, *ErrorResponse) {
	if h.accounts == nil {
		return 0, nil
	}
	_, err := h.ledger.Get(r.Context(), req.RequestID)
	switch {
	case err == nil:
		return 0, nil // asked before
	case apperr.CodeOf(err) != apperr.NotFound:
		h.log.ErrorContext(r.Context(), "http: ledger failed", "error", err.Error())
		return http.StatusServiceUnavailable, &ErrorResponse{Error: "the status store failed; retry later", Reason: ReasonUnavailable}
	}
	exists, created, err := h.accounts.CreatedFor(r.Context(), req.UserPrincipalName, req.Target)
	switch {
	case err != nil:
		h.log.WarnContext(r.Context(), "http: the account to remove could not be read", "target", req.Target, "error", err.Error())
		return http.StatusServiceUnavailable, &ErrorResponse{Error: "the account could not be read from the tenant; send the DELETE again later", Reason: ReasonUnavailable}
	case !exists:
		return http.StatusUnprocessableEntity, &ErrorResponse{
			Error:  fmt.Sprintf("no account has the userPrincipalName %s: send the UPN request %s was submitted with (nothing was queued)", req.UserPrincipalName, req.Target),
			Field:  "userPrincipalName",
			Reason: string(events.ReasonAccountNotFound),
		}
	case !created:
		return http.StatusUnprocessableEntity, &ErrorResponse{
			Error:  fmt.Sprintf("%s was not created by raprov for request %s: raprov removes only the accounts it created (nothing was queued)", req.UserPrincipalName, req.Target),
			Field:  "userPrincipalName",
			Reason: string(events.ReasonNotOwned),
		}
	}
	return 0, nil
}

// deleteBody is the body of DELETE /requests/{id}.
type deleteBody struct {
	upn, callbackURL string
}

// parseDeleteBody reads the JSON object {"userPrincipalName": …,
// "callbackUrl": …} strictly, as a request is read: only these members,
// each once, strings (null counts as absent). The body is optional.
func parseDeleteBody(hdr http.Header, raw []byte) (deleteBody, *bodyError) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return deleteBody{}, nil
	}
	if ct := hdr.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != ContentTypeJSON {
			return deleteBody{}, unsupportedDelete()
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
			return deleteBody{}, unsupportedDelete()
		}
	}
	if berr := checkJSON(raw); berr != nil {
		return deleteBody{}, berr
	}
	notObject := badRequest("", reasonInvalid, `the body of DELETE must be a JSON object: {"userPrincipalName": "...", "callbackUrl": "..."}`)
	if firstByte(raw) != '{' {
		return deleteBody{}, notObject
	}
	ms, err := members(raw)
	if err != nil {
		var dup errDuplicate
		if errors.As(err, &dup) {
			return deleteBody{}, badRequest(clip(dup.name), reasonInvalid, "field %s appears twice", clip(dup.name))
		}
		return deleteBody{}, notObject
	}
	var b deleteBody
	for _, m := range ms {
		var dst *string
		switch m.name {
		case "userPrincipalName":
			dst = &b.upn
		case "callbackUrl":
			dst = &b.callbackURL
		default:
			return deleteBody{}, badRequest(clip(m.name), reasonInvalid,
				"unknown field %q; the body of DELETE has userPrincipalName and callbackUrl", clip(m.name))
		}
		if err := json.Unmarshal(m.value, dst); err != nil {
			return deleteBody{}, badRequest(m.name, reasonInvalid, "%s must be a string", m.name)
		}
	}
	b.upn = strings.TrimSpace(b.upn)
	return b, nil
}

func unsupportedDelete() *bodyError {
	return &bodyError{http.StatusUnsupportedMediaType, ErrorResponse{
		Error:  "unsupported Content-Type; the body of DELETE is " + ContentTypeJSON + " in UTF-8",
		Reason: ReasonUnsupportedType,
	}}
}

// refusalStatus is the HTTP status of each deprovision.Refusal reason.
var refusalStatus = map[string]int{
	deprovision.NotProvisioning: http.StatusBadRequest,
	deprovision.InProgress:      http.StatusConflict,
	deprovision.NothingToRemove: http.StatusUnprocessableEntity,
	deprovision.NoAccount:       http.StatusBadRequest,
	deprovision.TakenOver:       http.StatusConflict,
}
