// Package events defines raprov's events: the CloudEvents 1.0 envelope, the
// closed set of event types and which step consumes each, the payload every
// event carries, the reason codes of failures, and the one codec every
// transport uses.
//
// # Envelope
//
// An Event is a CloudEvents 1.0 event in structured JSON mode: specversion
// "1.0", id (a UUIDv7, unique per emission), source ("raprov/<step>"), type
// ("raprov.<name>.v1"), subject (the request id), time (RFC 3339, UTC),
// datacontenttype "application/json", data, and the extensions traceparent
// (W3C Trace Context), attempt (per-step retry count) and replaycount (DLQ
// replays). docs/events.md is the reference.
//
// The envelope is a small hand-written struct rather than
// github.com/cloudevents/sdk-go/v2/event. Measured with Go 1.26 for
// linux/arm64 (the Lambda target), a tiny program that builds, encodes and
// decodes one event is 2.36 MB stripped with encoding/json and 3.34 MB with
// the SDK (+0.98 MB, +42%; 3.44 vs 4.85 MB unstripped), because the SDK
// brings json-iterator, modern-go/reflect2 and its data codecs. raprov
// uses one fixed set of attributes, JSON data only, so the SDK's generality
// buys nothing that the checks in this package (see Decode) do not already
// give, and every Lambda binary would pay for it.
//
// # Codec
//
// Encode and Decode are the only way events become bytes and back. Both
// enforce MaxSize and the same rules; whatever Decode cannot accept is
// reported as a *PoisonError, which transports send to the dead-letter queue
// with its Reason instead of retrying.
//
// # Payload
//
// Every event carries the full normalised request and what earlier steps
// learned (Data), so any step can run from its event alone and a replay from
// the dead-letter queue needs nothing else. Request validation lives in the
// subpackage validate, which is the only importer of the phone number library:
// steps other than intake do not link it.
package events
