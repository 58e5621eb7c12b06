package local

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"time"
)

// Tokens are what the HTTP doors of `raprov serve` remember until a time,
// kept in the store so that a restart forgets none of them: the signatures
// of accepted API calls (Signatures, an httpapi.SignatureLog) and the
// status-page sessions logged out before they expired (Revocations, a
// statuspage.Revocations). Only hashes are stored, never a token or a
// signature; a row is deleted once it has expired.
type Tokens struct {
	s    *Store
	kind string
}

// Signatures returns the signature log of the HTTP API.
func (s *Store) Signatures() *Tokens { return &Tokens{s: s, kind: "signature"} }

// Revocations returns the logged-out status-page sessions.
func (s *Store) Revocations() *Tokens { return &Tokens{s: s, kind: "revoked"} }

const (
	queryTokenExpired = `delete from door_tokens where kind = ? and expires <= ?`
	queryTokenPut     = `insert into door_tokens (kind, key, expires) values (?, ?, ?) on conflict (kind, key) do nothing`
	queryTokenAlive   = `select count(*) from door_tokens where kind = ? and key = ? and expires > ?`
)

// First records key until expires and reports whether it was not recorded
// (and alive) before: the first use of a signature. One transaction, so
// two concurrent calls with one key see one true.
func (t *Tokens) First(ctx context.Context, key [32]byte, expires time.Time) (bool, error) {
	var first bool
	err := t.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := time.Now().UnixNano()
		if _, err := t.s.w.exec(ctx, tx, queryTokenExpired, t.kind, now); err != nil {
			return err
		}
		res, err := t.s.w.exec(ctx, tx, queryTokenPut, t.kind, key[:], expires.UnixNano())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	}, nil)
	if err != nil {
		return false, fmt.Errorf("local: remember a %s: %w", t.kind, err)
	}
	return first, nil
}

// Revoke records the session token, which expires at exp, as logged out.
func (t *Tokens) Revoke(ctx context.Context, token string, exp time.Time) error {
	_, err := t.First(ctx, sha256.Sum256([]byte(token)), exp)
	return err
}

// Revoked reports whether the session token was logged out.
func (t *Tokens) Revoked(ctx context.Context, token string) (bool, error) {
	key := sha256.Sum256([]byte(token))
	var n int
	if err := t.s.r.QueryRowContext(ctx, queryTokenAlive, t.kind, key[:], time.Now().UnixNano()).Scan(&n); err != nil {
		return false, fmt.Errorf("local: read a %s: %w", t.kind, err)
	}
	return n > 0, nil
}
