package local

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; PRAGMA user_version holds how many ran.
// Never edit one that has shipped: append a new one.
var migrations = []string{
	// 1: goqite's table, copied verbatim from maragu.dev/goqite v0.4.0
	// schema_sqlite.sql (the module does not export it), then raprov's own.
	`
create table goqite (
  id text primary key default ('m_' || lower(hex(randomblob(16)))),
  created text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  updated text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  queue text not null,
  body blob not null,
  timeout text not null default (strftime('%Y-%m-%dT%H:%M:%fZ')),
  received integer not null default 0,
  priority integer not null default 0
) strict;

create trigger goqite_updated_timestamp after update on goqite begin
  update goqite set updated = strftime('%Y-%m-%dT%H:%M:%fZ') where id = old.id;
end;

create index goqite_queue_priority_created_idx on goqite (queue, priority desc, created);

-- Messages moved aside: explicitly, or after too many receives. at is unix nanoseconds.
create table dead_letters (
  id text primary key,
  queue text not null,
  body blob not null,
  reason text not null,
  detail text not null,
  received integer not null,
  sent text not null,
  at integer not null
) strict;

create index dead_letters_queue_at_idx on dead_letters (queue, at);
create index dead_letters_at_idx on dead_letters (at);

-- Ledger: one row per event, one per request (its latest event). Times are unix nanoseconds.
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
`,
	// 2: request id claims (Store.Claims). at is unix nanoseconds.
	`
create table claims (
  request_id text primary key,
  event_id text not null,
  at integer not null
) strict;
`,
	// 3: goqite's trigger ran a second UPDATE for every received message
	// only to stamp goqite.updated, which nothing reads; the receive
	// statement sets the column itself.
	`
drop trigger if exists goqite_updated_timestamp;
`,
	// 4: the fingerprint of the request a claim was made for, so that the
	// same request id with a different request is refused (request_conflict)
	// instead of merged; '' on claims made before.
	`
alter table claims add column fingerprint text not null default '';
`,
	// 5: phone numbers held by the request in progress that passed its
	// pre-flight (Store.NumberHolds). at is unix nanoseconds.
	`
create table number_holds (
  number text primary key,
  request_id text not null,
  at integer not null
) strict;
`,
	// 6: what each ledger line is about (ledger.Entry Account, ObjectID,
	// Action) and, on the request row, the newest non-empty value of each
	// with the time of the line it came from. '' on rows written before.
	`
alter table ledger_events add column account text not null default '';
alter table ledger_events add column object_id text not null default '';
alter table ledger_events add column action text not null default '';
alter table ledger_requests add column account text not null default '';
alter table ledger_requests add column account_at integer not null default 0;
alter table ledger_requests add column object_id text not null default '';
alter table ledger_requests add column object_id_at integer not null default 0;
alter table ledger_requests add column action text not null default '';
alter table ledger_requests add column action_at integer not null default 0;
`,
	// 7: tokens the HTTP doors remember until they expire (Store.Tokens):
	// signatures of accepted calls (kind 'signature', so a replay is
	// refused after a restart too) and logged-out status-page sessions
	// (kind 'revoked'). key is a SHA-256; expires is unix nanoseconds.
	`
create table door_tokens (
  kind text not null,
  key blob not null,
  expires integer not null,
  primary key (kind, key)
) strict, without rowid;

create index door_tokens_expires_idx on door_tokens (expires);
`,
}

// migrate brings the schema up to date in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `pragma user_version`).Scan(&version); err != nil {
		return err
	}
	if version > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program's (%d)", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no parameters; the value is an int we control.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`pragma user_version = %d`, len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}
