package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
)

// maxMappingFile bounds a mapping file; a real one is a few KiB.
const maxMappingFile = 1 << 20

// file is a mapping file: an optional built-in to start from, and fields
// that change it.
type file struct {
	Base   string                `json:"base"`
	Name   string                `json:"name"`
	Fields map[string]fieldPatch `json:"fields"`
}

// fieldPatch is a Field in a mapping file. Pointers tell an attribute that
// is set (even to "" or false) from one that is left out.
type fieldPatch struct {
	Path     *string           `json:"path"`
	Fallback *[]string         `json:"fallback"`
	Const    *string           `json:"const"`
	Default  *string           `json:"default"`
	Values   map[string]string `json:"values"`
	Convert  *string           `json:"convert"`
	Prefix   *string           `json:"prefix"`
	Required *bool             `json:"required"`
}

// LoadMapping reads a mapping file (JSON, at most 1 MiB) and returns the
// mapping it describes, checked (Check).
//
// With "base" ("servicenow" or "workday") the file changes that built-in
// mapping: each attribute given for a field replaces the built-in's
// ("path": "variables.u_upn" renames a catalog variable and keeps the
// field's value map; a "const" also drops the built-in's paths); "values" entries are added to the built-in's, and
// an entry whose value is "" removes the built-in's entry for that key.
// Without "base", the file is the whole mapping. "name" defaults to the
// base's name.
//
//	{
//	  "base": "servicenow",
//	  "fields": {
//	    "userPrincipalName": {"path": "variables.u_resource_upn"},
//	    "accountType": {"values": {"ivr": "autoAttendant"}}
//	  }
//	}
//
// Unknown keys, at the top level, among the fields (which are named as in
// the request's JSON) or in a field, are errors: a misspelt field would
// otherwise be silently unmapped.
func LoadMapping(r io.Reader) (Mapping, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxMappingFile+1))
	if err != nil {
		return Mapping{}, fmt.Errorf("mapping file: %w", err)
	}
	if len(b) > maxMappingFile {
		return Mapping{}, errors.New("mapping file: larger than 1 MiB")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return Mapping{}, fmt.Errorf("mapping file: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Mapping{}, errors.New("mapping file: more than one JSON value")
	}
	var m Mapping
	if f.Base != "" {
		var ok bool
		if m, ok = Builtin(f.Base); !ok {
			return Mapping{}, fmt.Errorf("mapping file: unknown base %s (known: %s, %s)",
				strconv.Quote(f.Base), NameServiceNow, NameWorkday)
		}
	}
	if f.Name != "" {
		m.Name = f.Name
	}
	fields := map[string]*Field{}
	for _, nf := range m.Fields.named() {
		fields[nf.name] = nf.field
	}
	for name, p := range f.Fields {
		dst, ok := fields[name]
		if !ok {
			return Mapping{}, fmt.Errorf("mapping file: unknown field %s (fields are named as in a request: requestId, displayName, userPrincipalName, accountType, usageLocation, phoneNumber, numberType, associateWith, callbackUrl, adopt)", strconv.Quote(name))
		}
		if err := p.apply(dst); err != nil {
			return Mapping{}, fmt.Errorf("mapping file: %s: %w", name, err)
		}
	}
	if err := m.Check(); err != nil {
		return Mapping{}, fmt.Errorf("mapping file: %w", err)
	}
	return m, nil
}

// apply sets the attributes p gives on f.
func (p fieldPatch) apply(f *Field) error {
	if len(foldKeys(p.Values)) != len(p.Values) {
		return errors.New("values has keys that differ only in case or spaces")
	}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	if p.Const != nil && *p.Const != "" && p.Path == nil {
		// A constant replaces the paths it would clash with.
		f.Path, f.Fallback = "", nil
	}
	set(&f.Path, p.Path)
	set(&f.Const, p.Const)
	set(&f.Default, p.Default)
	set(&f.Convert, p.Convert)
	set(&f.Prefix, p.Prefix)
	if p.Fallback != nil {
		f.Fallback = *p.Fallback
	}
	if p.Required != nil {
		f.Required = *p.Required
	}
	if p.Values != nil {
		f.Values = maps.Clone(f.Values)
		if f.Values == nil {
			f.Values = map[string]string{}
		}
		for k, v := range p.Values {
			// Drop the entries the file's key folds to, so that "AA"
			// replaces the built-in "aa" instead of clashing with it.
			for old := range f.Values {
				if fold(old) == fold(k) {
					delete(f.Values, old)
				}
			}
			if v != "" {
				f.Values[k] = v
			}
		}
		if len(f.Values) == 0 {
			f.Values = nil
		}
	}
	return nil
}
