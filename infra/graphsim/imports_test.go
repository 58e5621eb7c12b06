package graphsim_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNothingOfTheProduct: the simulator stands in for Microsoft, so
// it must not share code (cost tables, error mappings, models) with the
// clients it tests (DESIGN §9). Its packages may import each other and
// third-party modules only.
func TestImportsNothingOfTheProduct(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	const module = "github.com/raprov/raprov/"
	const sim = module + "infra/graphsim"
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}}", sim+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	n := 0
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, module) {
			continue
		}
		n++
		if p != sim && !strings.HasPrefix(p, sim+"/") {
			t.Errorf("infra/graphsim depends on %s", p)
		}
	}
	if n == 0 {
		t.Fatalf("go list named no package of the module:\n%s", out)
	}
}
