package logctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/raprov/raprov/shared/logctx"
)

func decode(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestContextAttributesReachEveryLogger(t *testing.T) {
	var buf bytes.Buffer
	root := slog.New(logctx.Handler(slog.NewJSONHandler(&buf, nil)))
	adapter := root.With("component", "graph") // knows nothing of requests

	ctx := logctx.With(context.Background(), "request_id", "HR-1")
	ctx = logctx.With(ctx, slog.String("step", "create-account"))
	adapter.InfoContext(ctx, "user created", "id", "u-1")
	adapter.Info("no context") // nothing to add
	root.WithGroup("g").InfoContext(ctx, "grouped")

	lines := decode(t, &buf)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), buf.String())
	}
	if l := lines[0]; l["request_id"] != "HR-1" || l["step"] != "create-account" || l["component"] != "graph" || l["id"] != "u-1" {
		t.Errorf("with context: %v", l)
	}
	if _, ok := lines[1]["request_id"]; ok {
		t.Errorf("without context: %v", lines[1])
	}
	if g, _ := lines[2]["g"].(map[string]any); g["request_id"] != "HR-1" {
		t.Errorf("grouped: %v", lines[2])
	}
}

func TestHandlerWrapsOnce(t *testing.T) {
	var buf bytes.Buffer
	h := logctx.Handler(slog.NewJSONHandler(&buf, nil))
	if logctx.Handler(h) != h {
		t.Fatal("wrapping a logctx handler again made a new one")
	}
	slog.New(logctx.Handler(h)).InfoContext(logctx.With(context.Background(), "request_id", "r"), "once")
	if n := strings.Count(buf.String(), `"request_id"`); n != 1 {
		t.Errorf("request_id appears %d times: %s", n, buf.String())
	}
}

func TestWithDoesNotChangeTheParent(t *testing.T) {
	parent := logctx.With(context.Background(), "a", 1)
	child := logctx.With(parent, "b", 2)
	logctx.With(parent, "c", 3)
	if got := len(logctx.From(parent)); got != 1 {
		t.Errorf("parent has %d attributes, want 1", got)
	}
	if got := logctx.From(child); len(got) != 2 || got[1].Key != "b" {
		t.Errorf("child = %v", got)
	}
	if logctx.With(parent) != parent {
		t.Error("With without attributes made a new context")
	}
}
