//go:build linux

package e2e_test

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/raprov/raprov/events"
)

// repoRoot is the module root, seen from this package's directory.
const repoRoot = "../.."

// functionsDir holds one executable per step, named after it, built by
// TestMain.
var functionsDir string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "raprov-e2e-functions-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	start := time.Now()
	if err := buildFunctions(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	if testing.Verbose() {
		fmt.Printf("e2e: built %d functions in %s\n", len(events.AllSteps), time.Since(start).Round(time.Millisecond))
	}
	functionsDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// buildFunctions builds the function of every step of events.AllSteps
// (provisioning and deprovisioning), functions/<step>, into dir as the
// Makefile's build-aws does (static, -tags lambda.norpc, stripped), but for
// this machine's architecture: the emulator runs the bootstrap natively, so
// on an amd64 machine the functions are linux/amd64 here while the deployable
// (make package) is linux/arm64. One go build compiles them all, in
// parallel and from the build cache.
func buildFunctions(dir string) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the functions are built with the go command, and none is on PATH: %w", err)
	}
	var pkgs []string
	for _, step := range events.AllSteps {
		if _, err := os.Stat(filepath.Join(repoRoot, "functions", step, "main.go")); err != nil {
			return fmt.Errorf("step %s has no function: %w", step, err)
		}
		pkgs = append(pkgs, "./functions/"+step)
	}
	args := append([]string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", dir + string(filepath.Separator)}, pkgs...)
	cmd := exec.Command(goTool, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	// complete once more with the e2ehooks tag (functions/complete/
	// hooks_e2e.go), into hookedSubdir: the function a stack runs when
	// stackConfig.callbackHooks asks for callbacks to a test receiver. The
	// other stacks run the deployable build above.
	args = []string{"build", "-tags", "lambda.norpc,e2ehooks", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, hookedSubdir) + string(filepath.Separator), "./functions/" + events.StepComplete}
	cmd = exec.Command(goTool, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// hookedSubdir of functionsDir holds complete built with the e2ehooks tag.
const hookedSubdir = "e2ehooks"
