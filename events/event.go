package events

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Fixed attributes of every event.
const (
	SpecVersion = "1.0"              // CloudEvents specversion
	ContentType = "application/json" // datacontenttype
)

// Event is a raprov CloudEvent. Build events with New and the methods below,
// which keep the invariants Encode checks: a fresh ID per emission and
// Subject equal to Data.Request.RequestID.
type Event struct {
	ID          string    // unique per emission (UUIDv7)
	Source      string    // "raprov/<step>" of the emitter
	Type        string    // one of the Type* constants
	Subject     string    // the request id; may be empty only on provisioning.requested
	Time        time.Time // emission time, UTC
	TraceParent string    // W3C traceparent: the request's trace and the span that emitted the event (steps.Tracing sets it); may be empty
	Attempt     int       // per-step retry count: 0 on first delivery of a new event
	ReplayCount int       // how often the request was replayed from a dead-letter queue

	// Delay is a transport hint, not part of the encoded event: deliver no
	// earlier than now+Delay. Transports cap it to what they support and
	// chain longer waits.
	Delay time.Duration `json:"-"`

	Data Data
}

// Data is the payload of every event type: the full normalised request plus
// what earlier steps learned. Failure is set on provisioning.failed and only
// there.
type Data struct {
	Request  Request  `json:"request"`
	Progress Progress `json:"progress"`
	Failure  *Failure `json:"failure,omitempty"`
}

// Request is a provisioning request (DESIGN §1). On provisioning.requested
// it is as submitted; from provisioning.accepted on it is normalised (see
// package validate).
type Request struct {
	RequestID         string `json:"requestId,omitempty"`
	DisplayName       string `json:"displayName,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	AccountType       string `json:"accountType,omitempty"`   // AccountType* constant
	UsageLocation     string `json:"usageLocation,omitempty"` // ISO 3166-1 alpha-2
	PhoneNumber       string `json:"phoneNumber,omitempty"`   // E.164; empty = no number
	NumberType        string `json:"numberType,omitempty"`    // NumberType* constant
	AssociateWith     string `json:"associateWith,omitempty"` // auto attendant / call queue id; empty = none
	CallbackURL       string `json:"callbackUrl,omitempty"`   // https; empty = no callback
	// Adopt lets the request take over an existing resource account of the
	// same type with its UPN that raprov did not create for it; without it
	// such an account is an upn_conflict. An adopted account that holds
	// another number never gets a second one.
	Adopt bool `json:"adopt,omitempty"`

	// Action is what the request asks for: empty for provisioning (the
	// field is omitted, so older requests keep their fingerprints) or
	// ActionDeprovision.
	Action string `json:"action,omitempty"`
	// Target is, on a deprovision request, the id of the provisioning
	// request whose account is removed. When it is set the account must
	// carry exactly that request's ownership mark; when it is empty the
	// account is found by userPrincipalName and must carry any raprov mark.
	Target string `json:"target,omitempty"`
}

// Request actions. Provisioning has no name on the wire: it is the empty
// Action.
const (
	ActionProvision   = ""
	ActionDeprovision = "deprovision"
)

// DeprovisionID is the request id of the deprovision request that the doors
// which name a provisioning request (raprov deprovision REQUEST_ID, DELETE
// /requests/{id}) submit for target: the same target always gives the same
// id, so asking twice removes the account once. It fits the 128 characters
// of a request id: a long target is replaced by its hash.
func DeprovisionID(target string) string {
	const prefix = "deprovision:"
	if len(prefix)+len(target) <= 128 {
		return prefix + target
	}
	sum := sha256.Sum256([]byte(target))
	return prefix + "sha256:" + hex.EncodeToString(sum[:])
}

// Deprovision reports whether r asks to remove an account.
func (r Request) Deprovision() bool { return r.Action == ActionDeprovision }

// Account types of a normalised request.
const (
	AccountTypeAutoAttendant = "autoAttendant"
	AccountTypeCallQueue     = "callQueue"
)

// Number types of a normalised request (Graph teamsAdministration numberType).
const (
	NumberTypeCallingPlan     = "callingPlan"
	NumberTypeOperatorConnect = "operatorConnect"
	NumberTypeDirectRouting   = "directRouting"
)

// Progress is what the steps have learned and decided so far. Each step
// fills its own fields and copies the rest along.
type Progress struct {
	// intake
	AcceptedAt time.Time `json:"acceptedAt,omitzero"` // when intake accepted the request

	// check-license
	NumberChecked    bool      `json:"numberChecked,omitempty"`   // the requested number passed the pre-flight inventory check
	SkuID            string    `json:"skuId,omitempty"`           // skuId of the resource-account license
	LicenseWaitSince time.Time `json:"licenseWaitSince,omitzero"` // first check that found no free seat
	LicenseChecks    int       `json:"licenseChecks,omitempty"`   // license checks made so far

	// create-account
	ObjectID       string `json:"objectId,omitempty"`       // Entra object id of the resource account
	AccountReused  bool   `json:"accountReused,omitempty"`  // an existing account was continued: one this request created earlier, or one it adopted
	AccountAdopted bool   `json:"accountAdopted,omitempty"` // the account was adopted (request.adopt): raprov did not create it
	ApplicationID  string `json:"applicationId,omitempty"`  // Teams application id the account is bound to

	// assign-license
	LicenseReused    bool `json:"licenseReused,omitempty"`    // the SKU was already assigned
	UsageLocationSet bool `json:"usageLocationSet,omitempty"` // assign-license set the usage location of a reused account

	// Teams sync: create-account, assign-number and associate park while
	// Teams does not know the new or newly licensed account yet.
	TeamsWaitSince  time.Time `json:"teamsWaitSince,omitzero"`   // first time Teams did not know the account
	TeamsWaits      int       `json:"teamsWaits,omitempty"`      // parked rounds so far
	TeamsWaitReplay int       `json:"teamsWaitReplay,omitempty"` // the replay count the wait began under: a replay starts a new wait

	// assign-number
	NumberSkipped      bool      `json:"numberSkipped,omitempty"`     // no number was requested
	OperationID        string    `json:"operationId,omitempty"`       // number assignment operation
	NumberPendingSince time.Time `json:"numberPendingSince,omitzero"` // when the assignment was started
	NumberPolls        int       `json:"numberPolls,omitempty"`       // operation polls made so far
	NumberAttempts     int       `json:"numberAttempts,omitempty"`    // assignment operations started before the current one
	NumberReused       bool      `json:"numberReused,omitempty"`      // the number was already assigned to the account

	// associate
	AssociationSkipped bool `json:"associationSkipped,omitempty"` // no associateWith was requested

	// Deprovisioning.
	Owner           string   `json:"owner,omitempty"`           // the provisioning request whose ownership mark the account carries
	AccountAbsent   bool     `json:"accountAbsent,omitempty"`   // the target account no longer existed: nothing was removed
	Unassociated    bool     `json:"unassociated,omitempty"`    // the account's association was removed (or it had none)
	ReleasedNumbers []string `json:"releasedNumbers,omitempty"` // numbers unassigned from the account
	UnassignNumber  string   `json:"unassignNumber,omitempty"`  // the number whose unassignment OperationID is
	LicenseRemoved  bool     `json:"licenseRemoved,omitempty"`  // the resource-account license was taken back
	AccountDeleted  bool     `json:"accountDeleted,omitempty"`  // the account was deleted
	AccountBlocked  bool     `json:"accountBlocked,omitempty"`  // the account was kept with sign-in blocked (RAPROV_DEPROVISION_MODE=block)
}

// Failure says why a request failed. It is set on provisioning.failed only.
type Failure struct {
	Reason  Reason       `json:"reason"`
	Step    string       `json:"step"`             // step that failed the request
	Field   string       `json:"field,omitempty"`  // request field at fault, when one is
	Message string       `json:"message"`          // human-readable; never contains secrets
	Errors  []FieldError `json:"errors,omitempty"` // every invalid field when intake rejects a request
}

// FieldError is one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"` // JSON name of the field, e.g. "userPrincipalName"
	Reason  Reason `json:"reason"`
	Message string `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message }

// FailureOf returns the failure for a request rejected for errs (at least
// one): the first error gives Reason and Field, Message joins every
// error's message, and Errors lists them all. Step is left for Event.Fail to fill in.
func FailureOf(errs []FieldError) Failure {
	if len(errs) == 0 {
		return Failure{Reason: ReasonInvalidRequest, Message: "invalid request"}
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Message
	}
	return Failure{
		Reason:  errs[0].Reason,
		Field:   errs[0].Field,
		Message: strings.Join(msgs, "; "),
		Errors:  slices.Clone(errs),
	}
}

// New returns a new event of type typ from source carrying data, with a
// fresh id, the current time and Subject set to data.Request.RequestID.
func New(typ, source string, data Data) Event {
	return Event{
		ID:      newID(),
		Source:  source,
		Type:    typ,
		Subject: data.Request.RequestID,
		Time:    now(),
		Data:    data.clone(),
	}
}

// Next returns the event that continues e's request: type typ from source,
// with a fresh id and time, e's trace parent, replay count and data, and
// attempt and delay reset. Subject is taken from e.Data.Request.RequestID,
// so a step that normalises the request sets e.Data.Request before calling
// Next. The failure, if any, is kept only when typ is provisioning.failed.
//
// Next with e's own type is how a step schedules a new round of waiting or
// polling that is not a retry: set Delay on the result.
func (e Event) Next(typ, source string) Event {
	n := New(typ, source, e.Data)
	n.TraceParent = e.TraceParent
	n.ReplayCount = e.ReplayCount
	if typ != TypeProvisioningFailed {
		n.Data.Failure = nil
	}
	return n
}

// Fail returns the provisioning.failed event for e's request, emitted by
// source. When f.Step is empty it is set to the step named by source.
func (e Event) Fail(source string, f Failure) Event {
	if f.Step == "" {
		f.Step = StepOf(source)
	}
	f.Errors = slices.Clone(f.Errors)
	n := e.Next(TypeProvisioningFailed, source)
	n.Data.Failure = &f
	return n
}

// Retry returns e again for another attempt after delay: same type, source,
// subject and data, a fresh id and time, Attempt incremented.
func (e Event) Retry(delay time.Duration) Event {
	n := e
	n.ID = newID()
	n.Time = now()
	n.Attempt++
	n.Delay = delay
	n.Data = e.Data.clone()
	return n
}

// LogValue logs an event by its envelope attributes; the payload (which
// names people's accounts and numbers) is left out.
func (e Event) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("id", e.ID),
		slog.String("type", e.Type),
		slog.String("source", e.Source),
		slog.String("subject", e.Subject),
		slog.Int("attempt", e.Attempt),
	}
	if e.ReplayCount > 0 {
		attrs = append(attrs, slog.Int("replaycount", e.ReplayCount))
	}
	if e.TraceParent != "" {
		attrs = append(attrs, slog.String("traceparent", e.TraceParent))
	}
	if e.Data.Failure != nil {
		attrs = append(attrs, slog.String("reason", string(e.Data.Failure.Reason)))
	}
	return slog.GroupValue(attrs...)
}

// clone returns a copy of d that shares no memory with d.
func (d Data) clone() Data {
	if d.Failure != nil {
		f := *d.Failure
		f.Errors = slices.Clone(f.Errors)
		d.Failure = &f
	}
	d.Progress.ReleasedNumbers = slices.Clone(d.Progress.ReleasedNumbers)
	return d
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func now() time.Time { return time.Now().UTC() }

// Fingerprint identifies the request's content: a hash of every field but
// RequestID. Two submissions under one request id are the same request when
// their normalised fingerprints are equal (DESIGN §1: the same id with a
// different normalised payload is refused, never merged).
func (r Request) Fingerprint() string {
	r.RequestID = ""
	b, _ := json.Marshal(r) // a struct of strings and a bool always encodes
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
