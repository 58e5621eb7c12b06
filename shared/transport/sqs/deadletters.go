package sqs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/transport"
)

// DeadLettersOptions configure DeadLetters. Zero values select the defaults.
type DeadLettersOptions struct {
	// Visibility is how long a scan hides the dead letters it has seen
	// before it puts them back; default 30 s. It must outlast one scan.
	Visibility time.Duration
	// Wait is the long-poll wait of each scan receive, in whole seconds;
	// default 1 s, negative for short polls. SQS answers a short poll from
	// a sample of its servers, so a short poll can miss messages; an
	// emulator need not wait.
	Wait time.Duration
}

// DeadLetters inspects and replays the dead-letter queues of one
// deployment's steps (Queues.DLQ of each of events.AllSteps), for `raprov dlq`.
// A queue argument names a step's queue; "" means every step's.
//
// SQS has no way to read a queue without receiving from it, nor to address
// a message by id: it is received (hidden for a while) and then deleted or
// released by its receipt handle. So, unlike the embedded transport:
//   - List, Get, Requeue and Delete scan: they receive every message of the
//     dead-letter queue(s), hiding each for DeadLettersOptions.Visibility, until they
//     have what they need or no new message comes, then release what they
//     hold (ChangeMessageVisibility 0). That costs a receive per ten
//     messages, counts as a receive of each message
//     (ApproximateReceiveCount), and a message another reader holds at the
//     time is not seen: Get and Requeue answer NotFound for it and Delete
//     does nothing. Two scans at once hide messages from each other.
//   - List is not "oldest first" over the whole queue: SQS returns
//     messages in no set order, so List sorts what its scan collected.
//   - Count is SQS's approximate count (ApproximateNumberOfMessages plus
//     ApproximateNumberOfMessagesNotVisible), not an exact one.
//   - Purge is PurgeQueue: SQS allows it once a minute per queue, takes up
//     to a minute to finish, and does not say how many it removed: the
//     count returned is the approximate count read just before.
//   - Requeue and Replay send first, then delete: a crash in between
//     leaves the dead letter in place as well (replay is at least once).
//   - ID is the SQS message id in the dead-letter queue: a message the
//     handler dead-lettered has a new one; one SQS's redrive moved keeps
//     its source-queue id.
//
// A dead letter the handler wrote carries its reason, detail, delivery
// count and time as message attributes. One that SQS's redrive policy moved
// (the function never returned for it MaxReceive + 1 times, see
// runner.Runner.MaxReceive) has none: its Reason is
// transport.ReasonMaxReceive, its Received SQS's receive count (which also
// counts scans) and its At the time it was first sent (SQS records no move
// time). Dead letters expire after the dead-letter queue's retention
// period, counted from the first send for redriven ones.
type DeadLetters struct {
	api        API
	queues     Queues
	visibility int32
	wait       int32
}

var _ transport.DeadLetters = (*DeadLetters)(nil)

// NewDeadLetters returns the dead letters of the steps' queues over api.
func NewDeadLetters(api API, queues Queues, opts DeadLettersOptions) *DeadLetters {
	wait := max(int32(cmp.Or(opts.Wait, time.Second)/time.Second), 0)
	return &DeadLetters{
		api: api, queues: queues,
		visibility: max(int32(cmp.Or(opts.Visibility, 30*time.Second)/time.Second), 1),
		wait:       min(wait, 20),
	}
}

// List implements transport.DeadLetters: up to limit dead letters of
// queue, oldest first among those its scan collected.
func (d *DeadLetters) List(ctx context.Context, queue string, limit int) ([]transport.DeadLetter, error) {
	if limit <= 0 {
		return nil, nil
	}
	var out []transport.DeadLetter
	for _, q := range d.names(queue) {
		held, err := d.scan(ctx, q, limit, func(types.Message) bool { return false })
		for _, m := range held {
			out = append(out, deadLetter(q, m))
		}
		d.release(ctx, q, held)
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(out, func(a, b transport.DeadLetter) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.ID, b.ID))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Count implements transport.DeadLetters, approximately.
func (d *DeadLetters) Count(ctx context.Context, queue string) (int, error) {
	total := 0
	for _, q := range d.names(queue) {
		out, err := d.api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: ptr(d.queues.DLQ(q)),
			AttributeNames: []types.QueueAttributeName{
				types.QueueAttributeNameApproximateNumberOfMessages,
				types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			},
		})
		if err != nil {
			return 0, fmt.Errorf("sqs: count dead letters of %s: %w", q, err)
		}
		for _, v := range out.Attributes {
			n, _ := strconv.Atoi(v)
			total += n
		}
	}
	return total, nil
}

// Get implements transport.DeadLetters by a scan.
func (d *DeadLetters) Get(ctx context.Context, id string) (transport.DeadLetter, error) {
	q, m, err := d.find(ctx, id)
	if err != nil {
		return transport.DeadLetter{}, err
	}
	d.release(ctx, q, []types.Message{m})
	return deadLetter(q, m), nil
}

// Requeue implements transport.DeadLetters by a scan: the dead letter is
// sent back to its queue (body replacing the original unless nil) and
// then deleted.
func (d *DeadLetters) Requeue(ctx context.Context, id string, body []byte) error {
	q, m, err := d.find(ctx, id)
	if err != nil {
		return err
	}
	if err := d.requeue(ctx, q, m, body); err != nil {
		d.release(ctx, q, []types.Message{m})
		return err
	}
	return nil
}

// Replay sends up to limit dead letters of queue ("" = every step's) back
// to the queue they came from, each body passed through bump when it is not
// nil (to increment the event's replay count), and deletes them from the
// dead-letter queue. It returns how many it replayed; on an error, those
// replayed before it (the dead letter it failed on stays). A limit of 0 or
// less replays nothing.
func (d *DeadLetters) Replay(ctx context.Context, queue string, limit int, bump func(body []byte) []byte) (int, error) {
	n := 0
	for _, q := range d.names(queue) {
		if n >= limit {
			break
		}
		var failed error
		replayed := map[string]bool{}
		held, err := d.scan(ctx, q, limit-n, func(m types.Message) bool {
			var body []byte
			if bump != nil {
				body = bump([]byte(deref(m.Body)))
			}
			if failed = d.requeue(ctx, q, m, body); failed != nil {
				return true
			}
			replayed[deref(m.MessageId)] = true
			n++
			return n >= limit
		})
		d.release(ctx, q, slices.DeleteFunc(held, func(m types.Message) bool { return replayed[deref(m.MessageId)] }))
		if err = errors.Join(err, failed); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Delete implements transport.DeadLetters by a scan; an unknown id is not
// an error.
func (d *DeadLetters) Delete(ctx context.Context, id string) error {
	q, m, err := d.find(ctx, id)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	return d.delete(ctx, q, m)
}

// Purge implements transport.DeadLetters with PurgeQueue; the count is
// the approximate one read just before.
func (d *DeadLetters) Purge(ctx context.Context, queue string) (int, error) {
	total := 0
	for _, q := range d.names(queue) {
		n, err := d.Count(ctx, q)
		if err != nil {
			return total, err
		}
		if _, err := d.api.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: ptr(d.queues.DLQ(q))}); err != nil {
			return total, fmt.Errorf("sqs: purge dead letters of %s: %w", q, err)
		}
		total += n
	}
	return total, nil
}

// names returns the steps whose dead-letter queues queue selects.
func (d *DeadLetters) names(queue string) []string {
	if queue == "" {
		return events.AllSteps
	}
	return []string{queue}
}

// find scans every dead-letter queue for the message id and returns it,
// held (hidden); everything else the scan saw is released.
func (d *DeadLetters) find(ctx context.Context, id string) (string, types.Message, error) {
	for _, q := range events.AllSteps {
		var found *types.Message
		held, err := d.scan(ctx, q, 0, func(m types.Message) bool {
			if deref(m.MessageId) == id {
				found = &m
				return true
			}
			return false
		})
		if found != nil {
			held = slices.DeleteFunc(held, func(m types.Message) bool { return deref(m.MessageId) == id })
		}
		d.release(ctx, q, held)
		if err != nil {
			return "", types.Message{}, err
		}
		if found != nil {
			return q, *found, nil
		}
	}
	return "", types.Message{}, apperr.New(apperr.NotFound, "", "dead letter %s not found", id)
}

// scan receives the dead letters of queue, hiding each, and calls visit
// once for each message id until visit returns true, limit messages were
// visited (0 = no limit), or a receive brings nothing new. It returns every
// message it holds, visited or not (the latest receipt handle of each id),
// in the order received: the caller releases those it did not delete.
func (d *DeadLetters) scan(ctx context.Context, queue string, limit int, visit func(types.Message) bool) ([]types.Message, error) {
	url := d.queues.DLQ(queue)
	index := map[string]int{}
	var held []types.Message
	for {
		batch := int32(10)
		if limit > 0 {
			batch = int32(min(10, limit-len(held)))
		}
		out, err := d.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    &url,
			MaxNumberOfMessages:         batch,
			VisibilityTimeout:           d.visibility,
			WaitTimeSeconds:             d.wait,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			return held, fmt.Errorf("sqs: receive dead letters of %s: %w", queue, err)
		}
		fresh, stop := false, false
		for _, m := range out.Messages {
			id := deref(m.MessageId)
			if i, seen := index[id]; seen {
				held[i] = m // the newer receipt handle is the valid one
				continue
			}
			fresh = true
			index[id] = len(held)
			held = append(held, m)
			if !stop {
				stop = visit(m) || limit > 0 && len(held) >= limit
			}
		}
		if stop || !fresh {
			return held, nil
		}
	}
}

// release makes held messages of queue's dead-letter queue visible again.
// A failure is not reported: they reappear after the scan's visibility
// timeout anyway.
func (d *DeadLetters) release(ctx context.Context, queue string, held []types.Message) {
	url := d.queues.DLQ(queue)
	for batch := range slices.Chunk(held, 10) {
		in := &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &url}
		for i, m := range batch {
			in.Entries = append(in.Entries, types.ChangeMessageVisibilityBatchRequestEntry{
				Id: ptr(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0,
			})
		}
		d.api.ChangeMessageVisibilityBatch(context.WithoutCancel(ctx), in)
	}
}

// requeue sends a held dead letter back to its queue as a new message
// (body, or its own when nil) and deletes it from the dead-letter queue.
func (d *DeadLetters) requeue(ctx context.Context, queue string, m types.Message, body []byte) error {
	b := deref(m.Body)
	if body != nil {
		b = string(body)
	}
	url := d.queues.URL(queue)
	out, err := d.api.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{
		QueueUrl: &url,
		Entries:  []types.SendMessageBatchRequestEntry{{Id: ptr("0"), MessageBody: &b}},
	})
	if err == nil && len(out.Failed) > 0 {
		err = fmt.Errorf("%s: %s", deref(out.Failed[0].Code), deref(out.Failed[0].Message))
	}
	if err != nil {
		return fmt.Errorf("sqs: requeue dead letter %s to %s: %w", deref(m.MessageId), queue, err)
	}
	return d.delete(ctx, queue, m)
}

// delete deletes a held dead letter.
func (d *DeadLetters) delete(ctx context.Context, queue string, m types.Message) error {
	_, err := d.api.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: ptr(d.queues.DLQ(queue)), ReceiptHandle: m.ReceiptHandle})
	if err != nil {
		return fmt.Errorf("sqs: delete dead letter %s of %s: %w", deref(m.MessageId), queue, err)
	}
	return nil
}

// deadLetter describes a message received from queue's dead-letter queue.
func deadLetter(queue string, m types.Message) transport.DeadLetter {
	attr := func(name string) string { return deref(m.MessageAttributes[name].StringValue) }
	dl := transport.DeadLetter{
		ID:     deref(m.MessageId),
		Queue:  queue,
		Body:   []byte(deref(m.Body)),
		Reason: attr(AttrReason),
		Detail: attr(AttrDetail),
	}
	if dl.Reason == "" {
		// Moved by the queue's redrive policy: the function never returned
		// for it, every time.
		dl.Reason = transport.ReasonMaxReceive
		dl.Detail = "moved to the dead-letter queue by the queue's redrive policy"
		dl.Received, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
			dl.At = time.UnixMilli(ms).UTC()
		}
		return dl
	}
	dl.Received, _ = strconv.Atoi(attr(AttrReceived))
	dl.At, _ = time.Parse(time.RFC3339Nano, attr(AttrDeadLetteredAt))
	return dl
}
