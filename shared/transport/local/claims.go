package local

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/raprov/raprov/shared/apperr"
)

// Claims records which event first claimed each request id, so that a
// request id provisions once, forever. It satisfies the steps.Claims port
// of intake (checked where it is wired, so this package needs no steps).
type Claims struct{ s *Store }

// Claims returns the store's request id claims.
func (s *Store) Claims() *Claims { return &Claims{s} }

const (
	queryClaim     = `insert into claims (request_id, event_id, at) values (?, ?, ?) on conflict (request_id) do nothing`
	queryClaimedBy = `select event_id from claims where request_id = ?`
)

// Claim records requestID as taken by the event eventID. It returns true
// when the id was free or is already held by eventID (a redelivery or a
// replay of the same event), false when another event holds it.
func (c *Claims) Claim(ctx context.Context, requestID, eventID string) (bool, error) {
	if requestID == "" || eventID == "" {
		return false, apperr.New(apperr.Invalid, "", "local: claim needs a request id and an event id")
	}
	var holder string
	err := c.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := c.s.w.exec(ctx, tx, queryClaim, requestID, eventID, time.Now().UnixNano()); err != nil {
			return err
		}
		return c.s.w.queryRow(ctx, tx, queryClaimedBy, requestID).Scan(&holder)
	}, nil)
	if err != nil {
		return false, fmt.Errorf("local: claim request %s: %w", requestID, err)
	}
	return holder == eventID, nil
}
