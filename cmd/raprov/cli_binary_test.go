//go:build unix

package main_test

import (
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBinaryCLI runs the built command: main's one exit, stdout holding
// JSON only, and the version `go build` records from the git checkout.
func TestBinaryCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds raprov")
	}
	dir := t.TempDir()
	bin, vcs := buildWithVCS(t, dir)
	run := func(args ...string) (stdout, stderr string, code int) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")} // no RAPROV_*
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatal(err)
		}
		return out.String(), errOut.String(), code
	}

	t.Run("version", func(t *testing.T) {
		out, _, code := run("--version", "-o", "json")
		var v struct {
			Version, Commit, CommitTime, GoVersion, Platform string
			Dirty                                            bool
		}
		if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 {
			t.Fatalf("exit %d, %v: %q", code, err, out)
		}
		if !vcs {
			t.Skipf("built without VCS information: %+v", v)
		}
		if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(v.Commit) || v.Version == "" || v.Version == "(devel)" {
			t.Errorf("version %+v; want the checkout's commit and a pseudo-version", v)
		}
		if _, err := time.Parse(time.RFC3339, v.CommitTime); err != nil {
			t.Errorf("commit time %q: %v", v.CommitTime, err)
		}
	})
	t.Run("usage error", func(t *testing.T) {
		out, errOut, code := run("status", "-o", "yaml")
		if code != 2 || out != "" || !strings.Contains(errOut, `unknown output format "yaml"`) || !strings.Contains(errOut, "Run 'raprov status --help' for usage.") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 2 and the message on stderr only", code, out, errOut)
		}
	})
	t.Run("JSON only on stdout", func(t *testing.T) {
		db := filepath.Join(dir, "raprov.db")
		out, errOut, code := run("status", "--db", db, "-o", "json")
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil || code != 0 || errOut != "" {
			t.Errorf("exit %d, %v, stdout %q, stderr %q", code, err, out, errOut)
		}
	})
}

// buildWithVCS builds raprov into dir with the VCS stamp (-buildvcs=true,
// whatever GOFLAGS says) when git knows the checkout, else without; it
// reports which.
func buildWithVCS(t *testing.T, dir string) (string, bool) {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build raprov: %v", err)
	}
	bin := filepath.Join(dir, "raprov")
	vcs := exec.Command("git", "rev-parse", "HEAD").Run() == nil
	args := []string{"build", "-o", bin}
	if vcs {
		args = append(args, "-buildvcs=true")
	}
	cmd := exec.Command(goTool, append(args, ".")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// Some checkouts (a linked git worktree, a source tarball) build
	// without VCS stamps even when asked: judge by what the binary holds.
	if vcs {
		info, err := buildinfo.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		vcs = slices.ContainsFunc(info.Settings, func(s debug.BuildSetting) bool { return s.Key == "vcs.revision" })
	}
	return bin, vcs
}
