package statuspage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"time"

	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport"
)

// Options configure the status page.
type Options struct {
	// Ledger reports the requests; required.
	Ledger ledger.Ledger
	// DeadLetters lists the dead letters; nil shows the dead-letters page
	// as unavailable.
	DeadLetters transport.DeadLetterQueues
	// Replay sends one dead letter back to its queue, as `raprov dlq
	// replay` does (replay count + 1, attempts reset). nil hides the
	// replay buttons and refuses replays. An error with apperr code
	// NotFound is shown as "no such dead letter".
	Replay func(ctx context.Context, id string) error
	// Keys are the API's access keys (httpapi.Options.Keys): one or two,
	// each at least httpapi.MinKeyLen bytes. An operator logs in with any
	// of them; removing a key ends every session opened with it.
	Keys []string
	// Revocations remembers logged-out sessions; nil keeps them in the
	// process's memory, which a restart forgets.
	Revocations Revocations
	// Now is the clock of sessions; nil means time.Now.
	Now func() time.Time
	// Logger receives logins, refusals and replays; nil discards. Keys
	// and tokens are never logged.
	Logger *slog.Logger
	// SecureCookies marks the session cookie Secure on every answer, for a
	// page served behind a proxy that terminates TLS (the request the page
	// sees is plain HTTP); without it the cookie is Secure only on TLS
	// requests.
	SecureCookies bool
}

// SessionTTL is how long a login lasts.
const SessionTTL = 8 * time.Hour

// Handler serves the status page. It implements http.Handler for the
// paths Routes lists and answers 404 to any other.
type Handler struct {
	ledger ledger.Ledger
	dls    transport.DeadLetterQueues
	replay func(ctx context.Context, id string) error
	keys   [][]byte // session keys derived from Options.Keys, same order
	access [][]byte // SHA-256 of Options.Keys, to compare logins in constant time
	now    func() time.Time
	log    *slog.Logger
	mux    *http.ServeMux
	pages  map[string]*template.Template
	secure bool
	guard  guard
}

var _ http.Handler = (*Handler)(nil)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var styleCSS []byte

// routes are the ServeMux patterns the page owns.
var routes = []string{
	"GET /{$}",
	"GET /login",
	"POST /login",
	"POST /logout",
	"GET /static/style.css",
	"GET /requests/{id}/view",
	"GET /dead-letters",
	"POST /dead-letters/{id}/replay",
}

// New returns the status page's handler. It fails when Ledger is missing
// or a key is missing, too short or one too many; its errors never quote a
// key.
func New(opts Options) (*Handler, error) {
	if opts.Ledger == nil {
		return nil, errors.New("statuspage: Options.Ledger is required")
	}
	if len(opts.Keys) == 0 {
		return nil, errors.New("statuspage: at least one access key is required")
	}
	if len(opts.Keys) > httpapi.MaxKeys {
		return nil, fmt.Errorf("statuspage: %d access keys given; at most %d may be active", len(opts.Keys), httpapi.MaxKeys)
	}
	h := &Handler{
		ledger: opts.Ledger,
		dls:    opts.DeadLetters,
		replay: opts.Replay,
		now:    opts.Now,
		log:    opts.Logger,
		secure: opts.SecureCookies,
		guard:  guard{store: opts.Revocations},
	}
	for i, k := range opts.Keys {
		if len(k) < httpapi.MinKeyLen {
			return nil, fmt.Errorf("statuspage: access key %d is %d bytes; at least %d are required", i+1, len(k), httpapi.MinKeyLen)
		}
		h.keys = append(h.keys, deriveSessionKey(k))
		sum := sha256.Sum256([]byte(k))
		h.access = append(h.access, sum[:])
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h.pages = pages

	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", h.requireSession(h.index))
	m.HandleFunc("GET /login", h.loginForm)
	m.HandleFunc("POST /login", h.login)
	m.HandleFunc("POST /logout", h.requireSession(h.logout))
	m.HandleFunc("GET /static/style.css", serveCSS)
	m.HandleFunc("GET /requests/{id}/view", h.requireSession(h.request))
	m.HandleFunc("GET /dead-letters", h.requireSession(h.deadLetters))
	m.HandleFunc("POST /dead-letters/{id}/replay", h.requireSession(h.replayOne))
	h.mux = m
	return h, nil
}

// Routes returns the http.ServeMux patterns the page serves, for a server
// that combines it with the JSON API in one mux (see Mount).
func (h *Handler) Routes() []string {
	return append([]string(nil), routes...)
}

// Mount registers the page on mux under each of Routes, at the root of the
// server (the page links with absolute paths; it cannot live under a
// prefix). It panics, as ServeMux.Handle does, when a pattern conflicts
// with one already registered; the API's "/requests", "/requests/" and
// "/senders/" do not.
func (h *Handler) Mount(mux *http.ServeMux) {
	for _, p := range routes {
		mux.Handle(p, h)
	}
}

// ServeHTTP sets the security headers of every answer and routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "same-origin")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.log.ErrorContext(r.Context(), "statuspage: handler panicked", "method", r.Method, "panic", fmt.Sprint(v))
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	h.mux.ServeHTTP(w, r)
}

func serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(styleCSS)
}

// accessIndex returns the index of the access key equal to key, or -1. Each
// comparison is of SHA-256 sums with hmac.Equal, so neither the key's length
// nor its content shows in the timing.
func (h *Handler) accessIndex(key string) int {
	sum := sha256.Sum256([]byte(key))
	found := -1
	for i, a := range h.access {
		if hmac.Equal(sum[:], a) && found < 0 {
			found = i
		}
	}
	return found
}
