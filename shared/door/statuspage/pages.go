package statuspage

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/termsafe"
)

// Bounds of what a page shows and reads.
const (
	defaultLimit = 100
	maxLimit     = 1000
	maxID        = 512     // bytes of a request or dead-letter id in a path
	maxForm      = 4 << 10 // bytes of a posted form
)

var funcs = template.FuncMap{
	// safe shows a string from a sender or a message body: control and
	// bidirectional characters become visible escapes (html/template
	// escapes the markup).
	"safe": termsafe.Escape,
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"viewURL": func(id string) string { return "/requests/" + url.PathEscape(id) + "/view" },
	"replayURL": func(id string) string {
		return "/dead-letters/" + url.PathEscape(id) + "/replay"
	},
}

// parsePages parses each page with the layout.
func parsePages() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("statuspage: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("statuspage: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("statuspage: %w", err)
		}
		pages[name] = t
	}
	return pages, nil
}

// base is what the layout needs.
type base struct {
	Title      string
	LoggedIn   bool
	LogoutCSRF string
	Nav        string // "requests" or "dead-letters"
}

func (h *Handler) base(r *http.Request, title, nav string) base {
	s := sessionFrom(r.Context())
	b := base{Title: title, Nav: nav}
	if s.token != "" {
		b.LoggedIn = true
		b.LogoutCSRF = s.csrf("logout")
	}
	return b
}

// render executes page into a buffer first, so that a template error is a
// clean 500 rather than half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := h.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.ErrorContext(r.Context(), "statuspage: render failed", "page", page, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

type errorPage struct {
	base
	Status  int
	Message string
}

func (h *Handler) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "error", errorPage{base: h.base(r, http.StatusText(status), ""), Status: status, Message: msg})
}

// ---- login ----

type loginPage struct {
	base
	Failed bool
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		if _, ok := h.verify(r.Context(), c.Value); ok {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
	}
	h.render(w, r, http.StatusOK, "login", loginPage{base: h.base(r, "Log in", "")})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		h.log.WarnContext(r.Context(), "statuspage: cross-origin login refused", "remote", r.RemoteAddr)
		h.renderError(w, r, http.StatusForbidden, "This form must be sent from the status page itself.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	client := clientOf(r)
	if blocked, wait := h.guard.blocked(client, h.now()); blocked {
		h.log.WarnContext(r.Context(), "statuspage: login refused: too many failures", "remote", r.RemoteAddr)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Round(time.Second)/time.Second)+1))
		h.renderError(w, r, http.StatusTooManyRequests, "Too many failed logins from here; try again in a few minutes.")
		return
	}
	i := h.accessIndex(strings.TrimSpace(r.PostForm.Get("key")))
	if i < 0 {
		h.guard.failed(client, h.now())
		h.log.WarnContext(r.Context(), "statuspage: login refused", "remote", r.RemoteAddr)
		h.render(w, r, http.StatusUnauthorized, "login", loginPage{base: h.base(r, "Log in", ""), Failed: true})
		return
	}
	exp := h.now().Add(SessionTTL)
	h.setCookie(w, r, newToken(h.keys[i], exp), exp)
	h.log.InfoContext(r.Context(), "statuspage: logged in", "remote", r.RemoteAddr, "key", i+1)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.checkPost(w, r, "logout") {
		return
	}
	// The cookie is cleared and the session ended here too: a copy of the
	// cookie is refused from now on.
	s := sessionFrom(r.Context())
	if err := h.guard.revoke(r.Context(), s.token, expiry(s.token), h.now()); err != nil {
		// The cookie stays, so that the operator can log out again: a
		// cleared cookie whose copies still work would be a false logout.
		h.log.ErrorContext(r.Context(), "statuspage: logout could not be recorded", "error", err.Error())
		h.renderError(w, r, http.StatusServiceUnavailable, "The session could not be ended on the server. Try again.")
		return
	}
	h.clearCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// checkPost refuses, with 403, a state-changing request from another
// origin or without this session's CSRF token for action.
func (h *Handler) checkPost(w http.ResponseWriter, r *http.Request, action string) bool {
	if !sameOrigin(r) {
		h.log.WarnContext(r.Context(), "statuspage: cross-origin post refused", "remote", r.RemoteAddr, "action", action)
		h.renderError(w, r, http.StatusForbidden, "This form must be sent from the status page itself.")
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	if !sessionFrom(r.Context()).checkCSRF(action, r.PostForm.Get("csrf")) {
		h.log.WarnContext(r.Context(), "statuspage: csrf token refused", "remote", r.RemoteAddr, "action", action)
		h.renderError(w, r, http.StatusForbidden, "The form has expired or did not come from this page; reload the page and try again.")
		return false
	}
	return true
}

// ---- requests ----

type indexPage struct {
	base
	Summary  ledger.Summary
	Filter   filterForm
	Error    string
	Requests []ledger.Status
	Limit    int
}

// filterForm is the filter as typed, to show it back.
type filterForm struct {
	Outcome, Step, Reason, Since, Limit string
}

// Outcomes are the choices of the outcome filter.
func (filterForm) Outcomes() []ledger.Outcome {
	return []ledger.Outcome{ledger.InProgress, ledger.Completed, ledger.Failed}
}

func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	form := filterForm{Outcome: q.Get("outcome"), Step: q.Get("step"), Reason: q.Get("reason"), Since: q.Get("since"), Limit: q.Get("limit")}
	data := indexPage{base: h.base(r, "Requests", "requests"), Filter: form}
	f, err := h.parseFilter(form)
	status := http.StatusOK
	if err != nil {
		data.Error = err.Error()
		status = http.StatusBadRequest
	}
	data.Limit = f.EffectiveLimit()
	if data.Summary, err = h.ledger.Summary(r.Context()); err != nil {
		h.storeError(w, r, "summary", err)
		return
	}
	if status == http.StatusOK {
		if data.Requests, err = h.ledger.List(r.Context(), f); err != nil {
			h.storeError(w, r, "list", err)
			return
		}
	}
	h.render(w, r, status, "index", data)
}

// parseFilter reads the filter form. since is RFC 3339, a date-time as a
// datetime-local input sends it (UTC), a date (UTC), or a Go duration
// meaning that long ago ("24h").
func (h *Handler) parseFilter(form filterForm) (ledger.Filter, error) {
	f := ledger.Filter{Step: strings.TrimSpace(form.Step), Reason: strings.TrimSpace(form.Reason), Limit: defaultLimit}
	switch o := ledger.Outcome(form.Outcome); o {
	case "", ledger.InProgress, ledger.Completed, ledger.Failed:
		f.Outcome = o
	default:
		return f, fmt.Errorf("outcome must be one of in_progress, completed, failed")
	}
	if s := strings.TrimSpace(form.Since); s != "" {
		t, err := parseSince(s, h.now())
		if err != nil {
			return f, err
		}
		f.Since = t
	}
	if s := strings.TrimSpace(form.Limit); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return f, fmt.Errorf("limit must be a number from 1 to %d", maxLimit)
		}
		f.Limit = n
	}
	return f, nil
}

func parseSince(s string, now time.Time) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("since must be a time (2006-01-02T15:04:05Z, 2006-01-02T15:04 or 2006-01-02, UTC) or a duration such as 24h")
}

type requestPage struct {
	base
	Status ledger.Status
}

func (h *Handler) request(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if id == "" || len(id) > maxID {
		h.renderError(w, r, http.StatusNotFound, "There is no request with this id.")
		return
	}
	st, err := h.ledger.Get(r.Context(), id)
	if err != nil {
		if apperr.CodeOf(err) == apperr.NotFound {
			h.renderError(w, r, http.StatusNotFound, "There is no request with this id.")
			return
		}
		h.storeError(w, r, "get", err)
		return
	}
	h.render(w, r, http.StatusOK, "request", requestPage{base: h.base(r, "Request", "requests"), Status: st})
}

func (h *Handler) storeError(w http.ResponseWriter, r *http.Request, op string, err error) {
	h.log.ErrorContext(r.Context(), "statuspage: ledger failed", "op", op, "error", err)
	h.renderError(w, r, http.StatusInternalServerError, "The ledger could not be read; see the server's log.")
}

// ---- dead letters ----

type deadLettersPage struct {
	base
	Available bool
	CanReplay bool
	Queue     string
	Limit     int
	Count     int
	Letters   []deadLetterRow
	Flash     string
	FlashID   string
	FlashBad  bool
	CSRF      string
}

type deadLetterRow struct {
	ID, Queue, Reason, Detail string
	Received                  int
	At                        time.Time
	// From the body, when it decodes.
	RequestID, Type, DisplayName string
	Undecodable                  bool
}

func (h *Handler) deadLetters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s := sessionFrom(r.Context())
	data := deadLettersPage{
		base:      h.base(r, "Dead letters", "dead-letters"),
		Available: h.dls != nil,
		CanReplay: h.replay != nil,
		Queue:     q.Get("queue"),
		Limit:     defaultLimit,
		CSRF:      s.csrf("replay"),
	}
	switch {
	case q.Has("replayed"):
		data.Flash, data.FlashID = "Replayed dead letter", q.Get("replayed")
	case q.Has("notfound"):
		data.Flash, data.FlashID, data.FlashBad = "No such dead letter (already replayed or deleted?):", q.Get("notfound"), true
	case q.Has("failed"):
		data.Flash, data.FlashID, data.FlashBad = "Replay failed; see the server's log:", q.Get("failed"), true
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxLimit {
			h.renderError(w, r, http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to %d", maxLimit))
			return
		}
		data.Limit = n
	}
	if h.dls != nil {
		var err error
		if data.Count, err = h.dls.Count(r.Context(), data.Queue); err != nil {
			h.dlqError(w, r, err)
			return
		}
		dls, err := h.dls.List(r.Context(), data.Queue, data.Limit)
		if err != nil {
			h.dlqError(w, r, err)
			return
		}
		for _, d := range dls {
			row := deadLetterRow{ID: d.ID, Queue: d.Queue, Reason: d.Reason, Detail: d.Detail, Received: d.Received, At: d.At}
			if ev, err := events.Decode(d.Body); err == nil {
				row.RequestID, row.Type, row.DisplayName = ev.Subject, ev.Type, ev.Data.Request.DisplayName
			} else {
				row.Undecodable = true
			}
			data.Letters = append(data.Letters, row)
		}
	}
	h.render(w, r, http.StatusOK, "deadletters", data)
}

func (h *Handler) dlqError(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "statuspage: dead letters failed", "error", err)
	h.renderError(w, r, http.StatusInternalServerError, "The dead-letter queues could not be read; see the server's log.")
}

func (h *Handler) replayOne(w http.ResponseWriter, r *http.Request) {
	if !h.checkPost(w, r, "replay") {
		return
	}
	if h.replay == nil {
		h.renderError(w, r, http.StatusNotFound, "Replay is not available on this server.")
		return
	}
	id := r.PathValue("id")
	if id == "" || len(id) > maxID {
		http.Redirect(w, r, "/dead-letters?"+url.Values{"notfound": {id}}.Encode(), http.StatusSeeOther)
		return
	}
	flash := "replayed"
	if err := h.replay(r.Context(), id); err != nil {
		flash = "failed"
		if apperr.CodeOf(err) == apperr.NotFound {
			flash = "notfound"
		}
		h.log.WarnContext(r.Context(), "statuspage: replay failed", "id", id, "error", err)
	} else {
		h.log.InfoContext(r.Context(), "statuspage: replayed", "id", id, "remote", r.RemoteAddr)
	}
	http.Redirect(w, r, "/dead-letters?"+url.Values{flash: {id}}.Encode(), http.StatusSeeOther)
}
