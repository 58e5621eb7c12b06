package httpapi

import (
	"errors"

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
