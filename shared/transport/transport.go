// Package transport holds the message-level interfaces every raprov queue
// satisfies: the embedded SQLite queue (transport/local), SQS and Service Bus.
// Bodies are opaque here; they carry encoded events.
//
// Delivery contract, common to every transport: a received message is hidden
// from other receivers for the queue's visibility timeout. The receiver
// acknowledges it with Delete (or moves it aside with DeadLetter); anything
// else — an error, a panic, a crash — leaves it to reappear after the
// timeout with Received incremented. Once Received reaches the queue's
// maximum, the transport moves the message to the dead-letter queue with
// reason ReasonMaxReceive. Delivery is at least once: consumers must be
// idempotent.
package transport

import (
	"context"
	"time"
)

// ReasonMaxReceive is the dead-letter reason of a message that was received
// the queue's maximum number of times without being acknowledged.
const ReasonMaxReceive = "max_receive_exceeded"

// ReasonMisrouted is the dead-letter reason of a well-formed event whose type
// is not routed to the queue it arrived on (events.Routes): a step never
// runs an event meant for another step.
const ReasonMisrouted = "misrouted"

// Message is an outgoing message.
type Message struct {
	Body []byte
	// Delay keeps the message invisible for this long after it is sent.
	// Transports round it to their granularity (SQS: whole seconds, at most 15 minutes).
	Delay time.Duration
}

// Delivery is a received message.
type Delivery struct {
	// ID identifies this delivery to Extend, Delete and DeadLetter. It is
	// opaque: a message id on some transports, a receipt handle on others.
	ID   string
	Body []byte
	// Received is the delivery count: 1 on the first delivery.
	Received int
}

// Sender sends to one queue.
type Sender interface {
	// Send enqueues messages. It returns only once they are stored durably.
	Send(ctx context.Context, msgs ...Message) error
}

// Receiver receives and settles the messages of one queue.
type Receiver interface {
	// Receive returns the next visible message, hiding it for the queue's
	// visibility timeout, or nil, nil when none is visible. It does not wait.
	Receive(ctx context.Context) (*Delivery, error)
	// Extend hides an in-flight message for d from now, for handlers that
	// outlast the visibility timeout.
	Extend(ctx context.Context, id string, d time.Duration) error
	// Delete acknowledges a message: it is never delivered again. Deleting a
	// message that is already gone is not an error.
	Delete(ctx context.Context, id string) error
	// DeadLetter moves an in-flight message to the dead-letter queue with a
	// short machine-readable reason and a human-readable detail (no secrets).
	DeadLetter(ctx context.Context, d Delivery, reason, detail string) error
}

// Queue is one named queue a process both sends to and consumes (the
// embedded default). Hosts whose platform consumes for them (SQS under
// Lambda) only implement Sender.
type Queue interface {
	// Name is the queue's name, as DeadLetters reports it.
	Name() string
	Sender
	Receiver
}

// DeadLetter is a message parked in a dead-letter queue.
type DeadLetter struct {
	ID       string
	Queue    string // the queue it was dead-lettered from, and goes back to on Requeue
	Body     []byte
	Reason   string // ReasonMaxReceive or the reason given to Queue.DeadLetter
	Detail   string
	Received int       // delivery count when it was dead-lettered
	At       time.Time // when it was dead-lettered
}

// DeadLetterQueues is what every host's dead-letter queues offer the
// operator, including hosts that cannot address a dead letter by id without
// scanning (SQS). Methods that name a queue accept "" for every queue.
type DeadLetterQueues interface {
	// List returns up to limit dead letters, oldest first where the host
	// can tell.
	List(ctx context.Context, queue string, limit int) ([]DeadLetter, error)
	// Count returns how many dead letters there are.
	Count(ctx context.Context, queue string) (int, error)
	// Delete discards one dead letter; an unknown id is not an error.
	Delete(ctx context.Context, id string) error
	// Purge discards dead letters and returns how many (hosts that cannot
	// count what they purge return the count they saw before).
	Purge(ctx context.Context, queue string) (int, error)
}

// DeadLetters inspects and replays dead-letter queues that address each
// dead letter by id (the embedded default). Get and Requeue return an
// *apperr.Error with code NotFound for an unknown id.
type DeadLetters interface {
	DeadLetterQueues
	// Get returns one dead letter.
	Get(ctx context.Context, id string) (DeadLetter, error)
	// Requeue sends a dead letter back to its queue as a new message
	// (Received starts again at 1) and removes it from the dead-letter queue.
	// A non-nil body replaces the original, e.g. to bump a replay count.
	Requeue(ctx context.Context, id string, body []byte) error
}
