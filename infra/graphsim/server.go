package graphsim

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim/odata"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

// Server is a running simulator's state and HTTP handler. It is safe for
// concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	clock    Clock
	dir      *directory
	teams    *teamssim.Sim
	mux      *http.ServeMux
	throttle *throttler
	tokenKey []byte
	// verified caches access tokens already verified (see
	// verifyAccessToken): token string → verifiedToken.
	verified      sync.Map
	verifiedCount atomic.Int64

	knobsMu sync.RWMutex
	knobs   Knobs

	grantsMu sync.RWMutex
	grants   Grants

	signIns signIns // delegated sign-in (devicecode.go)

	usageLocations usageLocations

	randMu sync.Mutex
	rand   *mrand.Rand

	faultsMu sync.Mutex
	faults   []Fault

	logMu    sync.Mutex
	records  []RequestRecord // ring of the last maxRecords
	next     int
	counts   map[string]*EndpointCount
	tokens   map[string]int
	received int
}

// maxRecords bounds the request log; Counts covers every request.
const maxRecords = 10000

// New builds a simulator from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.TenantID == "" {
		cfg.TenantID = DefaultTenantID
	}
	if cfg.ClientID == "" {
		cfg.ClientID = DefaultClientID
	}
	if cfg.ClientSecret == "" {
		cfg.ClientSecret = DefaultClientSecret
	}
	if cfg.TokenLifetime <= 0 {
		cfg.TokenLifetime = time.Hour
	}
	if cfg.Seed.empty() {
		teams := cfg.Seed.Teams
		cfg.Seed = DefaultSeed()
		if len(teams.Numbers)+len(teams.ApplicationInstances)+len(teams.Configurations)+len(teams.Associations) > 0 {
			cfg.Seed.Teams = teams
		}
	}
	if err := cfg.Seed.validate(); err != nil {
		return nil, fmt.Errorf("graphsim: seed: %w", err)
	}
	if err := cfg.Knobs.Validate(); err != nil {
		return nil, fmt.Errorf("graphsim: knobs: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	seed := uint64(cfg.RandSeed)
	if seed == 0 {
		seed = mrand.Uint64()
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("graphsim: token key: %w", err)
	}
	clock := cfg.Clock
	if clock == nil {
		clock = realClock{}
	}
	s := &Server{
		cfg:      cfg,
		log:      log,
		clock:    clock,
		throttle: newThrottler(),
		tokenKey: key,
		knobs:    cfg.Knobs,
		grants:   LeastPrivilege(),
		rand:     mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		counts:   map[string]*EndpointCount{},
		tokens:   map[string]int{},
	}
	if cfg.Grants != nil {
		s.grants = cfg.Grants.clone()
	}
	s.dir = newDirectory(cfg.TenantID, cfg.Seed, func() time.Duration { return s.Knobs().ReplicationDelay }, clock.Now)
	s.mux = http.NewServeMux()
	s.routes()
	s.mountTeams()
	return s, nil
}

// now is the time on the simulator's clock.
func (s *Server) now() time.Time { return s.clock.Now() }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.openIDConfiguration)
	m.HandleFunc("GET /common/discovery/instance", s.instanceDiscovery)
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	s.signInRoutes(m)

	m.HandleFunc("GET /v1.0/subscribedSkus", s.listSubscribedSkus)
	m.HandleFunc("GET /v1.0/subscribedSkus/{id}", s.getSubscribedSku)
	m.HandleFunc("POST /v1.0/users", s.createUser)
	m.HandleFunc("GET /v1.0/users", s.listUsers)
	m.HandleFunc("GET /v1.0/users/{id}", s.getUser)
	m.HandleFunc("PATCH /v1.0/users/{id}", s.trackUsageLocation(s.updateUser))
	m.HandleFunc("DELETE /v1.0/users/{id}", s.deleteUser)
	m.HandleFunc("GET /v1.0/users/{id}/licenseDetails", s.listLicenseDetails)
	m.HandleFunc("POST /v1.0/users/{id}/assignLicense", s.assignLicense)

	m.HandleFunc("GET /_sim/state", s.adminState)
	m.HandleFunc("GET /_sim/snapshot", s.adminSnapshot)
	m.HandleFunc("GET /_sim/requests", s.adminRequests)
	m.HandleFunc("DELETE /_sim/requests", s.adminResetRequests)
	m.HandleFunc("POST /_sim/licenses", s.adminLicenses)
	m.HandleFunc("GET /_sim/knobs", s.adminGetKnobs)
	m.HandleFunc("PUT /_sim/knobs", s.adminPutKnobs)
	m.HandleFunc("POST /_sim/faults", s.adminFaults)
	m.HandleFunc("GET /_sim/grants", s.adminGetGrants)
	m.HandleFunc("PUT /_sim/grants", s.adminPutGrants)
}

// unknownResource answers /v1.0 paths no route serves: 405 when another
// method would be served, else Graph's 400 for an unknown segment.
func (s *Server) unknownResource(w http.ResponseWriter, r *http.Request) {
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			odata.WriteError(w, r, http.StatusMethodNotAllowed, "Request_BadRequest", "Specified HTTP method is not allowed for the request target.")
			return
		}
	}
	segs := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/v1.0"), "/"), "/")
	seg := segs[0]
	if len(segs) > 1 && (strings.EqualFold(seg, "users") || strings.EqualFold(seg, "subscribedSkus")) {
		seg = segs[len(segs)-1]
	}
	odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", seg))
}

// Handler returns the simulator's handler: the identity platform endpoints,
// Graph /v1.0, the Teams admin back end and the /_sim admin API.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// SetKnobs replaces the knobs; requests already in flight may see either.
// OperationStepDelay is the exception: the Teams simulator keeps the value
// it was created with.
func (s *Server) SetKnobs(k Knobs) {
	s.knobsMu.Lock()
	defer s.knobsMu.Unlock()
	s.knobs = k
}

// Knobs returns the current knobs.
func (s *Server) Knobs() Knobs {
	s.knobsMu.RLock()
	defer s.knobsMu.RUnlock()
	return s.knobs
}

// AddLicenses adds units (negative: removes) to the prepaid enabled units of
// the subscription with skuPartNumber, as buying licenses would.
func (s *Server) AddLicenses(skuPartNumber string, units int) error {
	_, err := s.dir.addLicenses(skuPartNumber, units)
	return err
}

// Fault is an injected failure: the next Count requests whose method is
// Method (any when empty) and whose path starts with PathPrefix are
// answered with Status and Graph's error body, without being served.
type Fault struct {
	Method     string
	PathPrefix string
	Count      int // default 1
	Status     int // default 503
	// RetryAfter, when set, is sent as Retry-After.
	RetryAfter time.Duration
	// Code and Message override the error body's defaults for Status.
	Code, Message string
}

// InjectFault queues f. Faults are matched in the order they were injected.
func (s *Server) InjectFault(f Fault) {
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.Status == 0 {
		f.Status = http.StatusServiceUnavailable
	}
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	s.faults = append(s.faults, f)
}

// takeFault consumes one matching injected fault.
func (s *Server) takeFault(r *http.Request) (Fault, bool) {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if (f.Method == "" || strings.EqualFold(f.Method, r.Method)) && strings.HasPrefix(r.URL.Path, f.PathPrefix) {
			out := *f
			f.Count--
			if f.Count == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return out, true
		}
	}
	return Fault{}, false
}

func (s *Server) chance(rate float64) bool {
	if rate <= 0 {
		return false
	}
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rand.Float64() < rate
}

// State is a deep copy of the simulator's state.
type State struct {
	TenantID        string   `json:"tenantId"`
	VerifiedDomains []string `json:"verifiedDomains"`
	// Users in creation order, including those not yet replicated.
	Users []User         `json:"users"`
	Skus  []Sku          `json:"skus"`
	Teams teamssim.State `json:"teams"`
	// TokensIssued counts access tokens by requested scope.
	TokensIssued map[string]int `json:"tokensIssued"`
}

// State returns a deep copy of the current state.
func (s *Server) State() State {
	users, skus := s.dir.snapshot()
	st := State{
		TenantID:        s.cfg.TenantID,
		VerifiedDomains: append([]string(nil), s.dir.domains...),
		Users:           users,
		Skus:            skus,
		Teams:           s.teamsState(),
		TokensIssued:    map[string]int{},
	}
	s.logMu.Lock()
	for k, v := range s.tokens {
		st.TokensIssued[k] = v
	}
	s.logMu.Unlock()
	return st
}

// requestInfo is what handlers add to a request's record.
type requestInfo struct {
	clientID   string
	scope      string
	credential string
}

type requestInfoKey struct{}

func requestInfoFrom(ctx context.Context) *requestInfo {
	if i, ok := ctx.Value(requestInfoKey{}).(*requestInfo); ok {
		return i
	}
	return &requestInfo{}
}

// isTeamsBackEnd reports whether path belongs to the Teams admin back end.
func isTeamsBackEnd(path string) bool {
	return len(path) > 7 && strings.EqualFold(path[:7], "/teams.")
}

// serve is the middleware chain: request ids, authentication,
// authorisation (the route's permissions or roles, permissions.go),
// throttling, faults, slow responses, then the route; every request is
// logged.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	r = r.WithContext(odata.NewClockContext(r.Context(), s.clock.Now))
	reqID := uuid.NewString()
	clientReqID := r.Header.Get("client-request-id")
	if clientReqID == "" {
		clientReqID = reqID
	}
	w.Header().Set("request-id", reqID)
	w.Header().Set("client-request-id", clientReqID)
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.mux.ServeHTTP(w, r)
		return
	}
	info := &requestInfo{}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info))
	sw := &statusWriter{ResponseWriter: w}
	_, pattern := s.mux.Handler(r)
	rec := RequestRecord{
		Time:            start.UTC(),
		RequestID:       reqID,
		ClientRequestID: clientReqID,
		Method:          r.Method,
		Path:            r.URL.Path,
		Route:           routeKey(r.Method, pattern),
	}
	defer func() {
		rec.Status = sw.status()
		rec.Duration = s.now().Sub(start)
		rec.ClientID, rec.Scope, rec.Credential = info.clientID, info.scope, info.credential
		s.record(rec)
	}()

	graph := strings.HasPrefix(r.URL.Path, "/v1.0/")
	api := graph || isTeamsBackEnd(r.URL.Path)
	knobs := s.Knobs()
	cost := CostOf(r.Method, r.URL.Path, r.URL.Query())
	if api {
		audience := teamsAudience
		if graph {
			audience = graphAudience
		}
		p, msg := s.authenticate(r, audience)
		if msg != "" {
			s.unauthorized(sw, r, msg)
			return
		}
		info.clientID = p.clientID
		if pattern != "" && !s.authorize(sw, r, pattern, p) {
			return
		}
		rec.Service = cost.Service
		if knobs.Throttle && cost.Service != "" {
			d := s.throttle.admit(p.clientID, cost, limitsFor(knobs, s.tenantUsers(knobs)), start)
			if d.usage > 0.8 {
				sw.Header().Set("x-ms-throttle-limit-percentage", formatUsage(d.usage))
			}
			if d.throttled {
				rec.Throttled = true
				s.writeThrottled(sw, r, p.clientID, cost, d, knobs)
				return
			}
		}
		if cost.Service == ServiceIdentity {
			sw.Header().Set("x-ms-resource-unit", fmt.Sprint(cost.ResourceUnits))
			rec.ResourceUnits, rec.Write = cost.ResourceUnits, cost.Write
		}
	}
	if f, ok := s.takeFault(r); ok {
		rec.Fault = true
		s.writeFault(sw, r, f.Status, f.Code, f.Message, f.RetryAfter, knobs)
		return
	}
	if api && s.chance(knobs.FaultRate) {
		rec.Fault = true
		s.writeFault(sw, r, knobs.faultStatus(), "", "", 0, knobs)
		return
	}
	if api && knobs.SlowDelay > 0 && s.chance(knobs.SlowRate) {
		rec.Slow = true
		s.serveSlow(sw, r, knobs.SlowDelay)
		return
	}
	if !s.decodeBody(sw, r) {
		return
	}
	if graph && pattern == "" {
		s.unknownResource(sw, r)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// decodeBody undoes Content-Encoding: gzip, which the Graph SDKs'
// compression middleware applies to request bodies; another encoding is a
// 415, on which those SDKs resend the body uncompressed.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request) bool {
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return true
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			odata.WriteError(w, r, http.StatusBadRequest, "BadRequest", "Content-Encoding is gzip but the request body is not gzip data.")
			return false
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(zr, 4<<20), r.Body}
		r.Header.Del("Content-Encoding")
		r.ContentLength = -1
		return true
	default:
		odata.WriteError(w, r, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Encoding "+enc+" is not supported.")
		return false
	}
}

func routeKey(method, pattern string) string {
	if pattern == "" {
		return method + " (unmatched)"
	}
	if i := strings.IndexByte(pattern, ' '); i > 0 {
		return pattern
	}
	return method + " " + pattern
}

func (s *Server) tenantUsers(k Knobs) int {
	if k.TenantUsers > 0 {
		return k.TenantUsers
	}
	return s.dir.count()
}

// writeThrottled writes Graph's 429 with Retry-After and, for identity
// calls, the x-ms-throttle-scope and x-ms-throttle-information headers.
func (s *Server) writeThrottled(w http.ResponseWriter, r *http.Request, app string, cost Cost, d decision, k Knobs) {
	h := w.Header()
	h.Set("Retry-After", formatRetryAfter(d.retryAfter, k.timeScale()))
	if cost.Service == ServiceIdentity {
		h.Set("x-ms-throttle-scope", fmt.Sprintf("Tenant_Application/%s/%s/%s", d.limit, app, s.cfg.TenantID))
		h.Set("x-ms-throttle-information", d.info)
	}
	odata.WriteError(w, r, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
}

// writeFault writes an injected failure with Graph's error body.
func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, status int, code, message string, retryAfter time.Duration, k Knobs) {
	defCode, defMessage := faultBody(status)
	if code == "" {
		code = defCode
	}
	if message == "" {
		message = defMessage
	}
	if retryAfter == 0 && (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) {
		retryAfter = scaled(time.Second, k.timeScale())
	}
	if retryAfter > 0 {
		w.Header().Set("Retry-After", formatRetryAfter(retryAfter, k.timeScale()))
	}
	odata.WriteError(w, r, status, code, message)
}

func faultBody(status int) (code, message string) {
	switch status {
	case http.StatusTooManyRequests:
		return "TooManyRequests", "Too many requests."
	case http.StatusInternalServerError:
		return "generalException", "An unspecified error has occurred."
	case http.StatusBadGateway:
		return "BadGateway", "Bad gateway."
	case http.StatusServiceUnavailable:
		return "serviceNotAvailable", "The service is temporarily unavailable. Please retry after a delay."
	case http.StatusGatewayTimeout:
		return "GatewayTimeout", "The gateway timed out waiting for the service."
	}
	return strings.ReplaceAll(http.StatusText(status), " ", ""), http.StatusText(status) + "."
}

// serveSlow serves r, then holds the response back for delay on the
// simulator's clock. A client that gives up meanwhile gets nothing, although
// the request took effect.
func (s *Server) serveSlow(w *statusWriter, r *http.Request, delay time.Duration) {
	buf := &bufferedWriter{header: http.Header{}}
	for k, v := range w.Header() {
		buf.header[k] = v
	}
	s.mux.ServeHTTP(buf, r)
	elapsed := make(chan struct{})
	stop := s.clock.AfterFunc(delay, func() { close(elapsed) })
	defer stop()
	select {
	case <-elapsed:
	case <-r.Context().Done():
		w.code = buf.statusOr200() // for the record only: the client has gone
		return
	}
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	w.WriteHeader(buf.statusOr200())
	_, _ = io.Copy(w, &buf.body)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}

// bufferedWriter holds a whole response.
type bufferedWriter struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }

func (b *bufferedWriter) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedWriter) statusOr200() int {
	if b.code == 0 {
		return http.StatusOK
	}
	return b.code
}
