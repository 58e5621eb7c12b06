// Package sqs is raprov's AWS host: it runs a step's runner.Runner under
// Lambda on the step's SQS queue (NewHandler), sends messages to the
// chain's queues (Sender, also `raprov submit` against AWS) and inspects
// and replays their dead-letter queues (DeadLetters, for `raprov dlq`). It
// is the only package that imports aws-lambda-go and the SQS SDK; the
// caller builds the *sqs.Client (this package does not link the SDK's
// config loader) and passes it as the small API interfaces it needs.
//
// # Queues
//
// One standard queue per step, named after it (events.AllSteps), each with a
// dead-letter queue named name + DLQSuffix, plus events.Results for the
// final outcomes; every URL is a common prefix
// ($RAPROV_SQS_QUEUE_URL_PREFIX) plus the name (Queues). Each step's queue
// needs:
//   - an event source mapping with FunctionResponseTypes
//     ReportBatchItemFailures, so that the handler's BatchItemFailures
//     settle records one by one;
//   - a redrive policy to its dead-letter queue with maxReceiveCount of at
//     least runner.Runner.MaxReceive + 1, so that the handler, not SQS,
//     sees the delivery after the runner's last and ends the request
//     (runner.Runner.Exhausted); SQS's redrive only catches a message whose
//     handler never returned even then;
//   - a visibility timeout of at least six times the function's timeout
//     (AWS's advice for Lambda event sources).
//
// # Who acknowledges what
//
// Lambda deletes every record of a batch that the handler does not list in
// BatchItemFailures; a listed record comes back after its visibility
// timeout with ApproximateReceiveCount incremented. For each record the
// handler applies the runner's outcome in the order send → record →
// dead-letter → acknowledge, so a crash at any point redelivers the record
// and never loses a hop:
//
//	what happened                                 the handler
//	--------------------------------------------  ------------------------------------------------------
//	AttrNotBefore in the future (chained delay)   sends the record on with the remaining delay (≤ MaxDelay)
//	                                              and its attributes; acknowledges it; the step does not run
//	ApproximateReceiveCount > MaxReceive          runner.Exhausted: as DeadLetter below, step not run
//	runner.Ack                                    sends Outcome.Send, records Outcome.Record; acknowledges
//	runner.DeadLetter                             sends, records, sends the body to the dead-letter queue with
//	                                              AttrReason, AttrDetail, AttrReceived, AttrSourceQueue,
//	                                              AttrDeadLetteredAt, AttrRequestID; acknowledges
//	runner.Retry                                  lists the record (optionally backs its visibility off)
//	a send, a ledger write or a DLQ send failed   lists the record; nothing is acknowledged
//	a panic anywhere                              recovered per record; lists the record
//
// The handler never returns an error: one bad record never fails the batch.
//
// # Delays
//
// SQS delays a message by whole seconds, at most MaxDelay (15 minutes). The
// Sender rounds a transport.Message's Delay up to whole seconds; a longer
// delay (check-license can park for hours) is sent with MaxDelay and
// AttrNotBefore set to when it is due, and the handler sends it on until
// then. Each hop is a new message: its receive count starts again at 1.
//
// # Function URL
//
// A function may also answer a Lambda Function URL (InvokeMode BUFFERED)
// with the same bootstrap: Dispatch tells an SQS event ("Records" of
// eventSource aws:sqs) from a Function URL request ("requestContext" with
// "http") and hands the first to the SQS handler, the second to an
// http.Handler through FunctionURL, the adapter that rebuilds the request
// as sent (escaped path, base64 bodies) and buffers the answer. Any other
// payload is ErrUnknownEvent, logged without its content. Intake serves
// raprov's HTTP door this way (functions/internal/httpdoor); the requests
// it submits go to intake's queue through package sqssubmit.
//
// # Emulator
//
// The tests run against fauxqs (infra/awslocal). It lacks
// StartMessageMoveTask (not used here: DeadLetters replays by receive, send
// and delete) and the DeadLetterQueueSourceArn attribute (not needed: the
// dead-letter queue's name gives the source queue), and it does not cap
// batches at 256 KiB (the Sender does); see awslocal.SQS.
package sqs
