package callback

import "testing"

// checkDialled is the net.Dialer's last word on the socket's address.
func TestCheckDialled(t *testing.T) {
	tests := []struct {
		address string
		ok      bool
	}{
		{"93.184.215.14:443", true},
		{"[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443", true},
		{"127.0.0.1:443", false},
		{"[::1]:443", false},
		{"[::ffff:10.0.0.1]:443", false},
		{"169.254.169.254:80", false},
		{"[fe80::1%eth0]:443", false},
		{"not-an-address", false},
	}
	for _, tt := range tests {
		if err := checkDialled("tcp", tt.address, nil); (err == nil) != tt.ok {
			t.Errorf("checkDialled(%s) = %v, want ok %t", tt.address, err, tt.ok)
		}
	}
}
