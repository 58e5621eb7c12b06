package sqs

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/raprov/raprov/shared/logctx"
	"github.com/raprov/raprov/shared/runner"
)

// HandlerOptions configure NewHandler. Zero values select the defaults.
type HandlerOptions struct {
	// Concurrency bounds the records of one batch handled at once; default
	// 1 (one after the other, in order). Whatever it is, the response lists
	// failures in record order.
	Concurrency int
	// Visibility and Backoff, when both are set, hide a record the step
	// left for redelivery (runner.Retry) for Backoff(received) from now,
	// instead of the queue's visibility timeout; a failed change is only
	// logged.
	Visibility VisibilityAPI
	Backoff    func(received int) time.Duration
	// Logger receives JSON-ready structured logs: every record's line
	// carries the queue, the SQS message id and the Lambda request id, never
	// the body. Default slog.Default().
	Logger *slog.Logger
}

// Handler is a Lambda handler of SQS batches, for lambda.StartHandlerFunc
// with the event source mapping's ReportBatchItemFailures on.
type Handler = func(context.Context, lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error)

// NewHandler returns the Lambda handler of the queue of r's step, which
// sends with s. For each record it
//
//  1. sends the record on, unrun, if it carries an AttrNotBefore still in
//     the future (a chained delay), and acknowledges it;
//  2. otherwise runs r.Handle with Received = ApproximateReceiveCount, or
//     r.Exhausted when that count is above MaxReceive;
//  3. applies the runner.Outcome in order: Retry reports the record in
//     BatchItemFailures (it comes back after the visibility timeout);
//     otherwise the outcome's messages are sent and its ledger lines
//     recorded (Sender.Publish), a DeadLetter outcome sends the body to
//     the queue's dead-letter queue with the attributes AttrReason,
//     AttrDetail, AttrReceived, AttrSourceQueue, AttrDeadLetteredAt and
//     AttrRequestID, and the record is acknowledged by leaving it out of
//     BatchItemFailures (Lambda deletes it).
//
// Any failure while applying an outcome, and a panic anywhere, reports the
// record in BatchItemFailures: it is delivered again and, the steps being
// idempotent, converges. One record never fails another, and the handler
// never returns an error (which would fail the whole batch).
func NewHandler(r *runner.Runner, s *Sender, opts HandlerOptions) Handler {
	log := cmp.Or(opts.Logger, slog.Default())
	h := &handler{
		r: r, s: s, name: r.Name(),
		maxReceive:  r.MaxReceive(),
		concurrency: max(opts.Concurrency, 1),
		visibility:  opts.Visibility,
		backoff:     opts.Backoff,
		log:         slog.New(logctx.Handler(log.Handler())),
	}
	return h.handle
}

type handler struct {
	r           *runner.Runner
	s           *Sender
	name        string
	maxReceive  int
	concurrency int
	visibility  VisibilityAPI
	backoff     func(int) time.Duration
	log         *slog.Logger
}

func (h *handler) handle(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		ctx = logctx.With(ctx, "aws_request_id", lc.AwsRequestID)
	}
	failed := make([]bool, len(ev.Records))
	if h.concurrency == 1 {
		for i := range ev.Records {
			failed[i] = !h.record(ctx, &ev.Records[i])
		}
	} else {
		sem := make(chan struct{}, h.concurrency)
		var wg sync.WaitGroup
		for i := range ev.Records {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				failed[i] = !h.record(ctx, &ev.Records[i])
			}()
		}
		wg.Wait()
	}
	var resp lambdaevents.SQSEventResponse
	for i, f := range failed {
		if f {
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: ev.Records[i].MessageId})
		}
	}
	return resp, nil
}

// record handles one record and reports whether it may be acknowledged.
func (h *handler) record(ctx context.Context, m *lambdaevents.SQSMessage) (ok bool) {
	received := receiveCount(m)
	ctx = logctx.With(ctx, "queue", h.name, "message_id", m.MessageId, "received", received)
	defer func() {
		if p := recover(); p != nil {
			h.log.ErrorContext(ctx, "panic while handling a record; left for redelivery", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			ok = false
		}
	}()
	if err := ctx.Err(); err != nil {
		h.log.WarnContext(ctx, "record not handled; left for redelivery", "error", err.Error())
		return false
	}

	now := h.s.now()
	if nb, ok := notBefore(m); ok && nb.After(now.Add(MaxChainedDelay)) {
		// No step parks a message this long: a not-before this far ahead
		// was not written by raprov, and chaining it would bounce the
		// message between queue and function for ever, never reaching the
		// dead-letter queue.
		o := runner.Outcome{Action: runner.DeadLetter, Reason: ReasonInvalidDelay,
			Detail: fmt.Sprintf("%s %s is more than %s ahead", AttrNotBefore, nb.Format(time.RFC3339), MaxChainedDelay)}
		if err := h.deadLetter(ctx, m, o, received); err != nil {
			h.log.ErrorContext(ctx, "could not dead-letter the record; left for redelivery", "reason", o.Reason, "error", err.Error())
			return false
		}
		h.log.WarnContext(ctx, "record dead-lettered", "reason", o.Reason)
		return true
	} else if ok && nb.After(now) {
		// A chained delay: send it on, attributes and all, until it is due.
		err := h.s.sendURL(ctx, h.s.queues.URL(h.name), []entry{{
			body: m.Body, delay: h.s.delaySeconds(nb.Sub(now)), attrs: messageAttributes(m.MessageAttributes),
		}})
		if err != nil {
			h.log.ErrorContext(ctx, "could not send a delayed message on; left for redelivery", "error", err.Error())
			return false
		}
		h.log.DebugContext(ctx, "delay chained", "not_before", nb.Format(time.RFC3339))
		return true
	}

	var o runner.Outcome
	if received > h.maxReceive {
		o = h.r.Exhausted(ctx, []byte(m.Body), received)
	} else {
		o = h.r.Handle(ctx, runner.Delivery{Body: []byte(m.Body), Received: received})
	}
	if o.RequestID != "" {
		ctx = logctx.With(ctx, "request_id", o.RequestID)
	}
	if o.Action == runner.Retry {
		errText := "<nil>"
		if o.Err != nil {
			errText = o.Err.Error()
		}
		h.log.WarnContext(ctx, "step failed; record left for redelivery", "error", errText)
		h.backOff(ctx, m, received)
		return false
	}
	if err := h.s.Publish(ctx, o.Send, o.Record); err != nil {
		h.log.ErrorContext(ctx, "could not publish the step's outcome; record left for redelivery", "error", err.Error())
		return false
	}
	if o.Action == runner.DeadLetter {
		if err := h.deadLetter(ctx, m, o, received); err != nil {
			h.log.ErrorContext(ctx, "could not dead-letter the record; left for redelivery", "reason", o.Reason, "error", err.Error())
			return false
		}
		h.log.WarnContext(ctx, "record dead-lettered", "reason", o.Reason)
		return true
	}
	h.log.DebugContext(ctx, "record done")
	return true
}

// deadLetter sends the record's body to its queue's dead-letter queue,
// explained by message attributes.
func (h *handler) deadLetter(ctx context.Context, m *lambdaevents.SQSMessage, o runner.Outcome, received int) error {
	attrs := map[string]types.MessageAttributeValue{
		AttrReason:         stringAttr(cmp.Or(attrValue(o.Reason, 256), "unknown")),
		AttrReceived:       numberAttr(received),
		AttrSourceQueue:    stringAttr(h.name),
		AttrDeadLetteredAt: stringAttr(h.s.now().UTC().Format(time.RFC3339Nano)),
	}
	if d := attrValue(o.Detail, MaxDetail); d != "" {
		attrs[AttrDetail] = stringAttr(d)
	}
	if id := attrValue(o.RequestID, 256); id != "" {
		attrs[AttrRequestID] = stringAttr(id)
	}
	return h.s.sendURL(ctx, h.s.queues.DLQ(h.name), []entry{{body: m.Body, attrs: attrs}})
}

// backOff hides a record left for redelivery for Backoff(received).
func (h *handler) backOff(ctx context.Context, m *lambdaevents.SQSMessage, received int) {
	if h.visibility == nil || h.backoff == nil {
		return
	}
	secs := min(max(int32((h.backoff(received)+time.Second-1)/time.Second), 0), 43200)
	_, err := h.visibility.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: ptr(h.s.queues.URL(h.name)), ReceiptHandle: &m.ReceiptHandle, VisibilityTimeout: secs,
	})
	if err != nil {
		h.log.WarnContext(ctx, "could not back off a failed record", "error", err.Error())
	}
}

// receiveCount returns the record's ApproximateReceiveCount, 1 when absent.
func receiveCount(m *lambdaevents.SQSMessage) int {
	n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// MaxChainedDelay bounds how far ahead a message's AttrNotBefore may be.
// The steps park for at most 30 minutes at a time (steps.Config's
// backoffs, steps.MaxRetryDelay); a day leaves room for any tuning.
const MaxChainedDelay = 24 * time.Hour

// ReasonInvalidDelay is the dead-letter reason of a message whose
// AttrNotBefore lies more than MaxChainedDelay ahead.
const ReasonInvalidDelay = "invalid_delay"

// notBefore returns the record's AttrNotBefore, if it has a valid one.
func notBefore(m *lambdaevents.SQSMessage) (time.Time, bool) {
	a, ok := m.MessageAttributes[AttrNotBefore]
	if !ok || a.StringValue == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, *a.StringValue)
	return t, err == nil
}

// messageAttributes converts a record's message attributes for sending.
func messageAttributes(in map[string]lambdaevents.SQSMessageAttribute) map[string]types.MessageAttributeValue {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(in))
	for k, a := range in {
		out[k] = types.MessageAttributeValue{DataType: ptr(a.DataType), StringValue: a.StringValue, BinaryValue: a.BinaryValue}
	}
	return out
}
