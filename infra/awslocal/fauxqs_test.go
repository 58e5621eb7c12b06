//go:build unix

package awslocal_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/infra/awslocal"
)

// call makes one SQS JSON-protocol request.
func sqsCall(t *testing.T, endpoint, action string, in any) map[string]any {
	t.Helper()
	body, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s: decode: %v", action, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s: %v", action, resp.Status, out)
	}
	return out
}

func TestSQSServesLoopbackOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := awslocal.StartSQS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("endpoint %q, want http://127.0.0.1:<port>", s.Endpoint)
	}
	port, _ := strconv.Atoi(u.Port())
	if addrs := sqsListeners(t, port); len(addrs) == 0 {
		t.Logf("no /proc/net listing; bind address not checked")
	} else {
		for _, a := range addrs {
			if a != "0100007F" {
				t.Errorf("port %d is bound on %s (hex), want 127.0.0.1 only", port, a)
			}
		}
	}

	q := sqsCall(t, s.Endpoint, "CreateQueue", map[string]any{"QueueName": "awslocal-smoke"})
	qurl, _ := q["QueueUrl"].(string)
	if !strings.HasSuffix(qurl, "/awslocal-smoke") {
		t.Fatalf("queue url %q", qurl)
	}
	sqsCall(t, s.Endpoint, "SendMessage", map[string]any{
		"QueueUrl": qurl, "MessageBody": "hello",
		"MessageAttributes": map[string]any{"reason": map[string]any{"DataType": "String", "StringValue": "why"}},
	})
	got := sqsCall(t, s.Endpoint, "ReceiveMessage", map[string]any{
		"QueueUrl": qurl, "MessageAttributeNames": []string{"All"}, "MessageSystemAttributeNames": []string{"ApproximateReceiveCount"},
	})
	msgs, _ := got["Messages"].([]any)
	if len(msgs) != 1 {
		t.Fatalf("received %v", got)
	}
	m := msgs[0].(map[string]any)
	if m["Body"] != "hello" || fmt.Sprint(m["Attributes"]) != "map[ApproximateReceiveCount:1]" ||
		!strings.Contains(fmt.Sprint(m["MessageAttributes"]), "why") {
		t.Fatalf("message %v", m)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !s.Exited() {
		t.Fatal("still running after Close")
	}
	if _, err := http.Get(s.Endpoint + "/health"); err == nil {
		t.Fatal("still serving after Close")
	}
}

func TestSharedSQSIsStartedOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, err := awslocal.SharedSQS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := awslocal.SharedSQS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("two emulators: %s and %s", a.Endpoint, b.Endpoint)
	}
	resp, err := http.Get(a.Endpoint + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health: %s", resp.Status)
	}
}

// listeners returns the local addresses (hex, as /proc/net/tcp* write
// them) of the sockets listening on port.
func sqsListeners(t *testing.T, port int) []string {
	t.Helper()
	var out []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "0A" { // TCP_LISTEN
				continue
			}
			addr, p, ok := strings.Cut(fields[1], ":")
			if n, err := strconv.ParseInt(p, 16, 32); ok && err == nil && int(n) == port {
				out = append(out, addr)
			}
		}
	}
	return out
}
