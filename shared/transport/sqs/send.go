package sqs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/transport"
)

// Message attributes raprov sets. A chained delay carries AttrNotBefore; a
// message the handler dead-letters carries the others.
const (
	// AttrNotBefore is the time (RFC 3339, UTC) before which the message
	// must not be handled, on a message whose delay is longer than MaxDelay.
	AttrNotBefore = "raprov-not-before"
	// AttrReason is a dead letter's machine-readable reason: a poison
	// reason of package events, transport.ReasonMisrouted,
	// transport.ReasonMaxReceive or a steps.DeadLetterError's reason.
	AttrReason = "raprov-reason"
	// AttrDetail is a dead letter's human-readable detail (no secrets), cut
	// to MaxDetail bytes.
	AttrDetail = "raprov-detail"
	// AttrReceived is the delivery count of the input when it was dead-lettered.
	AttrReceived = "raprov-received"
	// AttrSourceQueue is the name of the queue a dead letter came from.
	AttrSourceQueue = "raprov-source-queue"
	// AttrDeadLetteredAt is when the handler dead-lettered it (RFC 3339, UTC).
	AttrDeadLetteredAt = "raprov-dead-lettered-at"
	// AttrRequestID is the provisioning request a dead letter belongs to,
	// when its body decoded.
	AttrRequestID = "raprov-request-id"
)

// Limits of SQS that the Sender keeps to.
const (
	// MaxDelay is the longest DelaySeconds SQS takes; longer delays are chained.
	MaxDelay = 15 * time.Minute
	// MaxBatchEntries is the most entries of one SendMessageBatch.
	MaxBatchEntries = 10
	// MaxBatchBytes is the largest SendMessageBatch, bodies and message
	// attributes together, that every SQS queue accepts (256 KiB, the
	// default MaximumMessageSize).
	MaxBatchBytes = 256 << 10
	// MaxDetail is the longest AttrDetail, in bytes.
	MaxDetail = ledger.MaxDetail
)

// sendAttempts bounds the SendMessageBatch calls made for entries that a
// batch reported as failed (not the SDK's own retries of a failed call).
const sendAttempts = 5

// SenderOptions configure a Sender.
type SenderOptions struct {
	// Ledger records the ledger lines given to Publish once its messages
	// are sent; nil records nothing.
	Ledger ledger.Ledger
	// Logger receives warnings; default slog.Default().
	Logger *slog.Logger
}

// Sender sends messages to the queues of one deployment: the handler's
// hops, and on its own `raprov submit` against AWS (Submit) or a dead
// letter replay. It is safe for concurrent use.
type Sender struct {
	api    SendAPI
	queues Queues
	ledger ledger.Ledger
	log    *slog.Logger

	// now and maxDelay are variables for tests.
	now      func() time.Time
	maxDelay time.Duration
}

// NewSender returns a Sender over api to queues.
func NewSender(api SendAPI, queues Queues, opts SenderOptions) *Sender {
	return &Sender{
		api: api, queues: queues, ledger: opts.Ledger,
		log: cmp.Or(opts.Logger, slog.Default()),
		now: time.Now, maxDelay: MaxDelay,
	}
}

// Queues returns the queues the Sender sends to.
func (s *Sender) Queues() Queues { return s.queues }

// Send sends msgs to the queue called queue (a step name or
// events.Results), in batches of at most MaxBatchEntries entries and
// MaxBatchBytes bytes. A message's Delay is rounded up to whole seconds; a
// delay longer than MaxDelay is sent as MaxDelay with AttrNotBefore set to
// the time it is due, and the handler sends it on until then (see
// NewHandler). Send returns once every message is stored, or an error when
// one could not be sent; messages of other batches may have been sent
// then.
func (s *Sender) Send(ctx context.Context, queue string, msgs ...transport.Message) error {
	now := s.now()
	entries := make([]entry, len(msgs))
	for i, m := range msgs {
		entries[i] = entry{body: string(m.Body)}
		if m.Delay > s.maxDelay {
			entries[i].attrs = map[string]types.MessageAttributeValue{
				AttrNotBefore: stringAttr(now.Add(m.Delay).UTC().Format(time.RFC3339Nano)),
			}
		}
		entries[i].delay = s.delaySeconds(m.Delay)
	}
	if err := s.sendURL(ctx, s.queues.URL(queue), entries); err != nil {
		return fmt.Errorf("sqs: send to %s: %w", queue, err)
	}
	return nil
}

// Submit sends msgs to intake's queue, as `raprov submit` does against AWS.
func (s *Sender) Submit(ctx context.Context, msgs ...transport.Message) error {
	return s.Send(ctx, events.StepIntake, msgs...)
}

// Publish sends the messages of send, by destination queue in name order,
// and once all are sent records entries in the ledger (if any): a hop's
// outcome (runner.Outcome.Send and Record). An error leaves the hop
// unfinished: some messages may have been sent, and nothing was recorded.
func (s *Sender) Publish(ctx context.Context, send map[string][]transport.Message, entries []ledger.Entry) error {
	for _, queue := range slices.Sorted(maps.Keys(send)) {
		if err := s.Send(ctx, queue, send[queue]...); err != nil {
			return err
		}
	}
	if s.ledger != nil && len(entries) > 0 {
		if err := s.ledger.Record(ctx, entries...); err != nil {
			return fmt.Errorf("sqs: record ledger: %w", err)
		}
	}
	return nil
}

// delaySeconds returns d as SQS's DelaySeconds: rounded up to whole
// seconds, at most maxDelay.
func (s *Sender) delaySeconds(d time.Duration) int32 {
	d = min(d, s.maxDelay)
	if d <= 0 {
		return 0
	}
	return int32((d + time.Second - 1) / time.Second)
}

// entry is one message to send.
type entry struct {
	body  string
	delay int32
	attrs map[string]types.MessageAttributeValue
}

func (e entry) size() int {
	n := len(e.body)
	for k, v := range e.attrs {
		n += len(k) + len(deref(v.DataType)) + len(deref(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// sendURL sends entries to the queue at url in batches, retrying the
// entries a batch reports as failed by no fault of the sender.
func (s *Sender) sendURL(ctx context.Context, url string, entries []entry) error {
	for len(entries) > 0 {
		n, size := 0, 0
		for n < len(entries) && n < MaxBatchEntries {
			sz := entries[n].size()
			if sz > MaxBatchBytes {
				return fmt.Errorf("message of %d bytes is over the %d-byte limit", sz, MaxBatchBytes)
			}
			if size+sz > MaxBatchBytes {
				break
			}
			size += sz
			n++
		}
		if err := s.sendBatch(ctx, url, entries[:n]); err != nil {
			return err
		}
		entries = entries[n:]
	}
	return nil
}

func (s *Sender) sendBatch(ctx context.Context, url string, batch []entry) error {
	pending := make(map[string]entry, len(batch))
	for i, e := range batch {
		pending[strconv.Itoa(i)] = e
	}
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		in := &sqs.SendMessageBatchInput{QueueUrl: &url}
		for _, id := range slices.Sorted(maps.Keys(pending)) {
			e := pending[id]
			in.Entries = append(in.Entries, types.SendMessageBatchRequestEntry{
				Id: ptr(id), MessageBody: ptr(e.body), DelaySeconds: e.delay, MessageAttributes: e.attrs,
			})
		}
		out, err := s.api.SendMessageBatch(ctx, in)
		if err != nil {
			return err
		}
		for _, ok := range out.Successful {
			delete(pending, deref(ok.Id))
		}
		if len(pending) == 0 {
			return nil
		}
		var errs []error
		retry := true
		for _, f := range out.Failed {
			if _, ok := pending[deref(f.Id)]; !ok {
				continue
			}
			errs = append(errs, fmt.Errorf("entry %s: %s: %s", deref(f.Id), deref(f.Code), deref(f.Message)))
			retry = retry && !f.SenderFault
		}
		if len(errs) == 0 {
			errs = append(errs, fmt.Errorf("%d entries neither sent nor failed", len(pending)))
		}
		if !retry || attempt == sendAttempts {
			return fmt.Errorf("%d of %d messages not sent: %w", len(pending), len(batch), errors.Join(errs...))
		}
		s.log.WarnContext(ctx, "sqs batch partly failed; retrying the failed entries", "failed", len(pending), "attempt", attempt)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, time.Second)
	}
}

// stringAttr returns a String message attribute.
func stringAttr(v string) types.MessageAttributeValue {
	return types.MessageAttributeValue{DataType: ptr("String"), StringValue: &v}
}

// numberAttr returns a Number message attribute.
func numberAttr(n int) types.MessageAttributeValue {
	v := strconv.Itoa(n)
	return types.MessageAttributeValue{DataType: ptr("Number"), StringValue: &v}
}

// attrValue cuts s to max bytes on a rune boundary and drops the
// characters SQS refuses in attribute values (it takes #x9, #xA, #xD,
// #x20–#xD7FF and #xE000–#xFFFD, and supplementary planes).
func attrValue(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r >= 0xD800 && r < 0xE000, r == 0xFFFE, r == 0xFFFF, r == utf8.RuneError:
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	return s
}

func ptr[T any](v T) *T { return &v }

// deref returns *p, or the zero value for nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
