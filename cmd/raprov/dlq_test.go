package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/local"
)

// deadLettered opens a store at path with one dead letter per queue name.
func deadLettered(t *testing.T, path string, queues ...string) []string {
	t.Helper()
	ctx := context.Background()
	store, err := local.Open(ctx, path, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var ids []string
	for _, name := range queues {
		q := store.Queue(name, local.QueueOptions{})
		if err := q.Send(ctx, transport.Message{Body: []byte("{not json")}); err != nil {
			t.Fatal(err)
		}
		d, err := q.Receive(ctx)
		if err != nil || d == nil {
			t.Fatalf("receive: %v %v", d, err)
		}
		if err := q.DeadLetter(ctx, *d, "malformed_json", "test"); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	return ids
}

func dlqCount(t *testing.T, path, queue string) int {
	t.Helper()
	store, err := local.Open(context.Background(), path, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	n, err := store.DeadLetters().Count(context.Background(), queue)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func runDLQ(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newDLQCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// dlq delete and purge remove dead letters, and only after a confirmation
// (or --yes): an unanswered prompt deletes nothing.
func TestDLQDeleteAndPurge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raprov.db")
	ids := deadLettered(t, path, "intake", "intake", "assign-number")

	out, err := runDLQ(t, "", "delete", "--db", path, ids[0])
	var ec exitCode
	if !errors.As(err, &ec) || ec != 1 || dlqCount(t, path, "") != 3 || !strings.Contains(out, "nothing deleted") {
		t.Fatalf("delete without an answer: %v, %q; %d left", err, out, dlqCount(t, path, ""))
	}
	if _, err := runDLQ(t, "y\n", "delete", "--db", path, ids[0]); err != nil || dlqCount(t, path, "") != 2 {
		t.Fatalf("delete confirmed: %v; %d left", err, dlqCount(t, path, ""))
	}
	if _, err := runDLQ(t, "", "delete", "--db", path, "--yes", "no-such-id"); err == nil {
		t.Fatal("deleting an unknown dead letter succeeded")
	}

	if _, err := runDLQ(t, "n\n", "purge", "--db", path, "--queue", "intake"); !errors.As(err, &ec) || dlqCount(t, path, "") != 2 {
		t.Fatalf("purge declined: %v; %d left", err, dlqCount(t, path, ""))
	}
	if out, err := runDLQ(t, "", "purge", "--db", path, "--queue", "intake", "--yes"); err != nil || dlqCount(t, path, "intake") != 0 || dlqCount(t, path, "assign-number") != 1 {
		t.Fatalf("purge --queue intake --yes: %v %q; intake %d, assign-number %d", err, out, dlqCount(t, path, "intake"), dlqCount(t, path, "assign-number"))
	}
	if _, err := runDLQ(t, "yes\n", "purge", "--db", path); err != nil || dlqCount(t, path, "") != 0 {
		t.Fatalf("purge all: %v; %d left", err, dlqCount(t, path, ""))
	}
}

// dlq list escapes what message bodies carry: a subject with terminal
// escape sequences cannot clear the operator's screen.
func TestDLQListEscapes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raprov.db")
	ctx := context.Background()
	store, err := local.Open(ctx, path, local.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q := store.Queue("intake", local.QueueOptions{})
	body := `{"specversion":"1.0","id":"e1","source":"raprov/submit","type":"raprov.provisioning.requested.v1","subject":"R\u001b[2J","time":"2026-11-29T00:00:00Z","datacontenttype":"application/json","data":{"request":{"requestId":"R\u001b[2J"},"progress":{}}}`
	if err := q.Send(ctx, transport.Message{Body: []byte(body)}); err != nil {
		t.Fatal(err)
	}
	d, err := q.Receive(ctx)
	if err != nil || d == nil {
		t.Fatalf("receive: %v %v", d, err)
	}
	if err := q.DeadLetter(ctx, *d, "request_conflict", "requestId R\x1b]0;pwned\x07 was already used"); err != nil {
		t.Fatal(err)
	}
	store.Close()
	out, err := runDLQ(t, "", "list", "--db", path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `\x1b`) {
		t.Fatalf("dlq list printed raw control characters:\n%q", out)
	}
}
