package validate_test

import (
	"strings"
	"testing"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
)

func TestCallbackURLRefusesNonPublicHosts(t *testing.T) {
	tests := []struct {
		name, host, message string
	}{
		// IPv4
		{"loopback", "127.0.0.1", "loopback"},
		{"loopback range", "127.10.20.30", "loopback"},
		{"loopback with port", "127.0.0.1:8443", "loopback"},
		{"RFC 1918 10/8", "10.0.0.5", "private address (RFC 1918)"},
		{"RFC 1918 172.16/12", "172.31.255.1", "private address (RFC 1918)"},
		{"RFC 1918 192.168/16", "192.168.1.1", "private address (RFC 1918)"},
		{"link-local", "169.254.10.1", "link-local"},
		{"cloud metadata", "169.254.169.254", "link-local"},
		{"CGNAT", "100.64.0.1", "carrier-grade NAT"},
		{"CGNAT metadata (Alibaba)", "100.100.100.200", "carrier-grade NAT"},
		{"unspecified", "0.0.0.0", "unspecified"},
		{"this network", "0.1.2.3", "unspecified"},
		{"multicast", "224.0.0.251", "multicast"},
		{"broadcast", "255.255.255.255", "broadcast"},
		{"reserved", "240.0.0.1", "reserved"},
		{"documentation", "192.0.2.10", "documentation"},
		{"benchmarking", "198.18.0.1", "benchmarking"},
		{"IETF protocol assignments", "192.0.0.192", "IETF"},

		// IPv6
		{"IPv6 loopback", "[::1]", "loopback"},
		{"IPv6 loopback with port", "[::1]:8443", "loopback"},
		{"IPv6 unspecified", "[::]", "unspecified"},
		{"IPv6 ULA", "[fd12:3456:789a::1]", "unique local"},
		{"IPv6 ULA metadata (AWS)", "[fd00:ec2::254]", "unique local"},
		{"IPv6 link-local", "[fe80::1]", "link-local"},
		{"IPv6 link-local with zone", "[fe80::1%25eth0]", "zone"},
		{"IPv6 multicast", "[ff02::1]", "multicast"},
		{"IPv6 documentation", "[2001:db8::1]", "documentation"},
		{"IPv6 site-local", "[fec0::1]", "site-local"},

		// IPv4-mapped and embedded IPv4
		{"mapped loopback", "[::ffff:127.0.0.1]", "loopback"},
		{"mapped loopback hex", "[::ffff:7f00:1]", "loopback"},
		{"mapped private", "[::ffff:10.0.0.1]", "private"},
		{"mapped metadata", "[::ffff:169.254.169.254]", "link-local"},
		{"mapped CGNAT", "[::ffff:100.64.0.1]", "carrier-grade NAT"},
		{"mapped unspecified", "[::ffff:0.0.0.0]", "unspecified"},
		{"IPv4-compatible", "[::127.0.0.1]", "IPv4-compatible"},
		{"NAT64 of loopback", "[64:ff9b::127.0.0.1]", "NAT64 address of a loopback"},
		{"6to4 of private", "[2002:c0a8:101::1]", "6to4 address of a private"},

		// numeric spellings that resolvers read as addresses
		{"decimal integer", "2130706433", "numeric"},
		{"hexadecimal", "0x7f000001", "numeric"},
		{"hexadecimal upper", "0X7F000001", "numeric"},
		{"short dotted", "127.1", "numeric"},
		{"octal dotted", "0177.0.0.1", "numeric"},
		{"mixed hex dotted", "0x7f.0.0.1", "numeric"},
		{"trailing dot", "127.0.0.1.", "loopback"},
		{"numeric last label", "hooks.123", "numeric"},

		// names
		{"localhost", "localhost", "single-label"},
		{"localhost trailing dot", "localhost.", "single-label"},
		{"LOCALHOST with port", "LOCALHOST:8443", "single-label"},
		{"under localhost", "evil.localhost", ".localhost"},
		{"GCP metadata", "metadata.google.internal", ".internal"},
		{"GCP metadata upper case", "Metadata.Google.Internal", ".internal"},
		{"metadata", "metadata", "single-label"},
		{"AWS instance-data", "instance-data", "single-label"},
		{"under internal", "ip-10-0-0-1.ec2.internal", ".internal"},
		{"mDNS", "printer.local", ".local"},
		{"single label", "intranet", "single-label"},
		{"home.arpa", "nas.home.arpa", ".home.arpa"},
		{"localdomain", "box.localdomain", ".localdomain"},
		{"not ASCII", "ｌｏｃａｌｈｏｓｔ.com", "xn--"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			r.CallbackURL = "https://" + tt.host + "/raprov/hook?token=s3cr3t-t0ken"
			got, errs := validate.Normalize(r, opts)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), errs)
			}
			e := errs[0]
			if e.Field != "callbackUrl" || e.Reason != events.ReasonInvalidRequest ||
				!strings.HasPrefix(e.Message, "callbackUrl must name a public host") || !strings.Contains(e.Message, tt.message) {
				t.Errorf("got %s %s %q; want callbackUrl invalid_request about a public host, containing %q", e.Field, e.Reason, e.Message, tt.message)
			}
			for _, leak := range []string{"s3cr3t-t0ken", "/raprov/hook", r.CallbackURL} {
				if strings.Contains(e.Message, leak) {
					t.Errorf("message quotes the URL (%q): %s", leak, e.Message)
				}
			}
			if got.CallbackURL != "" {
				t.Errorf("refused callbackUrl kept as %q", got.CallbackURL)
			}
		})
	}
}

func TestCallbackURLAcceptsPublicHosts(t *testing.T) {
	for _, host := range []string{
		"hooks.contoso.com",
		"hooks.contoso.com:8443",
		"HOOKS.Contoso.COM",
		"hooks.contoso.com.",
		"xn--bcher-kva.de",
		"a.b.c.example.org",
		"my-metadata.example.com",    // "metadata" only as a whole name
		"localhost.example.com",      // localhost only as a top-level name
		"hooks.internal.contoso.com", // internal only as a top-level name
		"8.8.8.8",
		"93.184.215.14:443",
		"100.128.0.1", // just past CGNAT
		"172.32.0.1",  // just past 172.16/12
		"[2606:4700:4700::1111]",
		"[2a00:1450:4001:82b::200e]:8443",
		"[::ffff:8.8.8.8]", // mapped public address
		"[64:ff9b::8.8.8.8]",
		"[2002:808:808::1]", // 6to4 of 8.8.8.8
	} {
		r := base()
		r.CallbackURL = "https://" + host + "/hook?x=1"
		got, errs := validate.Normalize(r, opts)
		if len(errs) != 0 || got.CallbackURL != r.CallbackURL {
			t.Errorf("%s: errors %v, callbackUrl %q", host, errs, got.CallbackURL)
		}
	}
}

func TestCallbackAllowedHosts(t *testing.T) {
	o := opts
	o.CallbackAllowedHosts = []string{"hooks.contoso.com", " *.Fabrikam.NET. "}
	tests := []struct {
		host string
		ok   bool
	}{
		{"hooks.contoso.com", true},
		{"HOOKS.contoso.com:8443", true},
		{"voice.fabrikam.net", true},
		{"a.b.fabrikam.net", true},
		{"fabrikam.net", false}, // *.fabrikam.net is names under it only
		{"evilfabrikam.net", false},
		{"contoso.com", false},
		{"hooks.contoso.com.evil.net", false},
		{"8.8.8.8", false},
	}
	for _, tt := range tests {
		r := base()
		r.CallbackURL = "https://" + tt.host + "/hook?token=s3cr3t"
		got, errs := validate.Normalize(r, o)
		if tt.ok {
			if len(errs) != 0 || got.CallbackURL == "" {
				t.Errorf("%s: errors %v", tt.host, errs)
			}
			continue
		}
		if len(errs) != 1 || errs[0].Field != "callbackUrl" || errs[0].Reason != events.ReasonInvalidRequest ||
			!strings.Contains(errs[0].Message, "not one of the hosts allowed") || strings.Contains(errs[0].Message, "s3cr3t") {
			t.Errorf("%s: errors %v", tt.host, errs)
		}
	}

	// The list narrows the public-host rule; it never widens it.
	o.CallbackAllowedHosts = []string{"localhost", "127.0.0.1", "*.internal"}
	for _, host := range []string{"localhost", "127.0.0.1", "metadata.google.internal"} {
		r := base()
		r.CallbackURL = "https://" + host + "/hook"
		if _, errs := validate.Normalize(r, o); len(errs) != 1 || !strings.Contains(errs[0].Message, "public host") {
			t.Errorf("allow-listed %s: errors %v", host, errs)
		}
	}
}
