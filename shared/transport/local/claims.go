package local

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport"
)

// Claims records which event first claimed each request id, and the
// fingerprint of the request it carried, so that a request id provisions
// once, forever, and the same id with another request can be told from a
// redelivery. It satisfies the steps.Claims port of intake (checked where it
// is wired, so this package needs no steps).
type Claims struct{ s *Store }

// Claims returns the store's request id claims.
func (s *Store) Claims() *Claims { return &Claims{s} }

const (
	queryClaim     = `insert into claims (request_id, event_id, fingerprint, at) values (?, ?, ?, ?) on conflict (request_id) do nothing`
	queryClaimedBy = `select event_id, fingerprint from claims where request_id = ?`
)

// Claim records requestID as taken by the event eventID carrying a request
// with the given fingerprint, unless an event holds it already. It returns
// the holder: eventID and fingerprint when this call took the id (or the
// same event took it before: a redelivery or a replay), else the first
// event's id and fingerprint. Claims made before fingerprints were kept have
// an empty one.
func (c *Claims) Claim(ctx context.Context, requestID, eventID, fingerprint string) (holder, holderFingerprint string, err error) {
	if requestID == "" || eventID == "" {
		return "", "", apperr.New(apperr.Invalid, "", "local: claim needs a request id and an event id")
	}
	err = c.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		holder, holderFingerprint, err = c.s.claimTx(ctx, tx, requestID, eventID, fingerprint)
		return err
	}, nil)
	if err != nil {
		return "", "", fmt.Errorf("local: claim request %s: %w", requestID, err)
	}
	return holder, holderFingerprint, nil
}

func (s *Store) claimTx(ctx context.Context, tx *sql.Tx, requestID, eventID, fingerprint string) (holder, holderFingerprint string, err error) {
	if _, err := s.w.exec(ctx, tx, queryClaim, requestID, eventID, fingerprint, time.Now().UnixNano()); err != nil {
		return "", "", err
	}
	err = s.w.queryRow(ctx, tx, queryClaimedBy, requestID).Scan(&holder, &holderFingerprint)
	return holder, holderFingerprint, err
}

// Submission is one request to submit with SubmitClaimed.
type Submission struct {
	RequestID   string            // the request's id; empty: no claim, always sent
	EventID     string            // the id of the event in Message
	Fingerprint string            // the normalised request's fingerprint
	Message     transport.Message // the encoded provisioning.requested event
	Record      []ledger.Entry    // ledger entries recorded when it is sent
}

// Holder is who holds a submitted request id.
type Holder struct {
	EventID     string
	Fingerprint string
}

// SubmitClaimed submits requests to the queue named queue in one
// transaction: each request id is claimed for its event first, and only the
// requests whose claim this call took are sent and recorded. It returns the
// holder of each submission's request id, in order, so that the caller can
// tell a request sent now (holder = its event), one submitted before
// (holder with the same fingerprint) and a different request under a taken
// id (another fingerprint) apart — in one step, with no window between the
// check and the send.
func (s *Store) SubmitClaimed(ctx context.Context, queue string, subs []Submission) ([]Holder, error) {
	if _, ok := s.queue(queue); !ok {
		return nil, apperr.New(apperr.Invalid, "", "unknown queue %q: open it with Store.Queue first", queue)
	}
	now := time.Now()
	holders := make([]Holder, len(subs))
	var p prepared
	err := s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		var hop Hop
		for i, sub := range subs {
			holders[i] = Holder{EventID: sub.EventID, Fingerprint: sub.Fingerprint}
			if sub.RequestID != "" {
				h, fp, err := s.claimTx(ctx, tx, sub.RequestID, sub.EventID, sub.Fingerprint)
				if err != nil {
					return err
				}
				holders[i] = Holder{EventID: h, Fingerprint: fp}
				if h != sub.EventID {
					continue
				}
			}
			if hop.Send == nil {
				hop.Send = map[string][]transport.Message{}
			}
			hop.Send[queue] = append(hop.Send[queue], sub.Message)
			hop.Record = append(hop.Record, sub.Record...)
		}
		var err error
		if p, err = s.prepare(hop, now); err != nil {
			return err
		}
		return s.applyTx(ctx, tx, p)
	}, func() { p.wakeUp() })
	if err != nil {
		return nil, fmt.Errorf("local: submit: %w", err)
	}
	return holders, nil
}

// Holder returns the event holding requestID and its fingerprint, or empty
// strings when nobody claimed it. It reads committed claims only.
func (c *Claims) Holder(ctx context.Context, requestID string) (holder, holderFingerprint string, err error) {
	err = c.s.r.QueryRowContext(ctx, queryClaimedBy, requestID).Scan(&holder, &holderFingerprint)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("local: claim holder of %s: %w", requestID, err)
	}
	return holder, holderFingerprint, nil
}

// NumberHolds records which request in progress holds each requested phone
// number. It satisfies the steps.NumberHolds port of check-license and
// complete (checked where it is wired).
type NumberHolds struct{ s *Store }

// NumberHolds returns the store's number holds.
func (s *Store) NumberHolds() *NumberHolds { return &NumberHolds{s} }

const (
	queryHoldNumber    = `insert into number_holds (number, request_id, at) values (?, ?, ?) on conflict (number) do nothing`
	queryNumberHolder  = `select request_id from number_holds where number = ?`
	queryReleaseNumber = `delete from number_holds where number = ? and request_id = ?`
)

// Hold records number as held by requestID unless another request holds it,
// and returns the holder.
func (h *NumberHolds) Hold(ctx context.Context, number, requestID string) (holder string, err error) {
	if number == "" || requestID == "" {
		return "", apperr.New(apperr.Invalid, "", "local: a number hold needs a number and a request id")
	}
	err = h.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, queryHoldNumber, number, requestID, time.Now().UnixNano()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, queryNumberHolder, number).Scan(&holder)
	}, nil)
	if err != nil {
		return "", fmt.Errorf("local: hold number %s: %w", number, err)
	}
	return holder, nil
}

// Release ends requestID's hold on number; another request's hold stays.
func (h *NumberHolds) Release(ctx context.Context, number, requestID string) error {
	err := h.s.inTx(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, queryReleaseNumber, number, requestID)
		return err
	}, nil)
	if err != nil {
		return fmt.Errorf("local: release number %s: %w", number, err)
	}
	return nil
}
