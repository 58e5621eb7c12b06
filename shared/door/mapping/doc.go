// Package mapping turns the JSON that real senders post — a ServiceNow
// catalog request, a Workday business-process event — into a provisioning
// request (events.Request), as a Mapping says.
//
// It only reads: Apply returns the request as the sender gave it, and
// intake validates and normalises it like any other (events/validate).
// So this package does not link the phone number library, and a sender's
// value that a mapping does not translate ("Auto attendant" without a
// value map entry) reaches intake as it is and fails there with the
// request field's name and reason.
//
// # Mappings
//
// A Mapping has one Field per request field: the path of the value in
// the sender's body, fallback paths, or a constant; a default; a value
// map (the sender's choice values or labels to the request's values,
// matched ignoring case and surrounding spaces); a conversion
// (iso3166Alpha3: "DEU" → "DE"); a prefix; and whether the field is
// required. The request id must come from the sender's own stable id —
// ServiceNow's requested item number, Workday's event id — so that a
// resend is the same request (DESIGN §1: same id, same request).
//
// ServiceNow and Workday return the built-in mappings; docs/senders.md
// describes them field by field, with what is the sender's documented
// shape and what is an assumption. LoadMapping reads a JSON file that
// changes a built-in mapping (a renamed catalog variable, another choice
// value) or defines a whole new one, so that an admin adapts a sender
// without code.
//
// # Paths
//
// A path names a value by keys and array indexes separated by dots:
// "variables.display_name", "result.0.number". A key that holds a dot or
// backslash writes it with a backslash before it: "variables\.display_name"
// is the single key "variables.display_name". A segment of digits indexes
// an array and is a key in an object. A value that is absent, JSON null or
// blank is missing; a number or boolean is taken as its JSON text; an
// object or array is an error (ErrNotText), so a ServiceNow reference
// field must be addressed down to its "value" or "display_value".
//
// # Limits
//
// A body larger than MaxBody (1 MiB) is refused with ErrTooLarge before it
// is parsed; a body that is not one JSON value, nests deeper than MaxDepth or
// repeats a key within one object is refused with ErrMalformed (a signed
// body must mean one thing to every reader). Keys that a mapping does not
// name are ignored.
package mapping
