package events

// ValidTraceParent reports whether s is a W3C Trace Context traceparent
// header value (https://www.w3.org/TR/trace-context/#traceparent-header):
// version-traceid-parentid-flags in lower-case hex, with a non-zero trace
// and parent id. Version ff is invalid; version 00 has exactly these four
// fields, and later versions may append "-" and more, as the specification
// asks parsers to accept.
func ValidTraceParent(s string) bool {
	const v0Len = 2 + 1 + 32 + 1 + 16 + 1 + 2 // 55
	if len(s) < v0Len || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return false
	}
	version, traceID, parentID, flags := s[0:2], s[3:35], s[36:52], s[53:55]
	if !isLowerHex(version) || version == "ff" || !isLowerHex(flags) ||
		!isLowerHex(traceID) || allZero(traceID) ||
		!isLowerHex(parentID) || allZero(parentID) {
		return false
	}
	if version == "00" {
		return len(s) == v0Len
	}
	return len(s) == v0Len || s[v0Len] == '-'
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func allZero(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
