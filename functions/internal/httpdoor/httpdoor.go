// Package httpdoor is the intake function's HTTP door: raprov's signed HTTP
// API (shared/door/httpapi) behind the function's Lambda Function URL,
// wired to the deployment as `raprov serve` wires it to the embedded
// default — requests go to the intake queue through the SQS submitter
// (claims and ledger in DynamoDB), status and DELETE read the DynamoDB
// ledger, the HMAC keys come from Secrets Manager. The signatures of
// accepted POSTs and DELETEs are remembered in the same DynamoDB table
// (dynamoledger.Signatures), which every instance of the function shares:
// a captured request replayed to any instance within the signature's 5
// minutes is refused (401 signature already used), and when the table
// cannot be reached the door refuses the request (503) rather than skip
// the check. Only intake imports it.
//
// Dry runs ("dryRun": true) are validated here, as intake validates every
// request, and planned by the function RAPROV_DRY_RUN_FUNCTION names
// (check-license, which reads the tenant; intake links no Graph code,
// DESIGN §9): RemotePlanner invokes it with the normalised requests.
// Sender mapping overrides are the .json files under
// RAPROV_SENDER_MAPPINGS_PREFIX of RAPROV_SENDER_MAPPINGS_BUCKET, loaded at
// init (LoadMappings).
//
// What the Lambda door does not do: no Accounts check (DELETE
// /requests/{id} leaves the account check to the deprovisioning chain's
// ownership check), and no status page (the HTML pages of
// shared/door/statuspage are served by `raprov serve` only).
package httpdoor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/functions/internal/s3host"
	"github.com/raprov/raprov/functions/internal/secret"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport/sqs/sqssubmit"
)

// KeysARNVar names the variable holding the ARN of the Secrets Manager
// secret with the door's HMAC keys.
const KeysARNVar = "RAPROV_INTAKE_KEYS_ARN"

// KeysVar is the variable `raprov serve` reads its keys from. The function
// refuses it: on AWS the keys live in Secrets Manager, never in the
// function's configuration.
const KeysVar = "RAPROV_INTAKE_KEYS"

// SenderKeysARNVar names the variable holding the ARN of the secret with
// the keys that sign only their sender's route (httpapi.ParseSenderKeys);
// unset: none. SenderKeysVar, `raprov serve`'s, is refused here.
const (
	SenderKeysARNVar = "RAPROV_SENDER_KEYS_ARN"
	SenderKeysVar    = "RAPROV_SENDER_KEYS"
)

// Deps are what the door works over.
type Deps struct {
	// Submit queues requests for intake (sqssubmit.Submitter).
	Submit httpapi.Submitter
	// Ledger answers GET /requests[/{id}] and tells DELETE where a request
	// stands.
	Ledger ledger.Ledger
	// Keys are the active HMAC keys (one or two).
	Keys []string
	// Signatures remembers the signatures accepted, shared by all the
	// function's instances (dynamoledger.Signatures); nil means the
	// instance's own memory, which does not stop a replay to another
	// instance.
	Signatures httpapi.SignatureLog
	// Planner plans dry runs (RemotePlanner); nil answers them 501.
	Planner httpapi.Planner
	// Senders are the senders of POST /senders/{name}; nil means the
	// built-in ones (httpapi.BuiltinSenders).
	Senders map[string]httpapi.Sender
	// SenderKeys sign only their sender's route (httpapi.Options).
	SenderKeys map[string][]string
	// Steps carries the validator's options and RAPROV_ALLOW_ADOPT, the
	// intake step's.
	Steps steps.Config
	Log   *slog.Logger
}

// Handler returns the door over d: httpapi.New with the intake step's
// validator options, d's senders, signature log and planner, and no
// Accounts check. Its errors never quote a key.
func Handler(d Deps) (http.Handler, error) {
	if d.Senders == nil {
		d.Senders = httpapi.BuiltinSenders()
	}
	return httpapi.New(httpapi.Options{
		Submitter:  d.Submit,
		Ledger:     d.Ledger,
		Keys:       d.Keys,
		Signatures: d.Signatures,
		Normalize:  Normalizer(d.Steps),
		AllowAdopt: d.Steps.AllowAdopt,
		Senders:    d.Senders,
		SenderKeys: d.SenderKeys,
		Planner:    d.Planner,
		Logger:     d.Log,
	})
}

// Normalizer is the validator of the intake step and of the door, with the
// deployment's options: both refuse and normalise a request alike.
func Normalizer(c steps.Config) func(events.Request) (events.Request, []events.FieldError) {
	return validate.Normalizer(validate.Options{VerifiedDomains: c.VerifiedDomains, CallbackAllowedHosts: c.CallbackAllowedHosts})
}

// Connect builds the door of the function h hosts: the keys read once from
// the secret KeysARNVar names, the SQS submitter over h's sender and
// claims, h's ledger, the signature log on h's DynamoDB table, the
// planner of dry runs (PlannerFunctionVar) and the sender mapping
// overrides (MappingsBucketVar). A plain KeysVar, a missing KeysARNVar, a
// secret that cannot be read or holds no usable keys, and mapping files
// that cannot be read or loaded are init errors.
func Connect(ctx context.Context, h *host.Host) (http.Handler, error) {
	keys, err := readKeys(ctx, h)
	if err != nil {
		return nil, err
	}
	sub, err := sqssubmit.New(h.Sender, h.Claims)
	if err != nil {
		return nil, err
	}
	var planner httpapi.Planner
	if fn := strings.TrimSpace(os.Getenv(PlannerFunctionVar)); fn != "" {
		planner = RemotePlanner(lambda.NewFromConfig(h.AWS, func(o *lambda.Options) { o.BaseEndpoint = host.Endpoint("LAMBDA") }), fn)
	} else {
		h.Log.Warn(PlannerFunctionVar + " is not set: dry runs are answered 501")
	}
	senders := httpapi.BuiltinSenders()
	if bucket := strings.TrimSpace(os.Getenv(MappingsBucketVar)); bucket != "" {
		files, err := LoadMappings(ctx, s3host.Client(h), bucket, os.Getenv(MappingsPrefixVar))
		if err != nil {
			return nil, err
		}
		if senders, err = httpapi.SendersFrom(files); err != nil {
			return nil, err
		}
		h.Log.Info("sender mappings loaded", "files", len(files))
	}
	senderKeys, err := readSenderKeys(ctx, h)
	if err != nil {
		return nil, err
	}
	door, err := Handler(Deps{Submit: sub, Ledger: h.Ledger, Keys: keys, Signatures: h.Signatures(), Planner: planner,
		Senders: senders, SenderKeys: senderKeys, Steps: h.Steps, Log: h.Log})
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", KeysARNVar, SenderKeysARNVar, err)
	}
	return door, nil
}

// readSenderKeys reads the sender keys once from the secret
// SenderKeysARNVar names; none when it is unset.
func readSenderKeys(ctx context.Context, h *host.Host) (map[string][]string, error) {
	if os.Getenv(SenderKeysVar) != "" {
		return nil, fmt.Errorf("%s is set: on AWS the sender keys live in Secrets Manager; set %s to the secret's ARN instead", SenderKeysVar, SenderKeysARNVar)
	}
	value, err := secret.FromARNVar(ctx, h.AWS, SenderKeysARNVar)
	if err != nil {
		return nil, err
	}
	keys, err := httpapi.ParseSenderKeys(value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SenderKeysARNVar, err)
	}
	return keys, nil
}

func readKeys(ctx context.Context, h *host.Host) ([]string, error) {
	if os.Getenv(KeysVar) != "" {
		return nil, fmt.Errorf("%s is set: on AWS the HTTP door's keys live in Secrets Manager; set %s to the secret's ARN instead", KeysVar, KeysARNVar)
	}
	value, err := secret.FromARNVar(ctx, h.AWS, KeysARNVar)
	if err != nil {
		return nil, err
	}
	if value == "" {
		return nil, fmt.Errorf("%s is not set: the HTTP door (the function's URL) needs the secret holding its HMAC keys", KeysARNVar)
	}
	keys, err := ParseKeys(value)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", KeysARNVar, err)
	}
	return keys, nil
}

// ParseKeys reads the keys of the secret's value: either a JSON array of
// strings (["<current>", "<previous>"]) or plain text, the keys separated
// by line breaks or commas (as RAPROV_INTAKE_KEYS). Surrounding space is
// trimmed and empty entries dropped. How many keys and how long each may
// be is httpapi.New's rule (one or two, at least 32 bytes each). Its
// errors never quote the value.
func ParseKeys(value string) ([]string, error) {
	value = strings.TrimSpace(value)
	var raw []string
	switch {
	case strings.HasPrefix(value, "["):
		if err := json.Unmarshal([]byte(value), &raw); err != nil {
			return nil, errors.New("the secret starts with [ but is not a JSON array of strings")
		}
	case strings.HasPrefix(value, "{"):
		return nil, errors.New("the secret is a JSON object (the console's key/value form); store the keys as a JSON array of strings or as plain text, one per line")
	default:
		raw = strings.FieldsFunc(value, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' })
	}
	var keys []string
	for _, k := range raw {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("the secret holds no key")
	}
	return keys, nil
}
