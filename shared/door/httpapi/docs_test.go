package httpapi_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/shared/door/httpapi"
)

func readDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "http.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section returns the part of doc from the heading to the next heading of
// the same level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/http.md has no %q", heading)
	}
	level := heading[:strings.Index(heading, " ")+1]
	if i := strings.Index(rest, "\n"+level); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// codeBlocks returns the fenced blocks of language lang in s.
func codeBlocks(s, lang string) []string {
	var out []string
	for {
		_, rest, ok := strings.Cut(s, "```"+lang+"\n")
		if !ok {
			return out
		}
		block, after, _ := strings.Cut(rest, "```")
		out = append(out, block)
		s = after
	}
}

// TestDocumentedScripts runs the openssl and curl scripts of docs/http.md
// against a door on loopback.
func TestDocumentedScripts(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "openssl", "sed", "date"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	auth := section(t, readDoc(t), "## Authentication")
	jsons, scripts := codeBlocks(auth, "json"), codeBlocks(auth, "sh")
	if len(jsons) != 1 || len(scripts) != 2 {
		t.Fatalf("docs/http.md Authentication: %d json and %d sh blocks, want 1 and 2", len(jsons), len(scripts))
	}
	const key = "0f3c5d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"
	e := newEnv(t, func(o *httpapi.Options) { o.Keys = []string{key}; o.Now = time.Now })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "request.json"), []byte(jsons[0]), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(script string) map[string]any {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "sh", "-eu", "-c", script)
		cmd.Dir = dir
		// No proxy variables: the door is on loopback.
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "RAPROV_URL=" + e.srv.URL, "RAPROV_HMAC_KEY=" + key}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("script failed: %v\n%s\n%s", err, script, out)
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("script printed %s", out)
		}
		return v
	}
	if got := run(scripts[0]); got["requestId"] != "INC0012345" || got["status"] != "/requests/INC0012345" {
		t.Errorf("POST script answered %v", got)
	}
	if got := run(scripts[1]); got["requestId"] != "INC0012345" || got["outcome"] != "in_progress" {
		t.Errorf("GET script answered %v", got)
	}
	if n := len(e.sub.sent()); n != 1 {
		t.Errorf("%d requests submitted, want 1", n)
	}
}

func TestDocumentedExampleSignatures(t *testing.T) {
	doc := readDoc(t)
	key := "example-key-at-least-32-bytes-long!"
	body := strings.TrimSpace(codeBlocks(section(t, doc, "## Authentication"), "json")[0])
	at := time.Unix(1795597200, 0)
	del := httpapi.SignDelete(key, at, "/requests/INC0012345", []byte(`{"userPrincipalName":"ra-mainline@contoso.com"}`))
	for _, sig := range []string{httpapi.Sign(key, at, []byte(body)), httpapi.SignGet(key, at, "/requests/INC0012345"), del} {
		if !strings.Contains(doc, "`"+sig+"`") {
			t.Errorf("docs/http.md does not show the signature %s", sig)
		}
	}
}

func TestDocumentedReasons(t *testing.T) {
	doc := readDoc(t)
	for _, r := range []string{
		httpapi.ReasonUnauthenticated, httpapi.ReasonNotFound, httpapi.ReasonMethodNotAllowed, httpapi.ReasonTooLarge,
		httpapi.ReasonUnsupportedType, httpapi.ReasonBadFilter, httpapi.ReasonUnavailable, httpapi.ReasonInternal,
		string(httpapi.Sent), string(httpapi.Duplicate), string(httpapi.Conflict),
		httpapi.ReasonNotProvisioning, httpapi.ReasonInProgress, httpapi.ReasonNothingToRemove, httpapi.ReasonAccountUnknown, httpapi.ReasonDryRunUnavailable,
		httpapi.VerdictCreate, httpapi.VerdictContinue, httpapi.VerdictAdopt, httpapi.VerdictFail,
	} {
		if !strings.Contains(doc, "`"+r+"`") {
			t.Errorf("docs/http.md does not document %s", r)
		}
	}
}

// TestDocumentedDeleteScript runs the DELETE script of docs/http.md
// against a door on loopback that knows INC0012345 as a completed
// provisioning request.
func TestDocumentedDeleteScript(t *testing.T) {
	for _, tool := range []string{"sh", "curl", "openssl", "sed", "date", "printf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	scripts := codeBlocks(section(t, readDoc(t), "## DELETE /requests/{id}"), "sh")
	if len(scripts) != 1 {
		t.Fatalf("docs/http.md DELETE: %d sh blocks, want 1", len(scripts))
	}
	const key = "0f3c5d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d"
	e := newEnv(t, func(o *httpapi.Options) { o.Keys = []string{key}; o.Now = time.Now })
	e.completedRequest(t, "INC0012345")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "sh", "-eu", "-c", scripts[0])
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "RAPROV_URL=" + e.srv.URL, "RAPROV_HMAC_KEY=" + key}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script failed: %v\n%s", err, out)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil || got["requestId"] != "deprovision:INC0012345" || got["target"] != "INC0012345" {
		t.Fatalf("DELETE script answered %s", out)
	}
	if sent := e.sub.sent(); len(sent) != 1 || sent[0].UserPrincipalName != "ra-mainline@contoso.com" || !sent[0].Deprovision() {
		t.Errorf("submitted %+v", sent)
	}
}
