package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits of a sender's body.
const (
	// MaxBody is the largest body Apply reads: 1 MiB. A catalog request or
	// business-process event is a few KiB; the limit only stops a runaway
	// sender from making raprov hold megabytes per request.
	MaxBody = 1 << 20
	// MaxDepth is the deepest nesting of objects and arrays Apply accepts.
	// Real payloads are 3 to 5 levels deep.
	MaxDepth = 32
	// maxSegments bounds the segments of a path in a mapping.
	maxSegments = MaxDepth
)

var (
	// ErrTooLarge: the body is larger than MaxBody (HTTP 413).
	ErrTooLarge = errors.New("body larger than 1 MiB")
	// ErrMalformed: the body is not one JSON value, nests deeper than
	// MaxDepth or repeats a key in one object (HTTP 400).
	ErrMalformed = errors.New("malformed JSON")
)

// decode reads body as one JSON value into map[string]any, []any, string,
// json.Number, bool and nil. It refuses what ErrTooLarge and ErrMalformed
// describe. A repeated key is refused because a signed body must mean one
// thing: Go's decoder keeps the last of two keys, other readers the first.
func decode(body []byte) (any, error) {
	if len(body) > MaxBody {
		return nil, ErrTooLarge
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	v, err := readValue(dec, nil)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: more than one JSON value", ErrMalformed)
	}
	return v, nil
}

// readValue reads the value that starts at dec's next token; at is where it
// sits (keys and indexes from the root), for error messages and depth.
func readValue(dec *json.Decoder, at []string) (any, error) {
	tok, err := dec.Token()
	if err == io.EOF {
		if len(at) == 0 {
			return nil, fmt.Errorf("%w: the body is empty", ErrMalformed)
		}
		return nil, fmt.Errorf("%w: unexpected end of the body", ErrMalformed)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if len(at) >= MaxDepth {
		return nil, fmt.Errorf("%w: nested deeper than %d levels at %s", ErrMalformed, MaxDepth, where(at))
	}
	switch d {
	case '{':
		obj := map[string]any{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			key, ok := kt.(string)
			if !ok {
				return nil, fmt.Errorf("%w: object key expected at %s", ErrMalformed, where(at))
			}
			if _, dup := obj[key]; dup {
				return nil, fmt.Errorf("%w: key %s appears twice at %s", ErrMalformed, strconv.Quote(key), where(at))
			}
			v, err := readValue(dec, append(at, escapeKey(key)))
			if err != nil {
				return nil, err
			}
			obj[key] = v
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return obj, nil
	case '[':
		arr := []any{}
		for dec.More() {
			v, err := readValue(dec, append(at, strconv.Itoa(len(arr))))
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		return arr, nil
	}
	// Token never returns a closing delimiter where a value starts.
	return nil, fmt.Errorf("%w: unexpected %q at %s", ErrMalformed, rune(d), where(at))
}

// where names a position in the body as a path, "the top level" for the
// root.
func where(at []string) string {
	if len(at) == 0 {
		return "the top level"
	}
	return strings.Join(at, ".")
}

// A path names a value in a JSON body: keys and array indexes separated by
// dots ("variables.display_name", "result.0.number"). A dot or backslash in
// a key is written with a backslash before it ("variables\.display_name"
// is the one key "variables.display_name"). A segment of digits indexes an
// array, and is a key when the value there is an object.
type path []string

// parsePath splits p into its segments.
func parsePath(p string) (path, error) {
	if p == "" {
		return nil, errors.New("empty path")
	}
	var segs path
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '\\':
			if i+1 == len(p) || (p[i+1] != '.' && p[i+1] != '\\') {
				return nil, fmt.Errorf("path %s: a backslash must come before . or \\", strconv.Quote(p))
			}
			i++
			b.WriteByte(p[i])
		case '.':
			if b.Len() == 0 {
				return nil, fmt.Errorf("path %s has an empty segment", strconv.Quote(p))
			}
			segs = append(segs, b.String())
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return nil, fmt.Errorf("path %s has an empty segment", strconv.Quote(p))
	}
	segs = append(segs, b.String())
	if len(segs) > maxSegments {
		return nil, fmt.Errorf("path %s has more than %d segments", strconv.Quote(p), maxSegments)
	}
	return segs, nil
}

// escapeKey writes key as one path segment.
func escapeKey(key string) string {
	if !strings.ContainsAny(key, `.\`) {
		return key
	}
	return strings.NewReplacer(`\`, `\\`, `.`, `\.`).Replace(key)
}

// lookup returns the value at p in v, and whether every segment was there.
// JSON null counts as absent.
func (p path) lookup(v any) (any, bool) {
	for _, seg := range p {
		switch t := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = t[seg]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(t) || seg != strconv.Itoa(i) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, v != nil
}
