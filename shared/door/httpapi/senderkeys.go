package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// setSenderKeys checks Options.SenderKeys against the senders and the
// general keys, and builds the key set of each sender's route: the general
// keys, then the sender's own. Its errors name the sender and the key's
// position, never the key.
func (h *handler) setSenderKeys(byName map[string][]string, general []string) error {
	h.senderKeys = make(map[string][][]byte, len(h.senders))
	for name := range h.senders {
		h.senderKeys[name] = h.keys
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		keys := byName[name]
		if h.senders[name] == nil {
			return fmt.Errorf("httpapi: sender keys for %q, which is not a sender (POST /senders/{name})", name)
		}
		switch {
		case len(keys) == 0:
			return fmt.Errorf("httpapi: sender %s: no key given", name)
		case len(keys) > MaxKeys:
			return fmt.Errorf("httpapi: sender %s: %d keys given; at most %d may be active (the current and the previous one)", name, len(keys), MaxKeys)
		}
		set := slices.Clone(h.keys)
		for i, k := range keys {
			switch {
			case len(k) < MinKeyLen:
				return fmt.Errorf("httpapi: sender %s: key %d is %d bytes; at least %d are required", name, i+1, len(k), MinKeyLen)
			case slices.Contains(general, k):
				return fmt.Errorf("httpapi: sender %s: key %d is also a general key; a sender's key must be its own", name, i+1)
			}
			for other, ks := range byName {
				if other != name && slices.Contains(ks, k) {
					return fmt.Errorf("httpapi: sender %s: key %d is also a key of the sender %s; each sender's key must be its own", name, i+1, other)
				}
			}
			set = append(set, []byte(k))
		}
		h.senderKeys[name] = set
	}
	return nil
}

// ParseSenderKeys reads Options.SenderKeys from its configured form
// (RAPROV_SENDER_KEYS, or the AWS secret RAPROV_SENDER_KEYS_ARN names): a
// JSON object from sender name to its key, or to an array of one or two
// keys, e.g. {"servicenow": ["<current>", "<previous>"], "workday": "<key>"}.
// Empty text is no sender keys. Its errors never quote a key.
func ParseSenderKeys(value string) (map[string][]string, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(value), &raw); err != nil {
		return nil, errors.New(`sender keys: not a JSON object of sender name to key or keys, e.g. {"servicenow": ["<key>"]}`)
	}
	out := make(map[string][]string, len(raw))
	for name, v := range raw {
		var one string
		if err := json.Unmarshal(v, &one); err == nil {
			out[name] = []string{one}
			continue
		}
		var many []string
		if err := json.Unmarshal(v, &many); err != nil {
			return nil, fmt.Errorf("sender keys: %q: not a key nor an array of keys", name)
		}
		out[name] = many
	}
	return out, nil
}
