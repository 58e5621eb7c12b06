package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/mapping"
)

// MappingSender reads a sender's payloads with the mapping m
// (shared/door/mapping): a payload whose fields do not map answers 400 with
// each field (mapping.Error's field errors), an unreadable one 400
// malformed.
func MappingSender(m mapping.Mapping) Sender {
	return func(body []byte) (events.Request, []events.FieldError, error) {
		req, err := mapping.Apply(m, body)
		var me *mapping.Error
		if errors.As(err, &me) {
			return events.Request{}, me.FieldErrors(), nil
		}
		return req, nil, err
	}
}

// BuiltinSenders are the senders of the built-in mappings by route name,
// POST /senders/servicenow and POST /senders/workday (mapping.ServiceNow,
// mapping.Workday), as every host of the door serves them (raprov serve,
// the intake function's URL).
func BuiltinSenders() map[string]Sender {
	out := map[string]Sender{}
	for _, m := range []mapping.Mapping{mapping.ServiceNow(), mapping.Workday()} {
		out[m.Name] = MappingSender(m)
	}
	return out
}

// senderName is what a mapping's name must look like to be a route:
// POST /senders/{name}.
var senderName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// MappingFile is one mapping override: where it came from (a path, an S3
// URI), named in errors, and its content.
type MappingFile struct {
	Source string
	Body   []byte
}

// SendersWith returns BuiltinSenders with the mapping files at paths
// loaded over them (RAPROV_SENDER_MAPPINGS), as SendersFrom does. A file
// that cannot be read is an error naming it.
func SendersWith(paths []string) (map[string]Sender, error) {
	files := make([]MappingFile, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("sender mapping %s: %w", p, err)
		}
		files = append(files, MappingFile{Source: p, Body: b})
	}
	return SendersFrom(files)
}

// SendersFrom returns BuiltinSenders with the mapping files loaded over
// them (mapping.LoadMapping): each file's mapping is served at POST
// /senders/{its name}, so an override named as a built-in one (its "base",
// when it names none) replaces it and any other name adds a sender. A file
// that cannot be loaded, a name that is not a route, or two files with one
// name is an error naming the file's source, so a deployment never starts
// with a mapping it did not mean.
func SendersFrom(files []MappingFile) (map[string]Sender, error) {
	out := BuiltinSenders()
	seen := map[string]string{}
	for _, f := range files {
		m, err := mapping.LoadMapping(bytes.NewReader(f.Body))
		if err != nil {
			return nil, fmt.Errorf("sender mapping %s: %w", f.Source, err)
		}
		if !senderName.MatchString(m.Name) {
			return nil, fmt.Errorf("sender mapping %s: name %q is not a route name (lower-case letters, digits and -, at most 64)", f.Source, m.Name)
		}
		if first, ok := seen[m.Name]; ok {
			return nil, fmt.Errorf("sender mapping %s: %s names the sender %q too", f.Source, first, m.Name)
		}
		seen[m.Name] = f.Source
		out[m.Name] = MappingSender(m)
	}
	return out, nil
}
