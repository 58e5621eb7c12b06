package local_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/shared/ledger"
)

// dropLedgerAccount undoes migration 6 (the ledger's account columns).
const dropLedgerAccount = `
alter table ledger_events drop column account;
alter table ledger_events drop column object_id;
alter table ledger_events drop column action;
alter table ledger_requests drop column account;
alter table ledger_requests drop column account_at;
alter table ledger_requests drop column object_id;
alter table ledger_requests drop column object_id_at;
alter table ledger_requests drop column action;
alter table ledger_requests drop column action_at;
`

// schemaV5Ledger is the ledger as migrations 1 to 5 made it, verbatim, with
// a request recorded by that version (its insert statements).
const schemaV5Ledger = `
drop table ledger_events;
drop table ledger_requests;
drop table door_tokens; -- migration 7's

create table ledger_events (
  seq integer primary key,
  event_id text not null unique,
  request_id text not null,
  type text not null,
  step text not null,
  time integer not null,
  attempt integer not null,
  reason text not null,
  detail text not null,
  outcome text not null
) strict;

create index ledger_events_request_idx on ledger_events (request_id, time, seq);

create table ledger_requests (
  request_id text primary key,
  step text not null,
  type text not null,
  outcome text not null,
  reason text not null,
  detail text not null,
  attempt integer not null,
  started integer not null,
  updated integer not null
) strict;

create index ledger_requests_updated_idx on ledger_requests (updated desc, request_id);
create index ledger_requests_outcome_idx on ledger_requests (outcome, updated desc);

insert into ledger_events (event_id, request_id, type, step, time, attempt, reason, detail, outcome)
values ('e1', 'old', 'raprov.provisioning.requested.v1', 'submit', 1740819600000000000, 0, '', '', 'in_progress');
insert into ledger_requests (request_id, step, type, outcome, reason, detail, attempt, started, updated)
values ('old', 'submit', 'raprov.provisioning.requested.v1', 'in_progress', '', '', 0, 1740819600000000000, 1740819600000000000);

pragma user_version = 5;
`

// TestLedgerFromVersion5 opens a database whose ledger the previous version
// made and wrote: its requests read with empty Account, ObjectID and
// Action, and new entries record them.
func TestLedgerFromVersion5(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "raprov.db")
	openStore(t, path).Close()
	if _, err := rawDB(t, path).Exec(schemaV5Ledger); err != nil {
		t.Fatal(err)
	}

	l := openStore(t, path).Ledger()
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	before := ledger.Entry{EventID: "e1", RequestID: "old", Type: "raprov.provisioning.requested.v1", Step: "submit", Time: t0, Outcome: ledger.InProgress}
	got, err := l.Get(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	want := ledger.Status{RequestID: "old", Step: "submit", Type: before.Type, Outcome: ledger.InProgress, Started: t0, Updated: t0,
		History: []ledger.Entry{before}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get of a version-5 request (-want +got):\n%s", diff)
	}

	after := ledger.Entry{EventID: "e2", RequestID: "old", Type: "raprov.account.created.v1", Step: "create-account", Time: t0.Add(time.Second),
		Outcome: ledger.InProgress, Account: "ra@contoso.com", ObjectID: "obj-1"}
	if err := l.Record(ctx, after, ledger.Entry{EventID: "n1", RequestID: "new", Step: "submit", Time: t0, Account: "rb@contoso.com", Action: "deprovision"}); err != nil {
		t.Fatal(err)
	}
	if got, err = l.Get(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	want.Step, want.Type, want.Updated, want.Account, want.ObjectID = after.Step, after.Type, after.Time, after.Account, after.ObjectID
	want.History = append(want.History, after)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get after recording on a migrated database (-want +got):\n%s", diff)
	}
	list, err := l.List(ctx, ledger.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var accounts []string
	for _, s := range list {
		accounts = append(accounts, s.RequestID+" "+s.Account+" "+s.ObjectID+" "+s.Action)
	}
	if diff := cmp.Diff([]string{"old ra@contoso.com obj-1 ", "new rb@contoso.com  deprovision"}, accounts); diff != "" {
		t.Errorf("List after migration (-want +got):\n%s", diff)
	}

	var version int
	if err := rawDB(t, path).QueryRow(`pragma user_version`).Scan(&version); err != nil || version != 7 {
		t.Errorf("user_version = %d, %v; want 7 (every migration ran)", version, err)
	}
}
