package doctor

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// maxCaptureBody bounds the part of a response body kept for the capture.
const maxCaptureBody = 256 << 10

// ErrRefused is returned by the Recorder for any request that could write.
var ErrRefused = errors.New("raprov doctor only reads: request refused before it was sent")

// Recorder is the doctor's HTTP transport: it lets through only reads (GET,
// HEAD) and the client-credentials token request (POST …/oauth2/v2.0/token
// or …/oauth2/token), refusing anything else with ErrRefused before it
// leaves the process, and keeps every exchange for WriteCapture. Request
// bodies and headers (the secret, the assertion, the bearer token) are
// never kept. It is safe for concurrent use.
type Recorder struct {
	next http.RoundTripper

	mu        sync.Mutex
	exchanges []exchange
}

// exchange is one request as sent, and its answer.
type exchange struct {
	start    time.Time
	duration time.Duration
	method   string
	url      url.URL
	status   int
	header   http.Header // the answer's, selected (keptHeaders)
	body     []byte
	cut      bool // body longer than maxCaptureBody
	err      string
	refused  bool
}

// keptHeaders are the answer headers a bug report needs: Microsoft's
// request ids, throttling and content type. Nothing else is kept.
var keptHeaders = []string{"Content-Type", "request-id", "client-request-id", "x-ms-ags-diagnostic",
	"Retry-After", "x-ms-throttle-scope", "x-ms-throttle-information", "x-ms-resource-unit", "WWW-Authenticate"}

// NewRecorder returns a Recorder sending through next (http.DefaultTransport
// when nil).
func NewRecorder(next http.RoundTripper) *Recorder {
	if next == nil {
		next = http.DefaultTransport
	}
	return &Recorder{next: next}
}

// readOnly reports whether req may be sent: a read, or the token request.
func readOnly(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodPost:
		p := strings.TrimRight(req.URL.Path, "/")
		return strings.HasSuffix(p, "/oauth2/v2.0/token") || strings.HasSuffix(p, "/oauth2/token")
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	ex := exchange{start: time.Now(), method: req.Method, url: *req.URL}
	ex.url.User = nil
	if !readOnly(req) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		ex.refused, ex.err = true, ErrRefused.Error()
		r.keep(ex)
		return nil, fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, ErrRefused)
	}
	resp, err := r.next.RoundTrip(req)
	ex.duration = time.Since(ex.start)
	if err != nil {
		ex.err = err.Error()
		r.keep(ex)
		return nil, err
	}
	ex.status = resp.StatusCode
	ex.header = http.Header{}
	for _, h := range keptHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			ex.header[http.CanonicalHeaderKey(h)] = v
		}
	}
	// Keep the start of the body and hand the caller the whole of it.
	buf, rerr := io.ReadAll(io.LimitReader(resp.Body, maxCaptureBody+1))
	ex.body, ex.cut = buf, len(buf) > maxCaptureBody
	if ex.cut {
		ex.body = buf[:maxCaptureBody]
	}
	rest := io.Reader(resp.Body)
	if rerr != nil {
		rest = errReader{rerr}
		ex.err = "reading the answer: " + rerr.Error()
	}
	resp.Body = replayBody{Reader: io.MultiReader(bytes.NewReader(buf), rest), Closer: resp.Body}
	r.keep(ex)
	return resp, nil
}

func (r *Recorder) keep(ex exchange) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exchanges = append(r.exchanges, ex)
}

type replayBody struct {
	io.Reader
	io.Closer
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Requests returns "METHOD path" of every request seen, refused ones
// included, in order.
func (r *Recorder) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.exchanges))
	for i, ex := range r.exchanges {
		out[i] = ex.method + " " + ex.url.Path
	}
	return out
}

// ---- the capture document ----

// capture is the JSON document WriteCapture writes.
type capture struct {
	Tool     string            `json:"tool"`
	Version  int               `json:"version"`
	Time     time.Time         `json:"time"`
	Note     string            `json:"note"`
	Setup    captureSetup      `json:"setup"`
	ExitCode int               `json:"exitCode"`
	Results  []Result          `json:"results"`
	Requests []capturedRequest `json:"requests"`
}

type captureSetup struct {
	TenantID        string   `json:"tenantId"`
	ClientID        string   `json:"clientId"`
	Credential      string   `json:"credential"`
	AuthorityHost   string   `json:"authorityHost"`
	GraphBaseURL    string   `json:"graphBaseUrl"`
	GraphScope      string   `json:"graphScope"`
	TeamsBaseURL    string   `json:"teamsBaseUrl"`
	TeamsScope      string   `json:"teamsScope"`
	TeamsListPath   string   `json:"teamsListPath"`
	TeamsGetPath    string   `json:"teamsGetPath"`
	TeamsLookup     string   `json:"teamsLookup"`
	SkuPartNumber   string   `json:"skuPartNumber"`
	OwnerAttribute  int      `json:"ownerAttribute"`
	VerifiedDomains []string `json:"verifiedDomains,omitempty"`
	Simulator       bool     `json:"simulator,omitempty"`
	Error           string   `json:"error,omitempty"`
}

type capturedRequest struct {
	Time       time.Time           `json:"time"`
	DurationMS int64               `json:"durationMs"`
	Method     string              `json:"method"`
	URL        string              `json:"url"`
	Refused    bool                `json:"refused,omitempty"`
	Status     int                 `json:"status,omitempty"`
	Header     map[string][]string `json:"header,omitempty"`
	Body       any                 `json:"body,omitempty"`
	BodyCut    bool                `json:"bodyTruncated,omitempty"`
	Error      string              `json:"error,omitempty"`
}

const captureNote = "Written by raprov doctor for a bug report. Request headers and bodies are not recorded; " +
	"tokens and secrets in answers are [REDACTED]; ids, names, addresses and telephone numbers are replaced by " +
	"pseudonyms (~ and 12 hex digits), the same value by the same pseudonym within this file; in answers that are " +
	"not JSON or were cut (bodyTruncated), so is anything shaped like an address, a GUID or a long number."

// WriteCapture writes every exchange so far, the setup and the report as
// one JSON document. Tokens and secrets are redacted; ids, names and
// numbers are pseudonymised (see captureNote). An answer that is not JSON
// (an HTML error page) or was cut is written as text of at most 4 KiB, in
// which anything shaped like an e-mail address or UPN, a GUID or a run of
// seven or more digits is pseudonymised as well (opaqueRE), and so are the
// values of personal keys that cut JSON still shows.
func (r *Recorder) WriteCapture(w io.Writer, s Setup, rep Report) error {
	r.mu.Lock()
	exchanges := append([]exchange(nil), r.exchanges...)
	r.mu.Unlock()

	p := newPseudonyms()
	p.remember(s.TenantID)
	p.remember(s.ClientID)

	// Decode the bodies and learn every personal value before rewriting
	// anything, so that a value is replaced wherever it appears.
	bodies := make([]any, len(exchanges))
	cut := make([]bool, len(exchanges))
	for i, ex := range exchanges {
		cut[i] = ex.cut
		if len(ex.body) == 0 {
			continue
		}
		var v any
		if !ex.cut && json.Unmarshal(ex.body, &v) == nil {
			p.collect(v, "")
			bodies[i] = v
		} else {
			var b string
			b, cut[i] = clipBody(ex.body, ex.cut)
			p.collectText(b)
			bodies[i] = b
		}
	}

	doc := capture{
		Tool: "raprov doctor", Version: 1, Time: time.Now().UTC(), Note: captureNote,
		ExitCode: rep.Exit, Results: []Result{}, Requests: []capturedRequest{},
		Setup: captureSetup{
			TenantID: p.of(s.TenantID), ClientID: p.of(s.ClientID), Credential: s.Credential,
			AuthorityHost: s.AuthorityHost, GraphBaseURL: s.GraphBaseURL, GraphScope: s.GraphScope,
			TeamsBaseURL: s.TeamsBaseURL, TeamsScope: s.TeamsScope, TeamsListPath: s.TeamsListPath,
			TeamsGetPath: s.TeamsGetPath, TeamsLookup: s.TeamsLookup, SkuPartNumber: s.SkuPartNumber,
			OwnerAttribute: s.OwnerAttribute, VerifiedDomains: s.VerifiedDomains, Simulator: s.Simulator,
		},
	}
	if s.Err != nil {
		doc.Setup.Error = p.text(s.Err.Error())
	}
	for _, res := range rep.Results {
		res.Summary, res.Action = p.text(res.Summary), p.text(res.Action)
		details := make([]string, len(res.Details))
		for i, d := range res.Details {
			details[i] = p.text(d)
		}
		res.Details = details
		doc.Results = append(doc.Results, res)
	}
	for i, ex := range exchanges {
		cr := capturedRequest{
			Time: ex.start.UTC(), DurationMS: ex.duration.Milliseconds(), Method: ex.method,
			URL: p.url(ex.url), Refused: ex.refused, Status: ex.status, BodyCut: cut[i], Error: p.text(ex.err),
		}
		if len(ex.header) > 0 {
			cr.Header = ex.header
		}
		switch b := bodies[i].(type) {
		case string:
			cr.Body = p.opaque(b)
		case nil:
		default:
			cr.Body = p.rewrite(b, "")
		}
		doc.Requests = append(doc.Requests, cr)
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	// Last line of defence: nothing shaped like a JWT leaves.
	out = jwtRE.ReplaceAll(out, []byte(redactedValue))
	out = append(out, '\n')
	_, err = w.Write(out)
	return err
}

const redactedValue = "[REDACTED]"

// jwtRE matches a JWT (header, payload and optional signature, base64url).
var jwtRE = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`)

// secretKey reports JSON keys whose values are credentials or opaque
// tokens: access_token, refresh_token, id_token, client_secret,
// client_assertion, passwords, skip tokens.
func secretKey(k string) bool {
	k = strings.ToLower(k)
	if strings.HasSuffix(k, "type") { // token_type: "Bearer"
		return false
	}
	return strings.Contains(k, "token") || strings.Contains(k, "secret") || strings.Contains(k, "password") ||
		strings.Contains(k, "assertion") || k == "authorization" || k == "key"
}

// personalKeys hold ids, names, addresses and numbers of people and
// accounts: pseudonymised.
var personalKeys = map[string]bool{
	"id": true, "objectid": true, "userprincipalname": true, "displayname": true, "mail": true,
	"mailnickname": true, "givenname": true, "surname": true, "assignmenttargetid": true,
	"telephonenumber": true, "businessphones": true, "mobilephone": true, "othermails": true,
	"proxyaddresses": true, "imaddresses": true, "employeeid": true, "tid": true, "tenantid": true,
	"onpremisessamaccountname": true, "onpremisesuserprincipalname": true, "onpremisesdistinguishedname": true,
	"streetaddress": true, "postalcode": true, "faxnumber": true,
}

// personal reports whether a key's values are pseudonymised: the keys
// above and onPremisesExtensionAttributes' extensionAttribute1–15.
func personal(k string) bool {
	k = strings.ToLower(k)
	return personalKeys[k] || strings.HasPrefix(k, "extensionattribute")
}

// pseudonyms maps values to stable pseudonyms for one capture.
type pseudonyms struct {
	key  []byte
	seen map[string]string
}

func newPseudonyms() *pseudonyms {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	return &pseudonyms{key: key, seen: map[string]string{}}
}

// of returns v's pseudonym (GUIDs compare case-insensitively).
func (p *pseudonyms) of(v string) string {
	if v == "" {
		return ""
	}
	norm := v
	if isGUID(v) {
		norm = strings.ToLower(v)
	}
	m := hmac.New(sha256.New, p.key)
	m.Write([]byte(norm))
	ps := "~" + hex.EncodeToString(m.Sum(nil))[:12]
	p.seen[v] = ps
	return ps
}

// remember registers v, so that text naming it is rewritten.
func (p *pseudonyms) remember(v string) {
	if len(v) >= 3 {
		p.of(v)
	}
}

// collect registers every personal value in a decoded JSON document.
func (p *pseudonyms) collect(v any, key string) {
	switch t := v.(type) {
	case map[string]any:
		for k, c := range t {
			p.collect(c, k)
		}
	case []any:
		for _, c := range t {
			p.collect(c, key)
		}
	case string:
		if personal(key) && !secretKey(key) {
			p.remember(t)
		}
	}
}

// rewrite returns a copy of a decoded JSON document with secrets redacted,
// personal values pseudonymised and known values replaced in other text.
func (p *pseudonyms) rewrite(v any, key string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, c := range t {
			if secretKey(k) && c != nil {
				out[k] = redactedValue
				continue
			}
			out[k] = p.rewrite(c, k)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			out[i] = p.rewrite(c, key)
		}
		return out
	case string:
		if personal(key) {
			return p.of(t)
		}
		return p.text(t)
	}
	return v
}

// minKnown is the shortest registered value text replaces: shorter ones
// ("1", "US") would mangle unrelated words.
const minKnown = 4

// text replaces every registered value in s by its pseudonym (longest
// first, so that a UPN goes before its alias) and any JWT by [REDACTED].
func (p *pseudonyms) text(s string) string {
	if s == "" {
		return s
	}
	known := make([]string, 0, len(p.seen))
	for v := range p.seen {
		known = append(known, v)
	}
	sort.Slice(known, func(i, j int) bool { return len(known[i]) > len(known[j]) })
	for _, v := range known {
		if len(v) >= minKnown && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, p.seen[v])
		}
	}
	return jwtRE.ReplaceAllString(s, redactedValue)
}

// url renders a request URL with GUID path segments pseudonymised and the
// values of credential-like query parameters redacted.
func (p *pseudonyms) url(u url.URL) string {
	segs := strings.Split(u.Path, "/")
	for i, s := range segs {
		if isGUID(s) {
			segs[i] = p.of(s)
		}
	}
	u.Path, u.RawPath = strings.Join(segs, "/"), ""
	q := u.Query()
	for k, vs := range q {
		for i := range vs {
			if secretKey(k) || strings.Contains(strings.ToLower(k), "sig") || strings.Contains(strings.ToLower(k), "code") {
				vs[i] = redactedValue
			} else {
				vs[i] = p.text(vs[i])
			}
		}
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	u.Fragment, u.RawFragment = "", ""
	return p.text(u.String())
}

// maxOpaqueBody bounds a body written as text (not JSON, or cut), before
// and after redaction.
const maxOpaqueBody = 4 << 10

// clipBody returns the start of a body that is written as text: at most
// maxOpaqueBody bytes. When the body is cut, here or by the Recorder, the
// partial word at its end is dropped too: it may be the start of an
// address or number too short to be recognised (five digits of a number).
// It reports whether the body was cut.
func clipBody(b []byte, cut bool) (string, bool) {
	if len(b) > maxOpaqueBody {
		b, cut = truncateUTF8(b, maxOpaqueBody), true
	}
	if cut {
		b = bytes.TrimRightFunc(b, func(r rune) bool {
			return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._%+'@-", r)
		})
	}
	return string(b), cut
}

// opaqueRE matches, in a body that is not JSON or was cut, what may name a
// person, an account or a tenant: an e-mail address or UPN, a GUID, or a
// run of seven or more digits (an E.164 number with its '+', an employee
// id). Its first alternative is a pseudonym already written, which is kept
// (its hex digits may run to seven).
var opaqueRE = regexp.MustCompile(`~[0-9a-f]{12}` +
	`|[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+` +
	`|[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}` +
	`|\+?[0-9]{7,}`)

// jsonPairRE matches a "key": "string" pair in JSON text that may be cut
// (the last string may be unclosed), as it appears in the text.
var jsonPairRE = regexp.MustCompile(`"([A-Za-z0-9_@.$-]+)"\s*:\s*"((?:[^"\\]|\\.)*)(?:"|\z)`)

// collectText registers the personal values of a body that is written as
// text: what opaqueRE finds, and the values of personal keys if it is cut
// JSON (a display name has no shape to find).
func (p *pseudonyms) collectText(s string) {
	for _, m := range jsonPairRE.FindAllStringSubmatch(s, -1) {
		if personal(m[1]) && !secretKey(m[1]) {
			p.remember(m[2])
		}
	}
	for _, m := range opaqueRE.FindAllString(s, -1) {
		if !strings.HasPrefix(m, "~") {
			p.remember(m)
		}
	}
}

// opaque returns a body that is not JSON, or was cut, fit for the capture:
// the values of secret keys redacted, known values and JWTs replaced as in
// text, then anything opaqueRE finds pseudonymised, and the result cut to
// maxOpaqueBody bytes again (pseudonyms are longer than the shortest
// addresses; cutting redacted text can only lose text).
func (p *pseudonyms) opaque(s string) string {
	s = jsonPairRE.ReplaceAllStringFunc(s, func(pair string) string {
		m := jsonPairRE.FindStringSubmatch(pair)
		if secretKey(m[1]) {
			return `"` + m[1] + `":"` + redactedValue + `"`
		}
		return pair
	})
	s = p.text(s)
	s = opaqueRE.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasPrefix(m, "~") {
			return m
		}
		return p.of(m)
	})
	return string(truncateUTF8([]byte(s), maxOpaqueBody))
}

// truncateUTF8 cuts b to at most n bytes without splitting a character.
func truncateUTF8(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	b = b[:n]
	for len(b) > 0 && !utf8.Valid(b) {
		b = b[:len(b)-1]
	}
	return b
}
