//go:build unix

package awslocal_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/awslocal"
)

func TestStartDynamoDB(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	d, err := awslocal.StartDynamoDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	t.Logf("DynamoDB Local answered at %s after %v", d.Endpoint, time.Since(start).Round(time.Millisecond))

	u, err := url.Parse(d.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Fatalf("Endpoint = %q, want http://127.0.0.1:<port>", d.Endpoint)
	}
	if got := dynamoDBListTables(t, d.Endpoint); !strings.Contains(got, `"TableNames"`) {
		t.Errorf("ListTables answered %q, want a table list", got)
	}

	// Loopback only: the port is closed on every other address of the machine.
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok || ipnet.IP.IsLoopback() || ipnet.IP.IsLinkLocalUnicast() {
			continue
		}
		addr := net.JoinHostPort(ipnet.IP.String(), u.Port())
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			t.Errorf("DynamoDB Local accepts connections on %s; want 127.0.0.1 only", addr)
		}
	}

	if err := d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Close", u.Host)
	}
}

func TestSharedDynamoDB(t *testing.T) {
	ctx := context.Background()
	a, err := awslocal.SharedDynamoDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := awslocal.SharedDynamoDB(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("SharedDynamoDB returned two servers: %s and %s", a.Endpoint, b.Endpoint)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := dynamoDBListTables(t, b.Endpoint); !strings.Contains(got, `"TableNames"`) {
		t.Errorf("after Close of the shared server, ListTables answered %q; want it still serving", got)
	}
}

// dynamoDBListTables calls DynamoDB's ListTables at endpoint and returns the body.
// DynamoDB Local checks that a signature is present, not that it is valid.
func dynamoDBListTables(t *testing.T, endpoint string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("ListTables: %s\n%s", resp.Status, body)
	}
	return string(body)
}
