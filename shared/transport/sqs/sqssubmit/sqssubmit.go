// Package sqssubmit submits provisioning and deprovision requests to the
// intake queue of a deployment on AWS, whose request-id claims live in
// DynamoDB: the submitter of `raprov submit --transport sqs` and of the
// intake function's HTTP door (its Function URL). It is a package of its
// own, beside the SQS transport, because it builds submissions with
// shared/submission, which links the validator and its phone-number
// library: only what submits (the CLI, intake) links it, never the other
// functions (DESIGN §9).
package sqssubmit

import (
	"context"
	"errors"
	"fmt"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/submission"
	"github.com/raprov/raprov/shared/transport"
)

// Claims reads the claim on a request id: the event id that holds it and
// the fingerprint it was claimed with, "" when none holds it
// (dynamoledger.Claims).
type Claims interface {
	Holder(ctx context.Context, requestID string) (holder, holderFingerprint string, err error)
}

// Publisher sends messages by queue name and records ledger lines once
// they are sent (sqs.Sender).
type Publisher interface {
	Publish(ctx context.Context, send map[string][]transport.Message, entries []ledger.Entry) error
}

// Submitter is a submission.Submitter over the intake queue.
type Submitter struct {
	pub    Publisher
	claims Claims
}

var _ submission.Submitter = (*Submitter)(nil)

// New returns the submitter that sends to intake through pub and reads
// claims from claims.
func New(pub Publisher, claims Claims) (*Submitter, error) {
	if pub == nil || claims == nil {
		return nil, errors.New("sqssubmit: a publisher and the claims are required")
	}
	return &Submitter{pub: pub, claims: claims}, nil
}

// Submit sends each request whose id is not claimed yet to the intake
// queue, which claims it, and records each sent request's "submit" line
// in the ledger. A request whose id is claimed already is reported as a
// Duplicate (same request) or a Conflict (another request) and not sent.
// Two submitters racing for one id both send; intake lets the first
// through and drops or refuses the other. Claiming here instead would lose
// a request whose send failed after its claim: SQS and DynamoDB cannot
// claim and send in one transaction, as the embedded default's SQLite
// does.
func (s *Submitter) Submit(ctx context.Context, traceParent string, reqs []events.Request) ([]submission.Submitted, error) {
	out := make([]submission.Submitted, len(reqs))
	var msgs []transport.Message
	var record []ledger.Entry
	for i, r := range reqs {
		p := submission.Prepare(traceParent, r)
		out[i] = submission.Submitted{Outcome: submission.Sent, Event: p.Event}
		if p.RequestID != "" {
			holder, fp, err := s.claims.Holder(ctx, p.RequestID)
			if err != nil {
				return nil, err
			}
			if out[i].Outcome = p.Against(holder, fp); out[i].Outcome != submission.Sent {
				continue
			}
		}
		body, err := events.Encode(p.Event)
		if err != nil {
			return nil, fmt.Errorf("request %d: %w", i+1, err)
		}
		msgs = append(msgs, transport.Message{Body: body})
		record = append(record, p.Record()...)
	}
	if len(msgs) == 0 {
		return out, nil
	}
	if err := s.pub.Publish(ctx, map[string][]transport.Message{events.StepIntake: msgs}, record); err != nil {
		return nil, err
	}
	return out, nil
}
