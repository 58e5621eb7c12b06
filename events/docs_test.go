package events_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raprov/raprov/events"
)

func readDoc(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "docs", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReasonsDocumented(t *testing.T) {
	doc := readDoc(t, "reasons.md")
	for _, r := range events.Reasons {
		code := "`" + string(r) + "`"
		if !strings.Contains(doc, "| "+code+" |") || !strings.Contains(doc, "\n## "+code+"\n") {
			t.Errorf("docs/reasons.md lacks a table row or a section for %s", r)
		}
	}
	if len(events.Reasons) == 0 {
		t.Fatal("no reasons")
	}
}

func TestEventTypesDocumented(t *testing.T) {
	doc := readDoc(t, "events.md")
	for _, typ := range events.Types {
		if !strings.Contains(doc, "`"+typ+"`") {
			t.Errorf("docs/events.md does not document %s", typ)
		}
	}
	for _, p := range []string{events.PoisonTooLarge, events.PoisonMalformedJSON, events.PoisonMalformedEnvelope,
		events.PoisonBadSpecVersion, events.PoisonUnknownType, events.PoisonMalformedData} {
		if !strings.Contains(doc, "`"+p+"`") {
			t.Errorf("docs/events.md does not document poison reason %s", p)
		}
	}
}
