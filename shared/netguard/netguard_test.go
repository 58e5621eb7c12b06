package netguard_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/raprov/raprov/shared/netguard"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr string
		what string // "" = public
	}{
		{"8.8.8.8", ""},
		{"93.184.215.14", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.169.0.1", ""},
		{"223.255.255.255", ""},
		{"2606:4700:4700::1111", ""},
		{"2a00:1450:4001:82b::200e", ""},
		{"::ffff:8.8.8.8", ""},
		{"64:ff9b::808:808", ""},
		{"2002:808:808::1", ""},

		{"0.0.0.0", "unspecified"},
		{"0.255.255.255", "unspecified"},
		{"10.255.255.255", "private"},
		{"100.64.0.0", "carrier-grade NAT"},
		{"100.127.255.255", "carrier-grade NAT"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"169.254.169.254", "link-local"},
		{"172.16.0.0", "private"},
		{"172.31.255.255", "private"},
		{"192.0.0.192", "IETF"},
		{"192.0.2.1", "documentation"},
		{"192.88.99.1", "6to4 relay"},
		{"192.168.255.255", "private"},
		{"198.19.255.255", "benchmarking"},
		{"198.51.100.1", "documentation"},
		{"203.0.113.1", "documentation"},
		{"224.0.0.1", "multicast"},
		{"239.255.255.250", "multicast"},
		{"240.0.0.1", "reserved"},
		{"255.255.255.255", "broadcast"},

		{"::", "unspecified"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:169.254.169.254", "link-local"},
		{"::ffff:192.168.0.1", "private"},
		{"::ffff:100.64.0.1", "carrier-grade NAT"},
		{"::ffff:0.0.0.0", "unspecified"},
		{"::ffff:255.255.255.255", "broadcast"},
		{"::10.0.0.1", "IPv4-compatible"},
		{"::ffff:0:7f00:1", "not global unicast"},
		{"64:ff9b::7f00:1", "NAT64 address of a loopback"},
		{"64:ff9b:1::1", "local-use NAT64"},
		{"2002:7f00:1::", "6to4 address of a loopback"},
		{"2002:a9fe:a9fe::1", "6to4 address of a link-local"},
		{"100::1", "discard"},
		{"2001::1", "IETF"},
		{"2001:db8::1", "documentation"},
		{"3fff::1", "documentation"},
		{"fc00::1", "unique local"},
		{"fd00:ec2::254", "unique local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "zone"},
		{"fec0::1", "site-local"},
		{"ff02::1", "multicast"},
		{"4000::1", "not global unicast"},
	}
	for _, tt := range tests {
		err := netguard.CheckAddr(netip.MustParseAddr(tt.addr))
		var r *netguard.Refusal
		switch {
		case tt.what == "" && err != nil:
			t.Errorf("%s: %v, want public", tt.addr, err)
		case tt.what != "" && (!errors.As(err, &r) || !strings.Contains(r.What, tt.what)):
			t.Errorf("%s: %v, want a refusal saying %q", tt.addr, err, tt.what)
		}
	}
	if netguard.CheckAddr(netip.Addr{}) == nil {
		t.Error("the zero Addr is public")
	}
}

func TestCheckHost(t *testing.T) {
	tests := []struct {
		host string
		what string // "" = may be public
	}{
		{"hooks.contoso.com", ""},
		{"HOOKS.CONTOSO.COM.", ""},
		{"xn--bcher-kva.de", ""},
		{"8.8.8.8", ""},
		{"2606:4700:4700::1111", ""},
		{"localhost.contoso.com", ""},
		{"metadata.contoso.com", ""},
		{"hooks.0x1.com", ""},
		{"a1.b2", ""},

		{"", "empty"},
		{".", "empty"},
		{"127.0.0.1", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"fe80::1%eth0", "zone"},
		{"2130706433", "numeric"},
		{"0x7f000001", "numeric"},
		{"0x7F.1", "numeric"},
		{"127.1", "numeric"},
		{"127.0.1", "numeric"},
		{"0177.0.0.1", "numeric"},
		{"010.0.0.1", "numeric"},
		{"127.0.0.0x1", "numeric"},
		{"1.2.3.4.5", "numeric"},
		{"hooks.123", "numeric"},
		{"0x", "numeric"},
		{"localhost", "single-label"},
		{"LocalHost.", "single-label"},
		{"metadata", "single-label"},
		{"instance-data", "single-label"},
		{"a.localhost", ".localhost"},
		{"metadata.google.internal", ".internal"},
		{"instance-data.ec2.internal", ".internal"},
		{"printer.local", ".local"},
		{"kubernetes.default.svc.cluster.local", ".local"},
		{"nas.home.arpa", ".home.arpa"},
		{"x.test", ".test"},
		{"x.invalid", ".invalid"},
		{"host.localdomain", ".localdomain"},
		{"host.lan", ".lan"},
		{"host.corp", ".corp"},
		{"bücher.de", "not ASCII"},
		{"ｌｏｃａｌｈｏｓｔ", "not ASCII"},
	}
	for _, tt := range tests {
		err := netguard.CheckHost(tt.host)
		var r *netguard.Refusal
		switch {
		case tt.what == "" && err != nil:
			t.Errorf("%q: %v, want accepted", tt.host, err)
		case tt.what != "" && (!errors.As(err, &r) || !strings.Contains(r.What, tt.what)):
			t.Errorf("%q: %v, want a refusal saying %q", tt.host, err, tt.what)
		}
	}
}

func TestHostList(t *testing.T) {
	l, err := netguard.ParseHostList(" hooks.contoso.com , *.Fabrikam.NET.,,EXACT.example.org ")
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 3 {
		t.Fatalf("parsed %q", l)
	}
	tests := []struct {
		host string
		ok   bool
	}{
		{"hooks.contoso.com", true},
		{"HOOKS.contoso.com.", true},
		{"exact.example.org", true},
		{"voice.fabrikam.net", true},
		{"a.b.fabrikam.net", true},
		{"fabrikam.net", false},
		{"evilfabrikam.net", false},
		{"contoso.com", false},
		{"x.hooks.contoso.com", false},
		{"hooks.contoso.com.evil.net", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := l.Allows(tt.host); got != tt.ok {
			t.Errorf("Allows(%q) = %t, want %t", tt.host, got, tt.ok)
		}
	}
	if !netguard.HostList(nil).Allows("anything.example") {
		t.Error("an empty list refuses hosts")
	}
	for _, bad := range []string{"*", "*.", "**.contoso.com", "hooks.*.com", "https://hooks.contoso.com", "hooks.contoso.com:443",
		"user@hooks.contoso.com", ".contoso.com", "a..b", "hooks.contoso.com/x"} {
		if _, err := netguard.ParseHostList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
