package functions_test

import (
	"bytes"
	"go/build/constraint"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/raprov/raprov/events"
)

// deps lists the packages pkg links (go list -deps), without tests.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

func links(all []string, prefix string) bool {
	return slices.ContainsFunc(all, func(p string) bool { return strings.HasPrefix(p, prefix) })
}

// Each function links only what its step needs: the functions that do not
// call Graph (intake, complete) do not link msgraph-sdk-go or the adapters,
// only intake links the validator and the phone-number library, and the
// HTTP door it serves at its Function URL (httpapi, its wiring and the SQS
// submitter) and the scheduled bulk door (bulkdir over S3), and no function links the embedded default's SQLite.
func TestFunctionsLinkOnlyWhatTheirStepNeeds(t *testing.T) {
	mains, err := filepath.Glob("*/main.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Dir(m))
	}
	slices.Sort(names)
	want := slices.Sorted(slices.Values(events.AllSteps))
	if !slices.Equal(names, want) {
		t.Fatalf("functions %v, want one per step %v", names, want)
	}
	graphFree := map[string]bool{events.StepIntake: true, events.StepComplete: true}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			all := deps(t, "github.com/raprov/raprov/functions/"+name)
			for prefix, wantLinked := range map[string]bool{
				"github.com/microsoftgraph/msgraph-sdk-go":                !graphFree[name],
				"github.com/raprov/raprov/shared/graph":                   !graphFree[name],
				"github.com/raprov/raprov/shared/teamsadmin":              !graphFree[name],
				"github.com/nyaruka/phonenumbers":                         name == events.StepIntake,
				"github.com/raprov/raprov/events/validate":                name == events.StepIntake,
				"github.com/raprov/raprov/shared/door/httpapi":            name == events.StepIntake,
				"github.com/raprov/raprov/functions/internal/httpdoor":    name == events.StepIntake,
				"github.com/raprov/raprov/shared/transport/sqs/sqssubmit": name == events.StepIntake,
				"github.com/raprov/raprov/functions/internal/bulkdoor":    name == events.StepIntake,
				"github.com/raprov/raprov/shared/door/bulkdir":            name == events.StepIntake,
				"github.com/aws/aws-sdk-go-v2/service/s3":                 name == events.StepIntake,
				"github.com/aws/aws-sdk-go-v2/service/lambda":             name == events.StepIntake, // invokes the planner of dry runs
				"github.com/raprov/raprov/shared/door/tenantreads":        name == events.StepCheckLicense,
				"github.com/raprov/raprov/shared/dryrun":                  name == events.StepCheckLicense,
				"github.com/raprov/raprov/shared/door/statuspage":         false,
				"modernc.org/sqlite":                                      false,
				"github.com/raprov/raprov/shared/transport/local":         false,
				"github.com/raprov/raprov/shared/embedded":                false,
				"github.com/raprov/raprov/infra/":                         false,
				"github.com/aws/aws-sdk-go-v2/config":                     false,
			} {
				if got := links(all, prefix); got != wantLinked {
					t.Errorf("%s links %s: %t, want %t", name, prefix, got, wantLinked)
				}
			}
			if !links(all, "github.com/raprov/raprov/shared/transport/sqs") || !links(all, "github.com/aws/aws-lambda-go/lambda") {
				t.Errorf("%s does not run on the SQS host under the Lambda runtime", name)
			}
		})
	}
}

// schemaSerdePackages are the AWS SDK's schema-serde packages, which the
// SDK's service modules link from dynamodb v1.69.0, sqs v1.49.0 and
// secretsmanager v1.50.0 on. Their package init builds every shape of the
// service's model at process start: measured, they made complete's package
// init 1.7 times that of the pinned build and every function's zip 0.11 to
// 0.14 MiB larger (docs/aws.md, "Function sizes and start-up"). go.mod pins
// the three service modules to the last releases without them.
var schemaSerdePackages = []string{
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/schemas",
	"github.com/aws/aws-sdk-go-v2/service/sqs/schemas",
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/schemas",
}

// No function links the SDK's schema-serde packages: a `go get -u` that
// moves the pinned service modules past them fails here instead of
// slowing every cold start.
func TestFunctionsLinkNoSDKSchemaSerde(t *testing.T) {
	mains, err := filepath.Glob("*/main.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mains {
		name := filepath.Dir(m)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			all := deps(t, "github.com/raprov/raprov/functions/"+name)
			for _, pkg := range schemaSerdePackages {
				if slices.Contains(all, pkg) {
					t.Errorf("%s links %s: the AWS SDK service module was upgraded past the release pinned in go.mod, "+
						"and its schema-serde package costs every cold start (package init) and zip size. "+
						"Pin it back to the last release without it, or measure and update docs/aws.md "+
						"(\"Function sizes and start-up\": make report-aws) and this test", name, pkg)
				}
			}
		})
	}
}

// The rules of the layout that never break: the runner and the steps link
// no SDK, no transport links another, and only the SQS transport links
// aws-lambda-go and the SQS SDK among the product's shared packages.
func TestLayoutRules(t *testing.T) {
	for _, pkg := range []string{"./../shared/steps", "./../shared/runner"} {
		for _, p := range deps(t, pkg) {
			for _, sdk := range []string{"msgraph", "kiota", "aws-sdk", "aws-lambda", "azure-sdk", "modernc.org/sqlite", "nyaruka/phonenumbers"} {
				if strings.Contains(p, sdk) {
					t.Errorf("%s links %s", pkg, p)
				}
			}
		}
	}
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "github.com/raprov/raprov/shared/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, imports := f[0], f[1:]
		for _, imp := range imports {
			if strings.HasPrefix(imp, "github.com/aws/aws-lambda-go") || imp == "github.com/aws/aws-sdk-go-v2/service/sqs" {
				if !strings.HasPrefix(pkg, "github.com/raprov/raprov/shared/transport/sqs") {
					t.Errorf("%s imports %s: only shared/transport/sqs may", pkg, imp)
				}
			}
			const tr = "github.com/raprov/raprov/shared/transport/"
			if strings.HasPrefix(pkg, tr) && strings.HasPrefix(imp, tr) {
				from, to := strings.Split(strings.TrimPrefix(pkg, tr), "/")[0], strings.Split(strings.TrimPrefix(imp, tr), "/")[0]
				if from != to && to != "queuetest" {
					t.Errorf("transport %s imports transport %s (%s)", from, to, imp)
				}
			}
		}
	}
}

// e2eHookMarks are what the e2ehooks build of complete (complete/hooks_e2e.go)
// puts in a binary: its variable's name and the weakened callback client's
// constructor.
var e2eHookMarks = []string{"RAPROV_E2E_CALLBACK_RESOLVE", "callback.NewForTests"}

// The callback test hooks stay out of the deployable functions: every
// function source that names them is compiled only with the e2ehooks tag,
// and complete built as `make build-aws` builds it holds none of their
// marks, while the e2ehooks build (the AWS end-to-end harness's) holds them
// all, which shows that the search finds them.
func TestCallbackHooksOnlyInE2EBuild(t *testing.T) {
	t.Parallel()
	sources, err := filepath.Glob("*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	tagged := 0
	for _, src := range sources {
		if strings.HasSuffix(src, "_test.go") || strings.HasPrefix(src, "e2e/") {
			continue
		}
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("NewForTests")) && !bytes.Contains(b, []byte("TestHooks")) && !bytes.Contains(b, []byte("RAPROV_E2E_")) {
			continue
		}
		expr, ok := buildConstraint(t, b)
		if !ok || expr.Eval(func(tag string) bool { return tag != "e2ehooks" }) || !expr.Eval(func(string) bool { return true }) {
			t.Errorf("%s uses the callback test hooks but is not compiled only with -tags e2ehooks", src)
		}
		tagged++
	}
	if tagged == 0 {
		t.Error("no source uses the callback test hooks: the AWS end-to-end harness needs complete/hooks_e2e.go")
	}

	dir := t.TempDir()
	build := func(tags, out string) []byte {
		t.Helper()
		cmd := exec.Command("go", "build", "-tags", tags, "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, out), "./complete")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build -tags %s ./complete: %v\n%s", tags, err, b)
		}
		b, err := os.ReadFile(filepath.Join(dir, out))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	deployable, hooked := build("lambda.norpc", "deployable"), build("lambda.norpc,e2ehooks", "hooked")
	for _, mark := range e2eHookMarks {
		if bytes.Contains(deployable, []byte(mark)) {
			t.Errorf("the deployable build of complete holds %q", mark)
		}
		if !bytes.Contains(hooked, []byte(mark)) {
			t.Errorf("the e2ehooks build of complete does not hold %q: this test no longer finds the hooks", mark)
		}
	}
}

// buildConstraint returns the //go:build constraint of a Go source.
func buildConstraint(t *testing.T, src []byte) (constraint.Expr, bool) {
	t.Helper()
	for _, line := range strings.Split(string(src), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "package ") {
			break
		}
		if constraint.IsGoBuild(line) {
			expr, err := constraint.Parse(line)
			if err != nil {
				t.Fatal(err)
			}
			return expr, true
		}
	}
	return nil, false
}
