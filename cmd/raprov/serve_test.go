package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/door/httpapi"
)

// serve answers its doors on loopback: a signed request and a ServiceNow
// catalog request are provisioned against the in-process simulator and
// their status is served; an unsigned one is refused.
func TestServeDoors(t *testing.T) {
	const key = "serve-test-key-0123456789abcdef0123"
	dir := t.TempDir()
	t.Setenv("RAPROV_DB", filepath.Join(dir, "raprov.db"))
	t.Setenv("RAPROV_LOG_FILE", filepath.Join(dir, "raprov.log"))
	t.Setenv("RAPROV_INTAKE_KEYS", key)
	cmd := newServeCmd()
	pr, pw := io.Pipe()
	cmd.SetOut(pw)
	cmd.SetErr(pw)
	watch := filepath.Join(dir, "drop")
	if err := os.MkdirAll(watch, 0o755); err != nil {
		t.Fatal(err)
	}
	bulk := "displayName,userPrincipalName,accountType,usageLocation\n" +
		"Bulk one,ra-bulk-1@contoso.com,AA,US\n" +
		"Bulk two,ra-bulk-2@contoso.com,CQ,US\n" +
		"Bulk bad,ra-bulk-3@contoso.com,XX,US\n"
	if err := os.WriteFile(filepath.Join(watch, "lines.csv"), []byte(bulk), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--watch", watch, "--watch-interval", "200ms"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx); pw.Close() }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	addr := regexp.MustCompile(`serving on (http://\S+)`)
	var base string
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		if m := addr.FindStringSubmatch(sc.Text()); m != nil {
			base = m[1]
			break
		}
	}
	if base == "" {
		t.Fatal("serve printed no address")
	}
	go io.Copy(io.Discard, pr)

	call := func(method, path string, body []byte, signed bool) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if signed && method == http.MethodGet {
			req.Header.Set(httpapi.SignatureHeader, httpapi.SignGet(key, time.Now(), path))
		} else if signed {
			req.Header.Set(httpapi.SignatureHeader, httpapi.Sign(key, time.Now(), body))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	plain := []byte(`{"requestId":"HTTP-1","displayName":"Front desk","userPrincipalName":"ra-frontdesk@contoso.com","accountType":"AA","usageLocation":"US"}`)
	if code, b := call(http.MethodPost, "/requests", plain, false); code != http.StatusUnauthorized {
		t.Fatalf("unsigned POST: %d %s", code, b)
	}
	if code, b := call(http.MethodPost, "/requests", plain, true); code != http.StatusAccepted {
		t.Fatalf("signed POST: %d %s", code, b)
	}
	sn, err := os.ReadFile("../../examples/senders/servicenow-aa.json")
	if err != nil {
		t.Fatal(err)
	}
	if code, b := call(http.MethodPost, "/senders/servicenow", sn, true); code != http.StatusAccepted || !strings.Contains(string(b), "servicenow-RITM0010023") {
		t.Fatalf("ServiceNow POST: %d %s", code, b)
	}

	outcome := func(id string) string {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			code, b := call(http.MethodGet, "/requests/"+id, nil, true)
			var st struct {
				Outcome string `json:"outcome"`
				Reason  string `json:"reason"`
			}
			if code == http.StatusOK && json.Unmarshal(b, &st) == nil && st.Outcome != "in_progress" {
				return st.Outcome + " " + st.Reason
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("%s has no outcome", id)
		return ""
	}
	if got := outcome("HTTP-1"); got != "completed " {
		t.Errorf("HTTP-1: %q, want completed", got)
	}
	if got := outcome("servicenow-RITM0010023"); got != "completed " {
		t.Errorf("servicenow-RITM0010023: %q, want completed", got)
	}

	// The status page shares the server: an operator logs in with the key
	// and sees the request and its timeline; the API's JSON is unchanged.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.PostForm(base+"/login", url.Values{"key": {key}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for path, want := range map[string]string{"/": "HTTP-1", "/requests/HTTP-1/view": "account.created"} {
		resp, err := browser.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), want) {
			t.Errorf("GET %s: %d, want a page naming %s:\n%.400s", path, resp.StatusCode, want, page)
		}
	}
	if code, b := call(http.MethodGet, "/requests/HTTP-1", nil, true); code != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(string(b)), "{") {
		t.Errorf("API GET next to the page: %d %.200s", code, b)
	}

	// The bulk file was provisioned and moved aside with its report.
	report := filepath.Join(watch, "processed", "lines.csv.report.csv")
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := os.ReadFile(report)
		if err == nil {
			text := string(b)
			if strings.Count(text, ",completed,") != 2 || !strings.Contains(text, "ra-bulk-3@contoso.com") {
				t.Fatalf("report:\n%s", text)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no report at %s: %v", report, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(watch, "processed", "lines.csv")); err != nil {
		t.Errorf("the file was not moved to processed/: %v", err)
	}
}
