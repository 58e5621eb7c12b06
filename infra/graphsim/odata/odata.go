// Package odata writes Microsoft Graph's JSON response and error shapes and
// parses the small subset of OData query syntax the simulator supports.
package odata

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Detail is one entry of an error's details array.
type Detail struct {
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
	Target  string `json:"target,omitempty"`
}

type innerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

type errorBody struct {
	Error struct {
		Code       string     `json:"code"`
		Message    string     `json:"message"`
		InnerError innerError `json:"innerError"`
		Details    []Detail   `json:"details,omitempty"`
	} `json:"error"`
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteError writes Graph's error body:
// {"error":{"code","message","innerError":{"date","request-id","client-request-id"},"details":[…]}}.
// The request-id is taken from the response's request-id header when set.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string, details ...Detail) {
	var b errorBody
	b.Error.Code = code
	b.Error.Message = message
	b.Error.Details = details
	reqID := w.Header().Get("request-id")
	if reqID == "" {
		reqID = uuid.NewString()
		w.Header().Set("request-id", reqID)
	}
	b.Error.InnerError = innerError{
		Date:            Now(r.Context()).UTC().Format("2006-01-02T15:04:05"),
		RequestID:       reqID,
		ClientRequestID: r.Header.Get("client-request-id"),
	}
	WriteJSON(w, status, b)
}

type clockKey struct{}

// NewClockContext returns ctx carrying now, the clock whose time error
// bodies are dated with (the simulator's Config.Clock).
func NewClockContext(ctx context.Context, now func() time.Time) context.Context {
	return context.WithValue(ctx, clockKey{}, now)
}

// Now is the time on ctx's clock, or the real time when ctx carries none.
func Now(ctx context.Context) time.Time {
	if now, ok := ctx.Value(clockKey{}).(func() time.Time); ok {
		return now()
	}
	return time.Now()
}

// Collection is Graph's collection response shape.
type Collection[T any] struct {
	Context  string `json:"@odata.context,omitempty"`
	NextLink string `json:"@odata.nextLink,omitempty"`
	Value    []T    `json:"value"`
}

// Clause is one comparison of a $filter expression: Property eq 'Value', or,
// when Any is true, Property/any(x:x eq 'Value').
type Clause struct {
	Property string
	Value    string
	Any      bool
}

// ParseFilter parses a $filter made of clauses joined by "and". Each clause is
// `prop eq 'literal'` (a quote inside the literal doubled, as OData requires)
// or `prop/any(x:x eq 'literal')`. Anything else is an error whose message
// suits a 400 response.
func ParseFilter(filter string) ([]Clause, error) {
	var out []Clause
	s := strings.TrimSpace(filter)
	for s != "" {
		var c Clause
		var err error
		c, s, err = parseClause(s)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
		s = strings.TrimSpace(s)
		if s == "" {
			break
		}
		rest, ok := cutPrefixFold(s, "and ")
		if !ok {
			return nil, fmt.Errorf("Invalid filter clause: expected 'and' at %q", s)
		}
		s = strings.TrimSpace(rest)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("Invalid filter clause: empty")
	}
	return out, nil
}

func parseClause(s string) (Clause, string, error) {
	i := strings.IndexAny(s, " /")
	if i <= 0 {
		return Clause{}, "", fmt.Errorf("Invalid filter clause: %q", s)
	}
	prop := s[:i]
	if s[i] == '/' {
		// prop/any(x:x eq 'v')
		rest, ok := cutPrefixFold(s[i+1:], "any(")
		if !ok {
			return Clause{}, "", fmt.Errorf("Invalid filter clause: unsupported lambda in %q", s)
		}
		colon := strings.IndexByte(rest, ':')
		if colon <= 0 {
			return Clause{}, "", fmt.Errorf("Invalid filter clause: %q", s)
		}
		v := strings.TrimSpace(rest[:colon])
		rest = strings.TrimSpace(rest[colon+1:])
		rest, ok = cutPrefixFold(rest, v+" eq ")
		if !ok {
			return Clause{}, "", fmt.Errorf("Invalid filter clause: only '%s eq' is supported in any()", v)
		}
		lit, rest, err := parseLiteral(strings.TrimSpace(rest))
		if err != nil {
			return Clause{}, "", err
		}
		rest = strings.TrimSpace(rest)
		if !strings.HasPrefix(rest, ")") {
			return Clause{}, "", fmt.Errorf("Invalid filter clause: missing ')'")
		}
		return Clause{Property: prop, Value: lit, Any: true}, rest[1:], nil
	}
	rest, ok := cutPrefixFold(strings.TrimSpace(s[i:]), "eq ")
	if !ok {
		return Clause{}, "", fmt.Errorf("Invalid filter clause: only 'eq' is supported, got %q", s)
	}
	lit, rest, err := parseLiteral(strings.TrimSpace(rest))
	if err != nil {
		return Clause{}, "", err
	}
	return Clause{Property: prop, Value: lit}, rest, nil
}

// parseLiteral reads a single-quoted OData string literal in which a quote is
// written as two quotes.
func parseLiteral(s string) (string, string, error) {
	if !strings.HasPrefix(s, "'") {
		return "", "", fmt.Errorf("Invalid filter clause: expected a quoted string at %q", s)
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '\'' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		return b.String(), s[i+1:], nil
	}
	return "", "", fmt.Errorf("Invalid filter clause: unterminated string literal")
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// Select parses $select into a set of property names; nil means all.
func Select(r *http.Request) map[string]bool {
	v := r.URL.Query().Get("$select")
	if v == "" {
		return nil
	}
	m := map[string]bool{}
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			m[strings.ToLower(p)] = true
		}
	}
	return m
}
