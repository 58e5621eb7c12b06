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

// S3 on the shared emulator honours the conditional headers of writes
// (added by the launcher: fauxqs itself ignores them).
func TestS3ConditionalWrites(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := awslocal.SharedSQS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bucket := fmt.Sprintf("awslocal-cond-%d", time.Now().UnixNano())
	do := func(method, path, body string, hdr ...string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, s.Endpoint+"/"+bucket+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("ETag")
	}
	if code, _ := do("PUT", "", ""); code != http.StatusOK {
		t.Fatalf("create bucket: %d", code)
	}
	code, etag := do("PUT", "/k", "one", "If-None-Match", "*")
	if code != http.StatusOK || etag == "" {
		t.Fatalf("create-only put of a new key: %d, ETag %q", code, etag)
	}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		hdr    []string
		want   int
	}{
		{"create-only put of an existing key", "PUT", "/k", []string{"If-None-Match", "*"}, 412},
		{"put if another ETag", "PUT", "/k", []string{"If-Match", `"0000"`}, 412},
		{"put if an ETag, no key", "PUT", "/none", []string{"If-Match", etag}, 404},
		{"copy if the source has another ETag", "PUT", "/copy", []string{"x-amz-copy-source", bucket + "/k", "x-amz-copy-source-if-match", `"0000"`}, 412},
		{"create-only copy onto an existing key", "PUT", "/k", []string{"x-amz-copy-source", bucket + "/k", "If-None-Match", "*"}, 412},
		{"delete if another ETag", "DELETE", "/k", []string{"If-Match", `"0000"`}, 412},
		{"copy if the source's ETag", "PUT", "/copy", []string{"x-amz-copy-source", bucket + "/k", "x-amz-copy-source-if-match", etag}, 200},
		{"put if its ETag", "PUT", "/k", []string{"If-Match", etag}, 200},
		{"unconditional put", "PUT", "/k", nil, 200},
		{"delete if its ETag", "DELETE", "/copy", []string{"If-Match", etag}, 204},
	} {
		if code, _ := do(tc.method, tc.path, "two", tc.hdr...); code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, code, tc.want)
		}
	}
}
