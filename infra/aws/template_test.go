package aws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

// graphSteps are the steps whose functions call Microsoft Graph or the Teams
// admin back end with the app registration's credentials: every step between
// intake and complete (DESIGN §2), of provisioning and of deprovisioning.
// Intake and complete never link msgraph-sdk-go (DESIGN §9) and get no Graph
// secret. Once the functions exist, TestGraphStepsFollowCode checks this
// table against what each function links.
var graphSteps = map[string]bool{
	events.StepCheckLicense:   true,
	events.StepCreateAccount:  true,
	events.StepAssignLicense:  true,
	events.StepAssignNumber:   true,
	events.StepAssociate:      true,
	events.StepUnassociate:    true,
	events.StepUnassignNumber: true,
	events.StepRemoveLicense:  true,
	events.StepRemoveAccount:  true,
}

// graphBudgetSteps are the Graph steps whose functions spend the tenant's
// Graph budget (shared/graph/budget): their Graph client makes calls, so each
// instance paces itself to 1/RAPROV_GRAPH_SHARE of the tenant's quotas, and
// together they must stay within one budget (docs/aws-budget.md, "What
// RAPROV_GRAPH_SHARE must be"). Every deprovisioning step spends it:
// unassociate reads the account by its UPN, the others read it and write.
// Associate is a Graph step without a term in that sum: it builds a Graph
// client only for the token credential it lends the Teams admin client and
// calls nothing through it, and the Teams admin back end is not a Graph
// quota. TestGraphBudgetStepsFollowCode checks this table against the
// functions' code.
var graphBudgetSteps = map[string]bool{
	events.StepCheckLicense:   true,
	events.StepCreateAccount:  true,
	events.StepAssignLicense:  true,
	events.StepAssignNumber:   true,
	events.StepUnassociate:    true,
	events.StepUnassignNumber: true,
	events.StepRemoveLicense:  true,
	events.StepRemoveAccount:  true,
}

// doorSteps are the steps whose functions answer a Lambda Function URL: the
// HTTP door (shared/door/httpapi) on intake, one bootstrap for its queue and
// its URL (functions/internal/httpdoor). Only they get a FunctionUrlConfig,
// the door's HMAC keys and dynamodb:Scan (GET /requests lists the ledger).
var doorSteps = map[string]bool{events.StepIntake: true}

// bulkSteps are the steps whose functions run the scheduled bulk door
// (functions/internal/bulkdoor): intake, the one function that validates
// rows (DESIGN §9). Only they may hold S3 actions, on the bulk bucket's
// prefix only, and only they are a schedule's target.
var bulkSteps = map[string]bool{events.StepIntake: true}

// The bulk door's contract with the template: the condition that enables
// it, the parameters of its prefix, and what intake may do in S3.
const (
	bulkCondition   = "HasBulkDoor"
	bulkPrefixParam = "BulkPrefix"
	// bulkObjects is the one resource of the object actions: the objects
	// under the prefix (request files, .raprov/ state and lock,
	// processed/), of the stack's bulk bucket.
	bulkObjects = "arn:${AWS::Partition}:s3:::${BulkBucket}/${BulkPrefix}*"
	// bulkListPrefix is the s3:prefix (StringLikeIfExists) ListBucket is
	// bound to.
	bulkListPrefix = "${BulkPrefix}*"
)

// bulkObjectActions are the object actions the bulk door needs (s3store:
// GetObject also covers HeadObject and the copy's source, PutObject the
// copy's destination).
var bulkObjectActions = []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}

// The sender mappings' contract: intake's door reads the mapping files
// under one prefix of an operator's bucket, only when the condition holds:
// GetObject on those objects, ListBucket of that prefix only.
const (
	mappingsCondition = "HasSenderMappings"
	mappingsObjects   = "arn:${AWS::Partition}:s3:::${SenderMappingsBucket}/${SenderMappingsPrefix}*"
	mappingsBucketARN = "arn:${AWS::Partition}:s3:::${SenderMappingsBucket}"
	mappingsPrefix    = "${SenderMappingsPrefix}*"
)

// isMappingsS3 reports whether an S3 statement is about the sender
// mappings' bucket.
func isMappingsS3(st *yaml.Node) bool {
	for _, r := range branches(Get(st, "Resource")) {
		if strings.Contains(sub(r), "${SenderMappingsBucket}") {
			return true
		}
	}
	return false
}

// mappingsS3 checks one S3 action of a statement on the sender mappings'
// bucket; boundary statements may leave out the prefix condition of
// ListBucket only when they name the bucket and nothing else.
func mappingsS3(a string, st *yaml.Node) []string {
	var errs []string
	for _, r := range branches(Get(st, "Resource")) {
		switch {
		case a == "s3:GetObject" && sub(r) == mappingsObjects:
		case a == "s3:ListBucket" && sub(r) == mappingsBucketARN:
		default:
			errs = append(errs, fmt.Sprintf("%s on %s: the sender mappings allow only s3:GetObject on %q and s3:ListBucket on %q", a, s3Resource(r), mappingsObjects, mappingsBucketARN))
		}
	}
	if a == "s3:ListBucket" && sub(Get(st, "Condition", "StringLike", "s3:prefix")) != mappingsPrefix {
		errs = append(errs, fmt.Sprintf("%s on the mappings bucket without Condition StringLike s3:prefix !Sub %q: it would list the whole bucket", a, mappingsPrefix))
	}
	return errs
}

// plannerInvoke is what intake may invoke: check-license, which plans the
// door's dry runs; the boundary, which cannot name the function without a
// cycle, bounds it to the stack's functions.
const plannerInvokeBoundary = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${AWS::StackName}-*"

// doorKeysVar is the variable naming the secret of the door's HMAC keys
// (httpdoor.KeysARNVar).
const doorKeysVar = "RAPROV_INTAKE_KEYS_ARN"

// The functions' configuration contract: environment variables each kind of
// function must get from the template.
var (
	envEveryFunction = []string{
		"RAPROV_SQS_QUEUE_URL_PREFIX", "RAPROV_DYNAMODB_TABLE", "RAPROV_MAX_RECEIVE", "RAPROV_LOG_LEVEL",
		"RAPROV_LICENSE_WAIT", "RAPROV_TEAMS_SYNC_WAIT", "RAPROV_MAX_ATTEMPTS", "RAPROV_SKU_PART_NUMBER",
		"RAPROV_OTLP_ENDPOINT",           // functions/internal/host: every function exports spans when it is set
		"RAPROV_OTLP_HEADERS_SECRET_ARN", // and reads the exporter's headers from this secret
	}
	envByStep = map[string][]string{
		events.StepIntake: {"RAPROV_VERIFIED_DOMAINS", "RAPROV_CALLBACK_ALLOWED_HOSTS", "RAPROV_ALLOW_ADOPT", doorKeysVar,
			"RAPROV_DRY_RUN_FUNCTION"}, // httpdoor.PlannerFunctionVar: check-license plans the door's dry runs
		events.StepComplete:      {"RAPROV_CALLBACK_SECRET_ARN", "RAPROV_CALLBACK_ALLOWED_HOSTS"},
		events.StepRemoveAccount: {"RAPROV_DEPROVISION_MODE"}, // steps.RemoveAccount is the only step that reads it
	}
	envGraph = []string{
		"RAPROV_GRAPH_TENANT_ID", "RAPROV_GRAPH_CLIENT_ID", "RAPROV_GRAPH_CLIENT_SECRET_ARN",
		"RAPROV_GRAPH_OWNER_ATTRIBUTE", "RAPROV_GRAPH_MAX_WAIT", "RAPROV_GRAPH_TIMEOUT",
	}
	// envGraphBudget is what the functions of graphBudgetSteps get on top.
	envGraphBudget = []string{"RAPROV_GRAPH_SHARE"}
	// envEnums are the variables whose values the code takes from a fixed
	// set and refuses otherwise at start (steps.Config.Check): wherever the
	// template sets one, it is !Ref of a parameter whose AllowedValues are
	// exactly that set, so that a deploy cannot give a function a value
	// that ends its init.
	envEnums = map[string][]string{
		"RAPROV_DEPROVISION_MODE": {steps.DeprovisionDelete, steps.DeprovisionBlock},
	}
)

// queueURLPrefix is RAPROV_SQS_QUEUE_URL_PREFIX: a queue's URL is this plus
// its name, and every queue is named "${AWS::StackName}-<name>".
const (
	queueURLPrefix = "https://sqs.${AWS::Region}.${AWS::URLSuffix}/${AWS::AccountId}/${AWS::StackName}-"
	queueNameSub   = "${AWS::StackName}-"
)

// dynamoDBActions are the item-level actions a function may hold on the
// table: no Scan, no batch writes, no table management.
var dynamoDBActions = []string{
	"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
	"dynamodb:Query", "dynamodb:ConditionCheckItem", "dynamodb:BatchGetItem",
}

// doorDynamoDBActions are what the functions of doorSteps may hold on top:
// GET /requests reads the statuses with a Scan (dynamoledger.Ledger.List).
var doorDynamoDBActions = []string{"dynamodb:Scan"}

// expectedSends returns the queues step may send to, derived from the routing
// table:
//   - each event type the step emits (events.Routes' Emitters) goes where
//     events.Destination sends it: the consumer's queue, or results for
//     everything complete emits;
//   - steps.Retry re-emits the step's input with its type and source
//     unchanged (and a delay), so it lands where the input came from: the
//     step's own queue, for every step that consumes anything;
//   - the runner dead-letters poison and exhausted inputs to the step's own
//     DLQ itself (RAPROV_MAX_RECEIVE), before SQS's redrive would.
func expectedSends(step string) []string {
	set := map[string]bool{step + "-dlq": true}
	for _, r := range events.Routes {
		if slices.Contains(r.Emitters, step) {
			set[events.Destination(events.Event{Type: r.Type, Source: events.Source(step)})] = true
		}
		if r.Consumer == step {
			set[step] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func TestExpectedSends(t *testing.T) {
	// The derivation above, spelled out for a few steps, so that a change of
	// events.Routes that moves them shows here in plain words too.
	for step, want := range map[string][]string{
		events.StepAssignLicense:  {"assign-license", "assign-license-dlq", "assign-number", "check-license", "complete"},
		events.StepComplete:       {"complete", "complete-dlq", events.Results},
		events.StepIntake:         {"check-license", "complete", "intake", "intake-dlq", "unassociate"},
		events.StepUnassignNumber: {"complete", "remove-license", "unassign-number", "unassign-number-dlq"},
		events.StepRemoveAccount:  {"complete", "remove-account", "remove-account-dlq"},
	} {
		if got := expectedSends(step); !slices.Equal(got, want) {
			t.Errorf("expectedSends(%s) = %v, want %v", step, got, want)
		}
	}
}

// ---------------------------------------------------------------- the tests

// A check is one property template.yaml must have. It reports through t and
// names the function, queue or resource and the property at fault.
type check struct {
	name string
	run  func(testing.TB, *template)
}

var checks = []check{
	{"FunctionsMatchSteps", checkFunctionsMatchSteps},
	{"FunctionRuntime", checkFunctionRuntime},
	{"GraphTimeouts", checkGraphTimeouts},
	{"QueuesAndDeadLetters", checkQueuesAndDeadLetters},
	{"EventSources", checkEventSources},
	{"GraphBudget", checkGraphBudget},
	{"SendPermissions", checkSendPermissions},
	{"Secrets", checkSecrets},
	{"EnvironmentContract", checkEnvironmentContract},
	{"DeadLetterAlarms", checkDeadLetterAlarms},
	{"Table", checkTable},
	{"PermissionsBoundary", checkPermissionsBoundary},
	{"Outputs", checkOutputs},
	{"FunctionURL", checkFunctionURL},
	{"BulkDoor", checkBulkDoor},
}

func TestTemplate(t *testing.T) {
	tp := loadTemplate(t)
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { c.run(t, tp) })
	}
}

// TestChecksCatchMistakes breaks template.yaml in one place at a time and
// expects the check responsible to say so, naming what is wrong; a few
// rewrites that change nothing (long-form intrinsics) must pass.
func TestChecksCatchMistakes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	const intakePolicies = "        - SQSSendMessagePolicy: { QueueName: !GetAtt IntakeQueue.QueueName }\n"
	for _, m := range []struct {
		name, old, new, check, want string // want "": the check must pass
	}{
		{"intake sends to results", intakePolicies,
			"        - SQSSendMessagePolicy: { QueueName: !GetAtt ResultsQueue.QueueName }\n",
			"SendPermissions", "intake (IntakeFunction) may send to [check-license complete intake-dlq results unassociate], want exactly [check-license complete intake intake-dlq unassociate]"},
		{"assign-license cannot go back to waiting",
			"        - SQSSendMessagePolicy: { QueueName: !GetAtt CheckLicenseQueue.QueueName }\n        - SQSSendMessagePolicy: { QueueName: !GetAtt AssignLicenseQueue.QueueName }\n",
			"        - SQSSendMessagePolicy: { QueueName: !GetAtt AssignLicenseQueue.QueueName }\n",
			"SendPermissions", "missing [check-license]"},
		{"intake cannot start deprovisioning", "        - SQSSendMessagePolicy: { QueueName: !GetAtt UnassociateQueue.QueueName }\n", "",
			"SendPermissions", "intake (IntakeFunction) may send to [check-license complete intake intake-dlq], want exactly [check-license complete intake intake-dlq unassociate] (events.Routes); missing [unassociate], not allowed []"},
		{"remove-account sends to results",
			"RemoveAccountQueue.QueueName }\n        - SQSSendMessagePolicy: { QueueName: !GetAtt CompleteQueue.QueueName }\n        - SQSSendMessagePolicy: { QueueName: !GetAtt RemoveAccountDeadLetterQueue",
			"RemoveAccountQueue.QueueName }\n        - SQSSendMessagePolicy: { QueueName: !GetAtt ResultsQueue.QueueName }\n        - SQSSendMessagePolicy: { QueueName: !GetAtt RemoveAccountDeadLetterQueue",
			"SendPermissions", "remove-account (RemoveAccountFunction) may send to [remove-account remove-account-dlq results], want exactly [complete remove-account remove-account-dlq] (events.Routes); missing [complete], not allowed [results]"},
		{"unassign-number lacks its own queue",
			"        - SQSSendMessagePolicy: { QueueName: !GetAtt UnassignNumberQueue.QueueName }\n        - SQSSendMessagePolicy: { QueueName: !GetAtt RemoveLicenseQueue.QueueName }\n",
			"        - SQSSendMessagePolicy: { QueueName: !GetAtt RemoveLicenseQueue.QueueName }\n",
			"SendPermissions", "unassign-number (UnassignNumberFunction) may send to [complete remove-license unassign-number-dlq], want exactly [complete remove-license unassign-number unassign-number-dlq] (events.Routes); missing [unassign-number]"},
		{"unassociate skips to remove-license",
			"        - SQSSendMessagePolicy: { QueueName: !GetAtt UnassociateQueue.QueueName }\n        - SQSSendMessagePolicy: { QueueName: !GetAtt UnassignNumberQueue.QueueName }\n",
			"        - SQSSendMessagePolicy: { QueueName: !GetAtt UnassociateQueue.QueueName }\n        - SQSSendMessagePolicy: { QueueName: !GetAtt RemoveLicenseQueue.QueueName }\n",
			"SendPermissions", "unassociate (UnassociateFunction) may send to [complete remove-license unassociate unassociate-dlq], want exactly [complete unassign-number unassociate unassociate-dlq] (events.Routes); missing [unassign-number], not allowed [remove-license]"},
		{"managed policy", intakePolicies, "        - AmazonSQSFullAccess\n" + intakePolicies,
			"SendPermissions", `managed policy "AmazonSQSFullAccess"`},
		{"send by inline statement", intakePolicies,
			"        - Statement:\n            - Effect: Allow\n              Action: sqs:SendMessage\n              Resource: !GetAtt IntakeQueue.Arn\n",
			"SendPermissions", ""},
		{"visibility of another queue", "              Resource: !GetAtt IntakeQueue.Arn\n", "              Resource: !GetAtt CompleteQueue.Arn\n",
			"SendPermissions", "intake (IntakeFunction): sqs:ChangeMessageVisibility on something other than its own queue"},
		{"table scan outside the door", "              Resource: !GetAtt CompleteQueue.Arn\n",
			"              Resource: !GetAtt CompleteQueue.Arn\n            - Effect: Allow\n              Action: dynamodb:Scan\n              Resource: !GetAtt Table.Arn\n",
			"SendPermissions", "complete (CompleteFunction): dynamodb:Scan on the table"},
		{"door scans in its ledger statement", "              Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:Query, dynamodb:ConditionCheckItem]\n              Resource: !GetAtt Table.Arn\n            - Sid: BackOffOwnQueue\n              Effect: Allow\n              Action: sqs:ChangeMessageVisibility\n              Resource: !GetAtt IntakeQueue.Arn\n",
			"              Action: [dynamodb:Scan, dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:Query, dynamodb:ConditionCheckItem]\n              Resource: !GetAtt Table.Arn\n            - Sid: BackOffOwnQueue\n              Effect: Allow\n              Action: sqs:ChangeMessageVisibility\n              Resource: !GetAtt IntakeQueue.Arn\n",
			"SendPermissions", ""},
		{"door deletes the table", "              Action: dynamodb:Scan\n", "              Action: [dynamodb:Scan, dynamodb:DeleteTable]\n",
			"SendPermissions", "intake (IntakeFunction): dynamodb:DeleteTable on the table; allowed: [dynamodb:GetItem dynamodb:PutItem dynamodb:UpdateItem dynamodb:DeleteItem dynamodb:Query dynamodb:ConditionCheckItem dynamodb:BatchGetItem dynamodb:Scan]"},
		{"boundary caps the door's scan", "dynamodb:Query, dynamodb:ConditionCheckItem, dynamodb:Scan]\n            Resource: !GetAtt Table.Arn",
			"dynamodb:Query, dynamodb:ConditionCheckItem]\n            Resource: !GetAtt Table.Arn",
			"PermissionsBoundary", "boundary FunctionPermissionsBoundary does not allow dynamodb:Scan on the table, which intake (IntakeFunction)'s policy grants"},
		{"boundary caps the door's keys", "              - !Ref IntakeKeysSecretArn\n", "",
			"PermissionsBoundary", "boundary FunctionPermissionsBoundary does not allow secretsmanager:GetSecretValue on IntakeKeysSecretArn, which intake (IntakeFunction) reads"},
		{"wildcard resource", "              Resource: !GetAtt Table.Arn\n", "              Resource: \"*\"\n",
			"SendPermissions", `on Resource "*"`},
		{"redrive off by one", `"5": { Count: 6 }`, `"5": { Count: 5 }`,
			"QueuesAndDeadLetters", "Mappings.RedriveMaxReceiveCount.5.Count = \"5\", want 6"},
		{"redrive literal", "maxReceiveCount: !FindInMap [RedriveMaxReceiveCount, !Ref MaxReceive, Count]", "maxReceiveCount: 6",
			"QueuesAndDeadLetters", "maxReceiveCount is not !FindInMap"},
		{"redrive to another DLQ", "deadLetterTargetArn: !GetAtt IntakeDeadLetterQueue.Arn", "deadLetterTargetArn: !GetAtt CompleteDeadLetterQueue.Arn",
			"QueuesAndDeadLetters", "queue intake (IntakeQueue): RedrivePolicy.deadLetterTargetArn is CompleteDeadLetterQueue.Arn"},
		{"visibility too short", "VisibilityTimeout: 720", "VisibilityTimeout: 600",
			"QueuesAndDeadLetters", "VisibilityTimeout 600 s < 6 × function Timeout 120 s"},
		{"DLQ keeps 4 days", "MessageRetentionPeriod: 1209600", "MessageRetentionPeriod: 345600",
			"QueuesAndDeadLetters", "MessageRetentionPeriod = \"345600\", want 1209600"},
		{"unencrypted DLQ", "      QueueName: !Sub \"${AWS::StackName}-intake-dlq\"\n      MessageRetentionPeriod: 1209600\n      SqsManagedSseEnabled: true\n",
			"      QueueName: !Sub \"${AWS::StackName}-intake-dlq\"\n      MessageRetentionPeriod: 1209600\n",
			"QueuesAndDeadLetters", "IntakeDeadLetterQueue: neither SqsManagedSseEnabled"},
		{"no partial batch response", "FunctionResponseTypes: [ReportBatchItemFailures]", "FunctionResponseTypes: []",
			"EventSources", "intake (IntakeFunction): FunctionResponseTypes [] lacks ReportBatchItemFailures"},
		{"event on another queue", "Queue: !GetAtt AssociateQueue.Arn", "Queue: !GetAtt CompleteQueue.Arn",
			"EventSources", "associate (AssociateFunction): event Queue is CompleteQueue.Arn"},
		{"long-form GetAtt", "Queue: !GetAtt AssociateQueue.Arn", "Queue: {\"Fn::GetAtt\": [AssociateQueue, Arn]}",
			"EventSources", ""},
		{"long-form Ref", "MaximumConcurrency: !Ref AssociateMaxConcurrency", "MaximumConcurrency: {Ref: AssociateMaxConcurrency}",
			"EventSources", ""},
		{"literal concurrency", "MaximumConcurrency: !Ref AssociateMaxConcurrency", "MaximumConcurrency: 3",
			"EventSources", "associate (AssociateFunction): ScalingConfig.MaximumConcurrency is not !Ref of a parameter"},
		{"concurrency below 2", "  IntakeMaxConcurrency:\n    Type: Number\n    Default: 5\n    MinValue: 2\n",
			"  IntakeMaxConcurrency:\n    Type: Number\n    Default: 5\n    MinValue: 1\n",
			"EventSources", "parameter IntakeMaxConcurrency MinValue = \"1\", want ≥ 2"},
		{"Graph concurrency allows 1", "AllowedValues: [2, 3, 4, 5, 6, 7, 8, 9, 10]\n    Description: >-\n      Most instances",
			"AllowedValues: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n    Description: >-\n      Most instances",
			"EventSources", "check-license (CheckLicenseFunction): parameter GraphMaximumConcurrency allows \"1\", want 2–1000"},
		{"Graph default not allowed", "  GraphMaximumConcurrency:\n    Type: Number\n    Default: 2\n",
			"  GraphMaximumConcurrency:\n    Type: Number\n    Default: 11\n",
			"EventSources", "parameter GraphMaximumConcurrency Default \"11\" is not among AllowedValues"},
		{"associate joins the Graph concurrency", "MaximumConcurrency: !Ref AssociateMaxConcurrency", "MaximumConcurrency: !Ref GraphMaximumConcurrency",
			"EventSources", "associate (AssociateFunction): MaximumConcurrency parameter GraphMaximumConcurrency is shared with"},
		// The rule of docs/aws-budget.md, broken one way at a time.
		{"share = own concurrency", // the old template's mistake, on check-license
			"RAPROV_GRAPH_SHARE: !FindInMap [GraphShare, !Ref GraphMaximumConcurrency, Share]", "RAPROV_GRAPH_SHARE: !Ref GraphMaximumConcurrency",
			"GraphBudget", "overrun for 36 of 36 parameter values; first at DeprovisionMaxConcurrency=2, GraphMaximumConcurrency=2: Σ MaximumConcurrency ÷ RAPROV_GRAPH_SHARE = check-license 2/2 + create-account 2/10 + assign-license 2/10 + assign-number 2/10 + unassociate 2/40 + unassign-number 2/40 + remove-license 2/40 + remove-account 2/40 = 9/5 > 1"},
		// The provisioning share of the template before deprovisioning
		// (4 × GraphMaximumConcurrency: the whole budget) for one value: with
		// the deprovisioning functions' 1/5 on top, that value over-commits.
		{"share too small for one value", `"5": { Share: 25 }`, `"5": { Share: 20 }`,
			"GraphBudget", "overrun for 4 of 36 parameter values; first at DeprovisionMaxConcurrency=2, GraphMaximumConcurrency=5: Σ MaximumConcurrency ÷ RAPROV_GRAPH_SHARE = check-license 5/20 + create-account 5/20 + assign-license 5/20 + assign-number 5/20 + unassociate 2/40 + unassign-number 2/40 + remove-license 2/40 + remove-account 2/40 = 6/5 > 1"},
		{"share of 1", `"2": { Share: 10 }`, `"2": { Share: 1 }`,
			"GraphBudget", "at DeprovisionMaxConcurrency=2, GraphMaximumConcurrency=2: RAPROV_GRAPH_SHARE = 1; 2 instances at once need a share of at least 2 each"},
		{"share mapping lacks a value", "    \"7\": { Share: 35 }\n", "",
			"GraphBudget", "at DeprovisionMaxConcurrency=2, GraphMaximumConcurrency=7: Mappings.GraphShare has no 7.Share"},
		{"literal share", "RAPROV_GRAPH_SHARE: !FindInMap [GraphShare, !Ref GraphMaximumConcurrency, Share]", "RAPROV_GRAPH_SHARE: 8",
			"GraphBudget", "overrun for 36 of 36 parameter values; first at DeprovisionMaxConcurrency=2, GraphMaximumConcurrency=2: Σ MaximumConcurrency ÷ RAPROV_GRAPH_SHARE = check-license 2/8 + create-account 2/10 + assign-license 2/10 + assign-number 2/10 + unassociate 2/40 + unassign-number 2/40 + remove-license 2/40 + remove-account 2/40 = 21/20 > 1"},
		// The deprovisioning functions' share, broken: a row of
		// DeprovisionShare that over-commits, one that is missing, and a
		// deprovisioning function that takes the provisioning share.
		{"deprovision share row over-commits", `"2": { Share: 40 }`, `"2": { Share: 20 }`,
			"GraphBudget", "overrun for 9 of 36 parameter values; first at DeprovisionMaxConcurrency=2, GraphMaximumConcurrency=2: Σ MaximumConcurrency ÷ RAPROV_GRAPH_SHARE = check-license 2/10 + create-account 2/10 + assign-license 2/10 + assign-number 2/10 + unassociate 2/20 + unassign-number 2/20 + remove-license 2/20 + remove-account 2/20 = 6/5 > 1"},
		{"deprovision share mapping lacks a value", "    \"4\": { Share: 80 }\n", "",
			"GraphBudget", "unassociate (UnassociateFunction) at DeprovisionMaxConcurrency=4, GraphMaximumConcurrency=2: Mappings.DeprovisionShare has no 4.Share"},
		{"deprovision function on the provisioning share", "RAPROV_GRAPH_SHARE: !FindInMap [DeprovisionShare, !Ref DeprovisionMaxConcurrency, Share]",
			"RAPROV_GRAPH_SHARE: !FindInMap [GraphShare, !Ref GraphMaximumConcurrency, Share]",
			"GraphBudget", "overrun for 33 of 36 parameter values; first at DeprovisionMaxConcurrency=2, GraphMaximumConcurrency=2: Σ MaximumConcurrency ÷ RAPROV_GRAPH_SHARE = check-license 2/10 + create-account 2/10 + assign-license 2/10 + assign-number 2/10 + unassociate 2/10 + unassign-number 2/40 + remove-license 2/40 + remove-account 2/40 = 23/20 > 1"},
		{"unbounded deprovision concurrency", "    AllowedValues: [2, 3, 4, 5]\n", "    MinValue: 2\n    MaxValue: 5\n",
			"GraphBudget", "parameter DeprovisionMaxConcurrency has no AllowedValues"},
		{"deprovision reserved below maximum", "ReservedConcurrentExecutions: !Ref DeprovisionMaxConcurrency", "ReservedConcurrentExecutions: !Ref GraphMaximumConcurrency",
			"GraphBudget", "unassociate (UnassociateFunction) at DeprovisionMaxConcurrency=3, GraphMaximumConcurrency=2: ReservedConcurrentExecutions 2 ≠ MaximumConcurrency 3"},
		{"long-form FindInMap", "RAPROV_GRAPH_SHARE: !FindInMap [GraphShare, !Ref GraphMaximumConcurrency, Share]",
			"RAPROV_GRAPH_SHARE: {\"Fn::FindInMap\": [GraphShare, {Ref: GraphMaximumConcurrency}, Share]}",
			"GraphBudget", ""},
		{"concurrency of its own", "MaximumConcurrency: !Ref GraphMaximumConcurrency", "MaximumConcurrency: !Ref MaxReceive",
			"GraphBudget", "check-license (CheckLicenseFunction) at DeprovisionMaxConcurrency=2, GraphMaximumConcurrency=3, MaxReceive=2: ReservedConcurrentExecutions 3 ≠ MaximumConcurrency 2"},
		{"concurrency of its own overruns", "MaximumConcurrency: !Ref GraphMaximumConcurrency", "MaximumConcurrency: !Ref MaxReceive",
			"GraphBudget", "overrun for 144 of 324 parameter values; first at DeprovisionMaxConcurrency=2, GraphMaximumConcurrency=2, MaxReceive=3: Σ MaximumConcurrency ÷ RAPROV_GRAPH_SHARE = check-license 3/10 + create-account 2/10 + assign-license 2/10 + assign-number 2/10 + unassociate 2/40 + unassign-number 2/40 + remove-license 2/40 + remove-account 2/40 = 11/10 > 1"},
		{"unbounded Graph concurrency", "    AllowedValues: [2, 3, 4, 5, 6, 7, 8, 9, 10]\n    Description: >-\n      Most instances",
			"    MinValue: 2\n    MaxValue: 10\n    Description: >-\n      Most instances",
			"GraphBudget", "parameter GraphMaximumConcurrency has no AllowedValues"},
		{"no reserved concurrency", "      ReservedConcurrentExecutions: !Ref GraphMaximumConcurrency\n", "",
			"GraphBudget", "check-license (CheckLicenseFunction): no ReservedConcurrentExecutions"},
		{"reserved below maximum", "ReservedConcurrentExecutions: !Ref GraphMaximumConcurrency", "ReservedConcurrentExecutions: 1",
			"GraphBudget", "check-license (CheckLicenseFunction) at DeprovisionMaxConcurrency=2, GraphMaximumConcurrency=2: ReservedConcurrentExecutions 1 ≠ MaximumConcurrency 2"},
		{"no share", "          RAPROV_GRAPH_SHARE: !FindInMap [GraphShare, !Ref GraphMaximumConcurrency, Share]\n", "",
			"GraphBudget", "check-license (CheckLicenseFunction): no RAPROV_GRAPH_SHARE"},
		{"associate holds a share", "          RAPROV_GRAPH_CLIENT_SECRET_ARN: !Ref GraphClientSecretArn\n          RAPROV_GRAPH_TENANT_USERS",
			"          RAPROV_GRAPH_CLIENT_SECRET_ARN: !Ref GraphClientSecretArn\n          RAPROV_GRAPH_SHARE: !Ref AssociateMaxConcurrency\n          RAPROV_GRAPH_TENANT_USERS",
			"GraphBudget", "associate (AssociateFunction): RAPROV_GRAPH_SHARE is set, but associate makes no Graph call"},
		{"secret value in the environment", "          RAPROV_ALLOW_ADOPT: !Ref AllowAdopt\n",
			"          RAPROV_ALLOW_ADOPT: !Ref AllowAdopt\n          RAPROV_GRAPH_CLIENT_SECRET: hunter2\n",
			"Secrets", "intake (IntakeFunction): environment variable RAPROV_GRAPH_CLIENT_SECRET would hold a secret value"},
		{"Graph secret for complete", "          RAPROV_CALLBACK_ALLOWED_HOSTS: !Ref CallbackAllowedHosts\n      Events:\n        Queue:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt CompleteQueue.Arn",
			"          RAPROV_CALLBACK_ALLOWED_HOSTS: !Ref CallbackAllowedHosts\n          RAPROV_GRAPH_CLIENT_SECRET_ARN: !Ref GraphClientSecretArn\n      Events:\n        Queue:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt CompleteQueue.Arn",
			"Secrets", "complete (CompleteFunction): has RAPROV_GRAPH_CLIENT_SECRET_ARN = true, want false"},
		{"callback secret for check-license", "              Resource: !Ref GraphClientSecretArn\n", "              Resource: !Ref CallbackSecretArn\n",
			"Secrets", "check-license (CheckLicenseFunction) may read secrets [CallbackSecretArn OtlpHeadersSecretArn], want exactly [GraphClientSecretArn OtlpHeadersSecretArn]"},
		{"secret value as a parameter", "\nParameters:\n", "\nParameters:\n  GraphClientSecret:\n    Type: String\n    NoEcho: true\n",
			"Secrets", "parameter GraphClientSecret looks like a secret value"},
		{"intake lacks a variable", "          RAPROV_ALLOW_ADOPT: !Ref AllowAdopt\n", "",
			"EnvironmentContract", "intake (IntakeFunction): environment lacks RAPROV_ALLOW_ADOPT"},
		{"remove-account lacks the deprovision mode", "          RAPROV_DEPROVISION_MODE: !Ref DeprovisionMode\n", "",
			"EnvironmentContract", "remove-account (RemoveAccountFunction): environment lacks RAPROV_DEPROVISION_MODE"},
		{"literal deprovision mode", "RAPROV_DEPROVISION_MODE: !Ref DeprovisionMode", "RAPROV_DEPROVISION_MODE: Delete",
			"EnvironmentContract", "remove-account (RemoveAccountFunction): RAPROV_DEPROVISION_MODE is not !Ref of a parameter"},
		{"deprovision mode the code refuses", "AllowedValues: [delete, block]", "AllowedValues: [delete, block, purge]",
			"EnvironmentContract", "remove-account (RemoveAccountFunction): RAPROV_DEPROVISION_MODE = !Ref DeprovisionMode, which allows [delete block purge]; want exactly [block delete]"},
		{"deprovision mode default", "    Default: delete\n", "    Default: remove\n",
			"EnvironmentContract", "whose Default \"remove\" is not one of [block delete]"},
		{"wrong queue URL prefix", "/${AWS::AccountId}/${AWS::StackName}-\"\n        RAPROV_DYNAMODB_TABLE", "/${AWS::AccountId}/${AWS::StackName}/\"\n        RAPROV_DYNAMODB_TABLE",
			"EnvironmentContract", "RAPROV_SQS_QUEUE_URL_PREFIX = !Sub"},
		{"alarm on the wrong queue", "Value: !GetAtt IntakeDeadLetterQueue.QueueName", "Value: !GetAtt IntakeQueue.QueueName",
			"DeadLetterAlarms", "DLQ intake-dlq (IntakeDeadLetterQueue) has no alarm"},
		{"alarm threshold", "      Threshold: 0\n", "      Threshold: 5\n",
			"DeadLetterAlarms", "GreaterThanThreshold 5, want > 0 messages"},
		{"no TTL", "        AttributeName: ttl\n        Enabled: true", "        AttributeName: ttl\n        Enabled: false",
			"Table", "TimeToLiveSpecification must enable attribute ttl"},
		{"no PITR", "PointInTimeRecoveryEnabled: true", "PointInTimeRecoveryEnabled: false",
			"Table", "point-in-time recovery is off"},
		{"old runtime", "Runtime: provided.al2023", "Runtime: provided.al2",
			"FunctionRuntime", "Runtime = \"provided.al2\", want \"provided.al2023\""},
		{"x86 function", "      CodeUri: dist/intake.zip\n", "      CodeUri: dist/intake.zip\n      Architectures: [x86_64]\n",
			"FunctionRuntime", "intake (IntakeFunction): Architectures = [x86_64], want [arm64]"},
		{"CodeUri not the zip", "CodeUri: dist/associate.zip", "CodeUri: dist/associate/",
			"FunctionsMatchSteps", "AssociateFunction: CodeUri \"dist/associate/\" is not dist/<step>.zip"},
		{"timeout below Graph's", "    Timeout: 120\n", "    Timeout: 30\n",
			"GraphTimeouts", "Timeout 30s does not outlast RAPROV_GRAPH_TIMEOUT = 1m0s"},
		{"boundary on every queue", ":${AWS::StackName}-*\"", ":*\"",
			"PermissionsBoundary", "want this stack's queues only"},
		{"results URL output", "    Value: !Ref ResultsQueue\n", "    Value: !Ref IntakeQueue\n",
			"Outputs", "output ResultsQueueUrl is !Ref \"IntakeQueue\", want !Ref ResultsQueue"},
		{"no output for a deprovision DLQ", "  RemoveAccountDeadLetterQueueUrl:\n    Value: !Ref RemoveAccountDeadLetterQueue\n", "",
			"Outputs", "no output gives the URL of DLQ remove-account-dlq (RemoveAccountDeadLetterQueue)"},
		{"no alarm on a deprovision DLQ", "Value: !GetAtt UnassignNumberDeadLetterQueue.QueueName", "Value: !GetAtt UnassignNumberQueue.QueueName",
			"DeadLetterAlarms", "DLQ unassign-number-dlq (UnassignNumberDeadLetterQueue) has no alarm"},
		{"deprovision queue without redrive", "      RedrivePolicy:\n        deadLetterTargetArn: !GetAtt RemoveLicenseDeadLetterQueue.Arn\n        maxReceiveCount: !FindInMap [RedriveMaxReceiveCount, !Ref MaxReceive, Count]\n", "",
			"QueuesAndDeadLetters", "queue remove-license (RemoveLicenseQueue) has no RedrivePolicy"},
		// The HTTP door at intake's Function URL.
		{"URL on complete", "      CodeUri: dist/complete.zip\n", "      CodeUri: dist/complete.zip\n      FunctionUrlConfig:\n        AuthType: NONE\n",
			"FunctionURL", "complete (CompleteFunction) has a FunctionUrlConfig; only the HTTP door's functions [intake] may"},
		{"URL for every function", "  Function:\n    Runtime: provided.al2023\n", "  Function:\n    FunctionUrlConfig:\n      AuthType: NONE\n    Runtime: provided.al2023\n",
			"FunctionURL", "check-license (CheckLicenseFunction) has a FunctionUrlConfig"},
		{"no URL on intake", "      FunctionUrlConfig:\n        AuthType: NONE\n        InvokeMode: BUFFERED\n", "",
			"FunctionURL", "intake (IntakeFunction): no FunctionUrlConfig"},
		{"URL signed with SigV4", "        AuthType: NONE\n        InvokeMode: BUFFERED\n", "        AuthType: AWS_IAM\n        InvokeMode: BUFFERED\n",
			"FunctionURL", "intake (IntakeFunction): FunctionUrlConfig.AuthType \"AWS_IAM\", want NONE"},
		{"URL streams", "        InvokeMode: BUFFERED\n", "        InvokeMode: RESPONSE_STREAM\n",
			"FunctionURL", "intake (IntakeFunction): FunctionUrlConfig.InvokeMode \"RESPONSE_STREAM\", want BUFFERED"},
		{"URL without InvokeMode", "        AuthType: NONE\n        InvokeMode: BUFFERED\n", "        AuthType: NONE\n",
			"FunctionURL", ""},
		{"URL for browsers", "        InvokeMode: BUFFERED\n", "        InvokeMode: BUFFERED\n        Cors:\n          AllowOrigins: [\"*\"]\n",
			"FunctionURL", "intake (IntakeFunction): FunctionUrlConfig.Cors is set"},
		{"raw URL resource", "\nOutputs:\n", "  CompleteUrl:\n    Type: AWS::Lambda::Url\n    Properties:\n      AuthType: NONE\n      TargetFunctionArn: !GetAtt CompleteFunction.Arn\n\nOutputs:\n",
			"FunctionURL", "resource CompleteUrl (AWS::Lambda::Url)"},
		{"API event", "      Events:\n        Queue:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt CompleteQueue.Arn",
			"      Events:\n        Api:\n          Type: HttpApi\n        Queue:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt CompleteQueue.Arn",
			"FunctionURL", "complete (CompleteFunction): event of type HttpApi"},
		{"door without keys", "          RAPROV_INTAKE_KEYS_ARN: !Ref IntakeKeysSecretArn\n", "",
			"FunctionURL", "intake (IntakeFunction): environment lacks RAPROV_INTAKE_KEYS_ARN"},
		{"door keys optional", "  IntakeKeysSecretArn:\n    Type: String\n", "  IntakeKeysSecretArn:\n    Type: String\n    Default: \"\"\n",
			"FunctionURL", "RAPROV_INTAKE_KEYS_ARN = !Ref IntakeKeysSecretArn, which has a Default"},
		{"door keys are the Graph secret", "RAPROV_INTAKE_KEYS_ARN: !Ref IntakeKeysSecretArn", "RAPROV_INTAKE_KEYS_ARN: !Ref GraphClientSecretArn",
			"FunctionURL", "intake (IntakeFunction): RAPROV_INTAKE_KEYS_ARN = !Ref GraphClientSecretArn, which ["},
		{"door keys not a secret", "RAPROV_INTAKE_KEYS_ARN: !Ref IntakeKeysSecretArn", "RAPROV_INTAKE_KEYS_ARN: !Ref AlarmTopicArn",
			"FunctionURL", "intake (IntakeFunction): RAPROV_INTAKE_KEYS_ARN is not !Ref of a …SecretArn parameter"},
		{"door keys in the environment", "          RAPROV_INTAKE_KEYS_ARN: !Ref IntakeKeysSecretArn\n",
			"          RAPROV_INTAKE_KEYS_ARN: !Ref IntakeKeysSecretArn\n          RAPROV_INTAKE_KEYS: 0123456789abcdef0123456789abcdef\n",
			"Secrets", "intake (IntakeFunction): environment variable RAPROV_INTAKE_KEYS would hold a secret value"},
		{"door reads another secret", "              Resource: !Ref IntakeKeysSecretArn\n", "              Resource: !Ref CallbackSecretArn\n",
			"Secrets", "intake (IntakeFunction) may read secrets [CallbackSecretArn OtlpHeadersSecretArn SenderKeysSecretArn], want exactly [IntakeKeysSecretArn OtlpHeadersSecretArn SenderKeysSecretArn]"},
		{"door reads every secret", "              Resource: !Ref IntakeKeysSecretArn\n", "              Resource: \"*\"\n",
			"Secrets", `intake (IntakeFunction): statement "IntakeKeys" on Resource "*"`},
		{"complete reads the door's keys", "          RAPROV_CALLBACK_ALLOWED_HOSTS: !Ref CallbackAllowedHosts\n      Events:\n        Queue:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt CompleteQueue.Arn",
			"          RAPROV_CALLBACK_ALLOWED_HOSTS: !Ref CallbackAllowedHosts\n          RAPROV_INTAKE_KEYS_ARN: !Ref IntakeKeysSecretArn\n      Events:\n        Queue:\n          Type: SQS\n          Properties:\n            Queue: !GetAtt CompleteQueue.Arn",
			"FunctionURL", "intake (IntakeFunction): RAPROV_INTAKE_KEYS_ARN = !Ref IntakeKeysSecretArn, which [complete (CompleteFunction)] read too"},
		{"no URL output", "    Value: !GetAtt IntakeFunctionUrl.FunctionUrl\n", "    Value: !GetAtt IntakeFunction.Arn\n",
			"Outputs", "no output gives intake (IntakeFunction)'s Function URL (!GetAtt IntakeFunctionUrl.FunctionUrl)"},
		// The scheduled bulk door (checkBulkDoor, and the S3 statements
		// through SendPermissions and PermissionsBoundary).
		{"schedule targets complete", "        Arn: !GetAtt IntakeFunction.Arn\n        RoleArn:", "        Arn: !GetAtt CompleteFunction.Arn\n        RoleArn:",
			"BulkDoor", "schedule BulkSchedule targets CompleteFunction.Arn; a schedule may target only intake (IntakeFunction)"},
		{"schedule sends another payload", `Input: '{"raprov":"bulk-scan"}'`, `Input: '{"raprov":"scan"}'`,
			"BulkDoor", `schedule BulkSchedule: Input "{\"raprov\":\"scan\"}", want {"raprov":"bulk-scan"}`},
		{"schedule payload spaced", `Input: '{"raprov":"bulk-scan"}'`, `Input: '{ "raprov": "bulk-scan" }'`,
			"BulkDoor", ""},
		{"schedule role invokes anything", "                Action: lambda:InvokeFunction\n                Resource: !GetAtt IntakeFunction.Arn\n",
			"                Action: lambda:InvokeFunction\n                Resource: \"*\"\n",
			"BulkDoor", `role BulkScheduleRole: may invoke "*", want intake (IntakeFunction) only`},
		{"schedule role does more", "                Action: lambda:InvokeFunction\n", "                Action: [lambda:InvokeFunction, lambda:UpdateFunctionCode]\n",
			"BulkDoor", "role BulkScheduleRole: actions [lambda:InvokeFunction lambda:UpdateFunctionCode], want lambda:InvokeFunction only"},
		{"schedule role trusts events", "Principal: { Service: scheduler.amazonaws.com }", "Principal: { Service: [scheduler.amazonaws.com, events.amazonaws.com] }",
			"BulkDoor", "role BulkScheduleRole: trusted by [scheduler.amazonaws.com events.amazonaws.com]"},
		{"schedule without condition", "    Type: AWS::Scheduler::Schedule\n    Condition: HasBulkDoor\n", "    Type: AWS::Scheduler::Schedule\n",
			"BulkDoor", "BulkSchedule (AWS::Scheduler::Schedule): Condition is not HasBulkDoor"},
		{"bucket without condition", "    Type: AWS::S3::Bucket\n    Condition: HasBulkDoor\n", "    Type: AWS::S3::Bucket\n",
			"BulkDoor", "bucket BulkBucket: Condition is not HasBulkDoor"},
		{"bucket may go public", "        RestrictPublicBuckets: true\n", "        RestrictPublicBuckets: false\n",
			"BulkDoor", "bucket BulkBucket: PublicAccessBlockConfiguration.RestrictPublicBuckets is not true"},
		{"bulk door on by default", "  BulkBucketName:\n    Type: String\n    Default: \"\"\n", "  BulkBucketName:\n    Type: String\n    Default: raprov-bulk\n",
			"BulkDoor", `parameter BulkBucketName: Default must be ""`},
		{"bucket variable unconditioned", "RAPROV_BULK_BUCKET: !If [HasBulkDoor, !Ref BulkBucket, !Ref AWS::NoValue]", "RAPROV_BULK_BUCKET: !Ref BulkBucketName",
			"BulkDoor", "intake (IntakeFunction): RAPROV_BULK_BUCKET is not !If [HasBulkDoor, !Ref BulkBucket, !Ref AWS::NoValue]"},
		{"bulk variable on complete", "          RAPROV_CALLBACK_SECRET_ARN:", "          RAPROV_BULK_PREFIX: !Ref BulkPrefix\n          RAPROV_CALLBACK_SECRET_ARN:",
			"BulkDoor", "complete (CompleteFunction): RAPROV_BULK_PREFIX; only the bulk door's functions get it"},
		{"intake's S3 policy unconditioned", "        - !If\n          - HasBulkDoor\n          - Statement:\n", "        - !If\n          - HasAlarmTarget\n          - Statement:\n",
			"BulkDoor", "intake (IntakeFunction): a policy with S3 actions is not !If [HasBulkDoor"},
		{"objects of the whole bucket", "                Resource: !Sub \"arn:${AWS::Partition}:s3:::${BulkBucket}/${BulkPrefix}*\"\n",
			"                Resource: !Sub \"arn:${AWS::Partition}:s3:::${BulkBucket}/*\"\n",
			"SendPermissions", `intake (IntakeFunction): s3:GetObject on "arn:${AWS::Partition}:s3:::${BulkBucket}/*", want the bulk prefix's objects only`},
		{"list without prefix condition", "                Resource: !GetAtt BulkBucket.Arn\n                Condition:\n                  StringLikeIfExists:\n                    s3:prefix: !Sub \"${BulkPrefix}*\"\n",
			"                Resource: !GetAtt BulkBucket.Arn\n",
			"SendPermissions", "intake (IntakeFunction): s3:ListBucket without Condition StringLikeIfExists s3:prefix"},
		{"intake deletes the bucket", "                Action: [s3:GetObject, s3:PutObject, s3:DeleteObject]\n", "                Action: [s3:GetObject, s3:PutObject, s3:DeleteObject, s3:DeleteBucket]\n",
			"SendPermissions", "intake (IntakeFunction): s3:DeleteBucket is not an action of the bulk door"},
		{"S3 outside the door", "              Resource: !GetAtt CompleteQueue.Arn\n",
			"              Resource: !GetAtt CompleteQueue.Arn\n            - Effect: Allow\n              Action: s3:GetObject\n              Resource: !Sub \"arn:${AWS::Partition}:s3:::${BulkBucket}/${BulkPrefix}*\"\n",
			"SendPermissions", "complete (CompleteFunction): s3:GetObject; only the bulk door's functions [intake] may use S3"},
		{"boundary caps the bulk door", "              Action: [s3:GetObject, s3:PutObject, s3:DeleteObject]\n", "              Action: [s3:GetObject, s3:PutObject]\n",
			"PermissionsBoundary", `boundary FunctionPermissionsBoundary does not allow s3:DeleteObject on "arn:${AWS::Partition}:s3:::${BulkBucket}/${BulkPrefix}*", which intake (IntakeFunction)'s policy grants`},
		{"deprovision function without Graph secret", "      RAPROV_GRAPH_CLIENT_SECRET_ARN: !Ref GraphClientSecretArn\n          RAPROV_GRAPH_SHARE: !FindInMap [DeprovisionShare", "      RAPROV_GRAPH_SHARE: !FindInMap [DeprovisionShare",
			"Secrets", "unassociate (UnassociateFunction): has RAPROV_GRAPH_CLIENT_SECRET_ARN = false, want true"},
	} {
		t.Run(m.name, func(t *testing.T) {
			if !strings.Contains(text, m.old) {
				t.Fatalf("template.yaml no longer contains %q; update this case", m.old)
			}
			tp, err := parseTemplate([]byte(strings.Replace(text, m.old, m.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			// Every step, whatever functions/ holds today: the cases break
			// the template for steps that may not have a directory yet.
			tp.functionDirs = slices.Sorted(slices.Values(events.AllSteps))
			i := slices.IndexFunc(checks, func(c check) bool { return c.name == m.check })
			if i < 0 {
				t.Fatalf("no check %q", m.check)
			}
			errs := record(t, tp, checks[i].run)
			switch {
			case m.want == "" && len(errs) > 0:
				t.Errorf("check %s reported\n\t%s\nwant nothing", m.check, strings.Join(errs, "\n\t"))
			case m.want != "" && !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, m.want) }):
				t.Errorf("check %s reported\n\t%s\nwant a message containing %q", m.check, strings.Join(errs, "\n\t"), m.want)
			}
		})
	}
}

// TestFunctionDirs checks how the expected functions are found: directories
// of functions/ with a main.go and nothing else; once there are any, the
// template must deploy exactly those.
func TestFunctionDirs(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"doc.go", "intake/main.go", "complete/main.go", "complete/handler.go", "notes/README.md"} {
		path := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("package main\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dirs := functionDirs(t, root)
	if want := []string{"complete", "intake"}; !slices.Equal(dirs, want) {
		t.Fatalf("functionDirs = %v, want %v", dirs, want)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := parseTemplate(b)
	if err != nil {
		t.Fatal(err)
	}
	tp.functionDirs = dirs
	errs := record(t, tp, checkFunctionsMatchSteps)
	want := "want exactly [complete intake]"
	if !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, want) }) {
		t.Errorf("checkFunctionsMatchSteps reported %q, want a message containing %q", errs, want)
	}
}

// recorder is a testing.TB that collects what a check reports.
type recorder struct {
	testing.TB
	errs []string
}

// errFatal unwinds a check that called Fatal on a recorder.
type errFatal struct{}

func (r *recorder) Helper() {}
func (r *recorder) Error(args ...any) {
	r.errs = append(r.errs, fmt.Sprint(args...))
}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatal(args ...any) { r.Error(args...); panic(errFatal{}) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	panic(errFatal{})
}

// record runs a check on tp and returns what it reported.
func record(t *testing.T, tp *template, run func(testing.TB, *template)) (errs []string) {
	r := &recorder{TB: t}
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(errFatal); !ok {
				panic(v)
			}
		}
		errs = r.errs
	}()
	run(r, tp)
	return r.errs
}

func checkFunctionsMatchSteps(t testing.TB, tp *template) {
	want := tp.expectedSteps(t)
	got := slices.Sorted(maps.Keys(tp.functions))
	if !slices.Equal(got, want) {
		t.Errorf("template.yaml has functions for %v, want exactly %v (functions/<step>/main.go, or events.AllSteps until those exist)", got, want)
	}
	for _, id := range tp.idsOfType("AWS::Serverless::Function") {
		if _, ok := tp.stepOf[id]; !ok {
			t.Errorf("%s: CodeUri %q is not dist/<step>.zip", id, scalar(Get(tp.res[id], "Properties", "CodeUri")))
		}
	}
}

func checkFunctionRuntime(t testing.TB, tp *template) {
	for _, step := range tp.expectedSteps(t) {
		f := tp.function(t, step)
		for key, want := range map[string]string{"Runtime": "provided.al2023", "Handler": "bootstrap"} {
			if got := scalar(f.prop(key)); got != want {
				t.Errorf("%s: %s = %q, want %q", f, key, got, want)
			}
		}
		if got := scalars(f.prop("Architectures")); !slices.Equal(got, []string{"arm64"}) {
			t.Errorf("%s: Architectures = %v, want [arm64]", f, got)
		}
		if got, want := scalar(f.prop("CodeUri")), "dist/"+step+".zip"; got != want {
			t.Errorf("%s: CodeUri = %q, want %q (make package writes it)", f, got, want)
		}
		if f.timeout(t) <= 0 {
			t.Errorf("%s: no Timeout", f)
		}
	}
}

// checkGraphTimeouts checks that a Graph function outlasts its Graph calls:
// the function timeout must exceed RAPROV_GRAPH_TIMEOUT (one call with its
// retries) and RAPROV_GRAPH_MAX_WAIT (the longest in-process wait).
func checkGraphTimeouts(t testing.TB, tp *template) {
	for _, step := range tp.expectedSteps(t) {
		if !graphSteps[step] {
			continue
		}
		f := tp.function(t, step)
		timeout := time.Duration(f.timeout(t)) * time.Second
		env := f.env()
		for _, name := range []string{"RAPROV_GRAPH_TIMEOUT", "RAPROV_GRAPH_MAX_WAIT"} {
			v, ok := env[name]
			if !ok {
				t.Errorf("%s: %s is not set; set it so the function Timeout can be checked against it", f, name)
				continue
			}
			d, err := time.ParseDuration(scalar(v))
			if err != nil {
				t.Errorf("%s: %s = %q: %v", f, name, scalar(v), err)
				continue
			}
			if timeout <= d {
				t.Errorf("%s: Timeout %v does not outlast %s = %v", f, timeout, name, d)
			}
		}
	}
}

func checkQueuesAndDeadLetters(t testing.TB, tp *template) {
	maxReceive := tp.maxReceiveParam(t)
	for _, step := range tp.expectedSteps(t) {
		func() {
			q, dlq := tp.queue(t, step), tp.queue(t, step+"-dlq")
			if q == "" || dlq == "" {
				return
			}
			qp, dp := Get(tp.res[q], "Properties"), Get(tp.res[dlq], "Properties")
			redrive := Get(qp, "RedrivePolicy")
			if redrive == nil {
				t.Errorf("queue %s (%s) has no RedrivePolicy", step, q)
				return
			}
			if res, attr := getAtt(Get(redrive, "deadLetterTargetArn")); res != dlq || attr != "Arn" {
				t.Errorf("queue %s (%s): RedrivePolicy.deadLetterTargetArn is %s.%s, want !GetAtt %s.Arn", step, q, res, attr, dlq)
			}
			tp.checkMaxReceiveCount(t, fmt.Sprintf("queue %s (%s)", step, q), Get(redrive, "maxReceiveCount"), maxReceive)
			if Get(dp, "RedrivePolicy") != nil {
				t.Errorf("DLQ %s (%s) has a RedrivePolicy of its own", step+"-dlq", dlq)
			}
			if got := scalar(Get(dp, "MessageRetentionPeriod")); got != "1209600" {
				t.Errorf("DLQ %s (%s): MessageRetentionPeriod = %q, want 1209600 (14 days)", step+"-dlq", dlq, got)
			}
			for name, props := range map[string]*yaml.Node{q: qp, dlq: dp} {
				if !encrypted(props) {
					t.Errorf("%s: neither SqsManagedSseEnabled: true nor KmsMasterKeyId", name)
				}
			}

			f := tp.function(t, step)
			vis, err := strconv.Atoi(scalar(Get(qp, "VisibilityTimeout")))
			if err != nil {
				t.Errorf("queue %s (%s): VisibilityTimeout %q: want a number of seconds", step, q, scalar(Get(qp, "VisibilityTimeout")))
				return
			}
			if timeout := f.timeout(t); vis < 6*timeout {
				t.Errorf("queue %s (%s): VisibilityTimeout %d s < 6 × function Timeout %d s (AWS guidance for SQS event sources)", step, q, vis, timeout)
			}
		}()
	}
	r := tp.queue(t, events.Results)
	if r == "" {
		return
	}
	if !encrypted(Get(tp.res[r], "Properties")) {
		t.Errorf("results queue %s is not encrypted", r)
	}
	for id := range tp.functionIDs() {
		for _, ev := range mapValues(Get(tp.res[id], "Properties", "Events")) {
			if res, _ := getAtt(Get(ev, "Properties", "Queue")); res == r {
				t.Errorf("%s consumes the results queue; it is for subscribers", id)
			}
		}
	}
}

func checkEventSources(t testing.TB, tp *template) {
	seen := map[string]string{} // MaximumConcurrency parameter → step
	for _, step := range tp.expectedSteps(t) {
		func() {
			f := tp.function(t, step)
			evs := mapValues(Get(f.props, "Events"))
			if len(evs) != 1 {
				// One trigger per function: MaximumConcurrency caps the
				// function's instances only if nothing else invokes it.
				t.Errorf("%s: %d events, want exactly one SQS event", f, len(evs))
				return
			}
			ev := evs[0]
			if typ := scalar(Get(ev, "Type")); typ != "SQS" {
				t.Errorf("%s: event Type %q, want SQS", f, typ)
				return
			}
			p := Get(ev, "Properties")
			q := tp.queue(t, step)
			if res, attr := getAtt(Get(p, "Queue")); res != q || attr != "Arn" {
				t.Errorf("%s: event Queue is %s.%s, want !GetAtt %s.Arn (its own queue)", f, res, attr, q)
			}
			if got := scalars(Get(p, "FunctionResponseTypes")); !slices.Contains(got, "ReportBatchItemFailures") {
				t.Errorf("%s: FunctionResponseTypes %v lacks ReportBatchItemFailures", f, got)
			}
			if bp := tp.paramRef(t, f, "BatchSize", Get(p, "BatchSize")); bp != nil {
				if maxV := scalar(Get(bp, "MaxValue")); maxV == "" || atoi(maxV) > 10 {
					t.Errorf("%s: BatchSize parameter allows %q, want MaxValue ≤ 10 (the timeout is sized for small batches)", f, maxV)
				}
			}
			tp.paramRef(t, f, "MaximumBatchingWindowInSeconds", Get(p, "MaximumBatchingWindowInSeconds"))
			mc := Get(p, "ScalingConfig", "MaximumConcurrency")
			param := tp.paramRef(t, f, "ScalingConfig.MaximumConcurrency", mc)
			if param == nil {
				return
			}
			name := ref(mc)
			if other, ok := seen[name]; ok && !(graphBudgetSteps[step] && graphBudgetSteps[other]) {
				// Only the functions that spend the Graph budget share one:
				// checkGraphBudget holds them to the budget together.
				t.Errorf("%s: MaximumConcurrency parameter %s is shared with %s; each function gets its own, except those that spend the Graph budget", f, name, other)
			}
			seen[name] = step
			if allowed := scalars(Get(param, "AllowedValues")); len(allowed) > 0 {
				for _, v := range allowed {
					if n := atoi(v); n < 2 || n > 1000 {
						t.Errorf("%s: parameter %s allows %q, want 2–1000 (the SQS event source's range)", f, name, v)
					}
				}
				if d := scalar(Get(param, "Default")); !slices.Contains(allowed, d) {
					t.Errorf("%s: parameter %s Default %q is not among AllowedValues %v", f, name, d, allowed)
				}
				return
			}
			if minV := scalar(Get(param, "MinValue")); minV == "" || atoi(minV) < 2 {
				t.Errorf("%s: parameter %s MinValue = %q, want ≥ 2 (the SQS event source's minimum)", f, name, minV)
			}
			if maxV := scalar(Get(param, "MaxValue")); maxV == "" || atoi(maxV) > 1000 {
				t.Errorf("%s: parameter %s MaxValue = %q, want ≤ 1000 (the SQS event source's maximum)", f, name, maxV)
			}
			if d := scalar(Get(param, "Default")); atoi(d) < 2 {
				t.Errorf("%s: parameter %s Default = %q, want ≥ 2", f, name, d)
			}
		}()
	}
}

// checkGraphBudget checks the rule of docs/aws-budget.md: every instance of a
// function that spends the Graph budget takes 1/RAPROV_GRAPH_SHARE of the
// tenant's quotas, so for every value the parameters may take,
//
//	Σ over graphBudgetSteps of  MaximumConcurrency ÷ RAPROV_GRAPH_SHARE  ≤ 1
//
// and each such function's ReservedConcurrentExecutions equals its
// MaximumConcurrency, so that nothing but its own event source (capped at
// MaximumConcurrency) can start more instances than the sum counts. The
// values are computed from the template: a number, !Ref of a parameter with
// AllowedValues, or !FindInMap [map, !Ref parameter, key]. CloudFormation
// cannot compute, so a parameter without AllowedValues cannot take part: the
// share that goes with each of its values could not be mapped. The Graph
// steps that do not spend the budget (associate) get no share at all.
func checkGraphBudget(t testing.TB, tp *template) {
	type term struct {
		f                     fn
		conc, reserved, share *yaml.Node
	}
	var terms []term
	params := map[string]bool{}
	for _, step := range tp.expectedSteps(t) {
		if !graphSteps[step] {
			continue
		}
		f := tp.function(t, step)
		share, hasShare := f.env()["RAPROV_GRAPH_SHARE"]
		if !graphBudgetSteps[step] {
			if hasShare {
				t.Errorf("%s: RAPROV_GRAPH_SHARE is set, but %s makes no Graph call and spends none of the Graph budget (graphBudgetSteps); drop it, or add the step to the budget's sum", f, step)
			}
			continue
		}
		evs := mapValues(Get(f.props, "Events"))
		if len(evs) != 1 {
			continue // checkEventSources reports it
		}
		tm := term{f: f, conc: Get(evs[0], "Properties", "ScalingConfig", "MaximumConcurrency"), reserved: f.prop("ReservedConcurrentExecutions"), share: share}
		ok := true
		for _, v := range []struct {
			what string
			n    *yaml.Node
		}{{"ScalingConfig.MaximumConcurrency", tm.conc}, {"ReservedConcurrentExecutions", tm.reserved}, {"RAPROV_GRAPH_SHARE", tm.share}} {
			if v.n == nil {
				t.Errorf("%s: no %s (docs/aws-budget.md: the share counts on MaximumConcurrency instances, pinned by reserved concurrency)", f, v.what)
				ok = false
				continue
			}
			deps, err := tp.valueParams(v.n)
			if err != nil {
				t.Errorf("%s: %s: %v", f, v.what, err)
				ok = false
			}
			for _, p := range deps {
				params[p] = true
			}
		}
		if ok {
			terms = append(terms, tm)
		}
	}
	if len(terms) == 0 {
		return
	}
	slices.SortFunc(terms, func(a, b term) int { // chain order, for messages
		return slices.Index(events.AllSteps, a.f.step) - slices.Index(events.AllSteps, b.f.step)
	})

	// Every combination of the parameters' allowed values.
	names := slices.Sorted(maps.Keys(params))
	values := make([][]string, len(names))
	combos := 1
	for i, name := range names {
		p := Get(tp.root, "Parameters", name)
		values[i] = scalars(Get(p, "AllowedValues"))
		if len(values[i]) == 0 {
			t.Errorf("parameter %s has no AllowedValues: the Graph budget can be held, and its share mapped, only for a finite set of values", name)
			return
		}
		if d := scalar(Get(p, "Default")); !slices.Contains(values[i], d) {
			t.Errorf("parameter %s: Default %q is not among AllowedValues %v", name, d, values[i])
		}
		combos *= len(values[i])
		if combos > 100000 {
			t.Fatalf("parameters %v allow more than 100,000 combinations; use one parameter for the Graph functions' concurrency", names)
		}
	}
	reported := map[string]bool{} // one message per function and kind
	overruns, first := 0, ""
	for c := range combos {
		assign := map[string]string{}
		var desc []string
		for i, name := range names {
			v := values[i][c%len(values[i])]
			c /= len(values[i])
			assign[name] = v
			desc = append(desc, name+"="+v)
		}
		at := strings.Join(desc, ", ")
		sum := new(big.Rat)
		var parts []string
		for _, tm := range terms {
			conc, err1 := tp.value(tm.conc, assign)
			res, err2 := tp.value(tm.reserved, assign)
			share, err3 := tp.value(tm.share, assign)
			if err := errors.Join(err1, err2, err3); err != nil {
				if !reported[tm.f.id+"eval"] {
					t.Errorf("%s at %s: %v", tm.f, at, err)
					reported[tm.f.id+"eval"] = true
				}
				sum = nil
				break
			}
			if res != conc && !reported[tm.f.id+"reserved"] {
				t.Errorf("%s at %s: ReservedConcurrentExecutions %d ≠ MaximumConcurrency %d; reserve exactly what the event source may run (docs/aws-budget.md)", tm.f, at, res, conc)
				reported[tm.f.id+"reserved"] = true
			}
			if share < 2 {
				if !reported[tm.f.id+"share"] {
					t.Errorf("%s at %s: RAPROV_GRAPH_SHARE = %d; %d instances at once need a share of at least 2 each", tm.f, at, share, conc)
					reported[tm.f.id+"share"] = true
				}
				sum = nil
				break
			}
			sum.Add(sum, big.NewRat(int64(conc), int64(share)))
			parts = append(parts, fmt.Sprintf("%s %d/%d", tm.f.step, conc, share))
		}
		if sum != nil && sum.Cmp(big.NewRat(1, 1)) > 0 {
			if overruns++; first == "" {
				first = fmt.Sprintf("at %s: Σ MaximumConcurrency ÷ RAPROV_GRAPH_SHARE = %s = %s > 1", at, strings.Join(parts, " + "), sum.RatString())
			}
		}
	}
	if overruns > 0 {
		t.Errorf("Graph budget overrun for %d of %d parameter values; first %s: together the instances of the functions that spend it may take more than the tenant's budget (docs/aws-budget.md)", overruns, combos, first)
	}
}

// valueParams returns the parameters a value that tp.value can compute
// depends on, or an error when it cannot compute it.
func (tp *template) valueParams(n *yaml.Node) ([]string, error) {
	name, arg := intrinsic(n)
	switch name {
	case "":
		if atoi(scalar(n)) < 0 {
			return nil, fmt.Errorf("%q is not a number, !Ref of a parameter or !FindInMap [map, !Ref parameter, key]", scalar(n))
		}
		return nil, nil
	case "Ref":
		if Get(tp.root, "Parameters", scalar(arg)) == nil {
			return nil, fmt.Errorf("!Ref %q is not a parameter", scalar(arg))
		}
		return []string{scalar(arg)}, nil
	case "Fn::FindInMap":
		args := seq(arg)
		if len(args) != 3 || scalar(args[0]) == "" || scalar(args[2]) == "" {
			return nil, errors.New("!FindInMap is not [map, key, key] with literal map and second key")
		}
		if scalar(args[1]) != "" {
			return nil, nil
		}
		return tp.valueParams(args[1])
	default:
		return nil, fmt.Errorf("%s is not a number, !Ref of a parameter or !FindInMap [map, !Ref parameter, key]", name)
	}
}

// value computes a number of the template for the parameter values assign.
func (tp *template) value(n *yaml.Node, assign map[string]string) (int, error) {
	name, arg := intrinsic(n)
	var s string
	switch name {
	case "":
		s = scalar(n)
	case "Ref":
		s = assign[scalar(arg)]
	case "Fn::FindInMap":
		args := seq(arg)
		key := scalar(args[1])
		if key == "" {
			key = assign[ref(args[1])]
		}
		s = scalar(Get(tp.root, "Mappings", scalar(args[0]), key, scalar(args[2])))
		if s == "" {
			return 0, fmt.Errorf("Mappings.%s has no %s.%s", scalar(args[0]), key, scalar(args[2]))
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a whole number", s)
	}
	return v, nil
}

func checkSendPermissions(t testing.TB, tp *template) {
	for _, step := range tp.expectedSteps(t) {
		f := tp.function(t, step)
		got := slices.Sorted(maps.Keys(tp.grants(t, f).sends))
		want := expectedSends(step)
		if !slices.Equal(got, want) {
			t.Errorf("%s may send to %v, want exactly %v (events.Routes); missing %v, not allowed %v",
				f, got, want, minus(want, got), minus(got, want))
		}
	}
}

func checkSecrets(t testing.TB, tp *template) {
	for name, p := range Entries(Get(tp.root, "Parameters")) {
		if strings.Contains(strings.ToUpper(name), "SECRET") && !strings.HasSuffix(name, "Arn") {
			t.Errorf("parameter %s looks like a secret value; pass secrets as Secrets Manager ARNs (…Arn)", name)
		}
		if strings.HasSuffix(name, "SecretArn") && !strings.Contains(scalar(Get(p, "AllowedPattern")), "secretsmanager") {
			t.Errorf("parameter %s: AllowedPattern %q does not require a Secrets Manager ARN", name, scalar(Get(p, "AllowedPattern")))
		}
	}
	for _, step := range tp.expectedSteps(t) {
		f := tp.function(t, step)
		env := f.env()
		wantSecrets := map[string]bool{}
		for name, v := range env {
			if (strings.Contains(name, "SECRET") || strings.HasSuffix(name, "_KEY") || strings.HasSuffix(name, "_KEYS")) && !strings.HasSuffix(name, "_ARN") {
				t.Errorf("%s: environment variable %s would hold a secret value; pass an ARN (…_SECRET_ARN)", f, name)
			}
			if !strings.HasSuffix(name, "_ARN") {
				continue
			}
			// A secret's variable: one named …_SECRET_ARN, or any …_ARN
			// that names a …SecretArn parameter (RAPROV_INTAKE_KEYS_ARN).
			for _, b := range branches(v) {
				p := ref(b)
				isSecret := strings.HasSuffix(p, "SecretArn") && Get(tp.root, "Parameters", p) != nil
				switch {
				case isSecret:
					wantSecrets[p] = true
				case strings.HasSuffix(name, "_SECRET_ARN"):
					t.Errorf("%s: %s is not !Ref of a …SecretArn parameter", f, name)
				}
			}
		}
		_, hasGraph := env["RAPROV_GRAPH_CLIENT_SECRET_ARN"]
		if hasGraph != graphSteps[step] {
			t.Errorf("%s: has RAPROV_GRAPH_CLIENT_SECRET_ARN = %v, want %v (only Graph functions get the Graph secret)", f, hasGraph, graphSteps[step])
		}
		got := slices.Sorted(maps.Keys(tp.grants(t, f).secrets))
		want := slices.Sorted(maps.Keys(wantSecrets))
		if !slices.Equal(got, want) {
			t.Errorf("%s may read secrets %v, want exactly %v (those its *_SECRET_ARN variables name)", f, got, want)
		}
	}
}

func checkEnvironmentContract(t testing.TB, tp *template) {
	table := tp.table(t)
	maxReceive := tp.maxReceiveParam(t)
	for _, step := range tp.expectedSteps(t) {
		f := tp.function(t, step)
		env := f.env()
		want := slices.Concat(envEveryFunction, envByStep[step])
		if graphSteps[step] {
			want = append(want, envGraph...)
		}
		if graphBudgetSteps[step] {
			want = append(want, envGraphBudget...)
		}
		for _, name := range want {
			if _, ok := env[name]; !ok {
				t.Errorf("%s: environment lacks %s", f, name)
			}
		}
		if !graphSteps[step] {
			for name := range env {
				if strings.HasPrefix(name, "RAPROV_GRAPH_") || strings.HasPrefix(name, "RAPROV_TEAMS_ADMIN_") {
					t.Errorf("%s: %s set on a function that does not call Graph", f, name)
				}
			}
		}
		if got := sub(env["RAPROV_SQS_QUEUE_URL_PREFIX"]); got != queueURLPrefix {
			t.Errorf("%s: RAPROV_SQS_QUEUE_URL_PREFIX = !Sub %q, want %q", f, got, queueURLPrefix)
		}
		if got := ref(env["RAPROV_DYNAMODB_TABLE"]); got != table {
			t.Errorf("%s: RAPROV_DYNAMODB_TABLE = !Ref %q, want !Ref %s", f, got, table)
		}
		if got := ref(env["RAPROV_MAX_RECEIVE"]); got != maxReceive {
			t.Errorf("%s: RAPROV_MAX_RECEIVE = !Ref %q, want !Ref %s (the parameter the redrive derives from)", f, got, maxReceive)
		}
		for _, name := range slices.Sorted(maps.Keys(envEnums)) {
			v, ok := env[name]
			if !ok {
				continue
			}
			want := slices.Sorted(slices.Values(envEnums[name]))
			p := tp.paramRef(t, f, name, v)
			if p == nil {
				continue
			}
			allowed := scalars(Get(p, "AllowedValues"))
			if got := slices.Sorted(slices.Values(allowed)); !slices.Equal(got, want) {
				t.Errorf("%s: %s = !Ref %s, which allows %v; want exactly %v (the values the code accepts)", f, name, ref(v), allowed, want)
			}
			if d := scalar(Get(p, "Default")); !slices.Contains(want, d) {
				t.Errorf("%s: %s = !Ref %s, whose Default %q is not one of %v", f, name, ref(v), d, want)
			}
		}
	}
}

func checkDeadLetterAlarms(t testing.TB, tp *template) {
	alarmed := map[string]bool{}
	for _, id := range tp.idsOfType("AWS::CloudWatch::Alarm") {
		p := Get(tp.res[id], "Properties")
		if scalar(Get(p, "Namespace")) != "AWS/SQS" || scalar(Get(p, "MetricName")) != "ApproximateNumberOfMessagesVisible" {
			continue
		}
		op, threshold := scalar(Get(p, "ComparisonOperator")), scalar(Get(p, "Threshold"))
		if !(op == "GreaterThanThreshold" && atoi(threshold) == 0) && !(op == "GreaterThanOrEqualToThreshold" && atoi(threshold) == 1) {
			t.Errorf("alarm %s: %s %s, want > 0 messages", id, op, threshold)
			continue
		}
		for _, d := range seq(Get(p, "Dimensions")) {
			if scalar(Get(d, "Name")) == "QueueName" {
				if res, attr := getAtt(Get(d, "Value")); attr == "QueueName" {
					alarmed[res] = true
				}
			}
		}
	}
	for _, step := range tp.expectedSteps(t) {
		if dlq := tp.queue(t, step+"-dlq"); dlq != "" && !alarmed[dlq] {
			t.Errorf("DLQ %s (%s) has no alarm on ApproximateNumberOfMessagesVisible > 0", step+"-dlq", dlq)
		}
	}
}

func checkTable(t testing.TB, tp *template) {
	table := tp.table(t)
	p := Get(tp.res[table], "Properties")
	if got := scalar(Get(p, "BillingMode")); got != "PAY_PER_REQUEST" {
		t.Errorf("table %s: BillingMode %q, want PAY_PER_REQUEST", table, got)
	}
	keys := map[string]string{}
	for _, k := range seq(Get(p, "KeySchema")) {
		keys[scalar(Get(k, "KeyType"))] = scalar(Get(k, "AttributeName"))
	}
	if keys["HASH"] != "pk" || keys["RANGE"] != "sk" || len(keys) != 2 {
		t.Errorf("table %s: KeySchema %v, want pk HASH and sk RANGE", table, keys)
	}
	types := map[string]string{}
	for _, a := range seq(Get(p, "AttributeDefinitions")) {
		types[scalar(Get(a, "AttributeName"))] = scalar(Get(a, "AttributeType"))
	}
	if types["pk"] != "S" || types["sk"] != "S" {
		t.Errorf("table %s: AttributeDefinitions %v, want pk and sk of type S", table, types)
	}
	ttl := Get(p, "TimeToLiveSpecification")
	if scalar(Get(ttl, "AttributeName")) != "ttl" || scalar(Get(ttl, "Enabled")) != "true" {
		t.Errorf("table %s: TimeToLiveSpecification must enable attribute ttl", table)
	}
	if scalar(Get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled")) != "true" {
		t.Errorf("table %s: point-in-time recovery is off", table)
	}
}

// checkPermissionsBoundary checks the boundary that caps what SAM's automatic
// AWSLambdaSQSQueueExecutionRole (receive and delete on every queue) allows,
// and that it leaves each function what its own policies grant on the table
// and the secrets (a grant the boundary caps fails only at run time).
func checkPermissionsBoundary(t testing.TB, tp *template) {
	checked := map[string]bool{}
	for _, step := range tp.expectedSteps(t) {
		f := tp.function(t, step)
		id := ref(f.prop("PermissionsBoundary"))
		if id == "" || scalar(Get(tp.res[id], "Type")) != "AWS::IAM::ManagedPolicy" {
			t.Errorf("%s: PermissionsBoundary is not !Ref of a managed policy in the template", f)
			continue
		}
		table, secrets, s3 := map[string]bool{}, map[string]bool{}, map[string]bool{}
		for _, st := range branches(Get(tp.res[id], "Properties", "PolicyDocument", "Statement")) {
			if scalar(Get(st, "Effect")) != "Allow" {
				continue
			}
			for _, a := range scalars(Get(st, "Action")) {
				if strings.HasPrefix(a, "s3:") {
					errs := tp.bulkS3(a, st)
					if isMappingsS3(st) {
						errs = mappingsS3(a, st)
					}
					for _, e := range errs {
						t.Errorf("boundary %s: %s", id, e)
					}
				}
				if a == "lambda:InvokeFunction" {
					for _, r := range branches(Get(st, "Resource")) {
						if sub(r) != plannerInvokeBoundary {
							t.Errorf("boundary %s: lambda:InvokeFunction on %s, want only the stack's functions (!Sub %q)", id, s3Resource(r), plannerInvokeBoundary)
						}
					}
				}
				for _, r := range branches(Get(st, "Resource")) {
					if strings.HasPrefix(a, "s3:") {
						s3[s3Grant(a, r)] = true
					}
					if res, attr := getAtt(r); strings.HasPrefix(a, "dynamodb:") && res == tp.table(t) && attr == "Arn" {
						table[a] = true
					}
					if a == "secretsmanager:GetSecretValue" && ref(r) != "" {
						secrets[ref(r)] = true
					}
				}
			}
		}
		g := tp.grants(t, f)
		for _, a := range slices.Sorted(maps.Keys(g.table)) {
			if !table[a] {
				t.Errorf("boundary %s does not allow %s on the table, which %s's policy grants", id, a, f)
			}
		}
		for _, p := range slices.Sorted(maps.Keys(g.secrets)) {
			if !secrets[p] {
				t.Errorf("boundary %s does not allow secretsmanager:GetSecretValue on %s, which %s reads", id, p, f)
			}
		}
		for _, a := range slices.Sorted(maps.Keys(g.s3)) {
			if !s3[a] {
				t.Errorf("boundary %s does not allow %s, which %s's policy grants", id, a, f)
			}
		}
		if checked[id] {
			continue
		}
		checked[id] = true
		for _, st := range branches(Get(tp.res[id], "Properties", "PolicyDocument", "Statement")) {
			for _, a := range scalars(Get(st, "Action")) {
				if a == "*" || strings.HasSuffix(a, ":*") {
					t.Errorf("boundary %s: action %q", id, a)
				}
				if strings.HasPrefix(a, "sqs:") {
					for _, r := range branches(Get(st, "Resource")) {
						if s := sub(r); !strings.HasSuffix(s, ":"+queueNameSub+"*") {
							t.Errorf("boundary %s: %s on %q, want this stack's queues only (…:%s*)", id, a, s, queueNameSub)
						}
					}
				}
			}
			for _, r := range branches(Get(st, "Resource")) {
				if scalar(r) == "*" {
					t.Errorf("boundary %s: Resource \"*\"", id)
				}
			}
		}
	}
}

func checkOutputs(t testing.TB, tp *template) {
	outputs := Get(tp.root, "Outputs")
	refs := map[string]bool{}
	for _, o := range mapValues(outputs) {
		refs[ref(Get(o, "Value"))] = true
	}
	for name, res := range map[string]string{
		"IntakeQueueUrl":  tp.queue(t, events.StepIntake),
		"ResultsQueueUrl": tp.queue(t, events.Results),
		"TableName":       tp.table(t),
	} {
		if got := ref(Get(outputs, name, "Value")); got != res {
			t.Errorf("output %s is !Ref %q, want !Ref %s", name, got, res)
		}
	}
	for _, step := range tp.expectedSteps(t) {
		if dlq := tp.queue(t, step+"-dlq"); dlq != "" && !refs[dlq] {
			t.Errorf("no output gives the URL of DLQ %s (%s)", step+"-dlq", dlq)
		}
		if !doorSteps[step] {
			continue
		}
		// SAM names a function's URL resource <function id>Url.
		f := tp.function(t, step)
		found := false
		for _, o := range mapValues(outputs) {
			if res, attr := getAtt(Get(o, "Value")); res == f.id+"Url" && attr == "FunctionUrl" {
				found = true
			}
		}
		if !found {
			t.Errorf("no output gives %s's Function URL (!GetAtt %sUrl.FunctionUrl)", f, f.id)
		}
	}
}

// checkFunctionURL checks the HTTP door's URL: only the functions of
// doorSteps have one, with AuthType NONE (the door authenticates every call
// by its HMAC signature; a client of the door cannot sign SigV4) and
// InvokeMode BUFFERED (sqs.FunctionURL answers with one document, not a
// stream); their keys come from a secret of their own, which the stack
// cannot deploy without (no default), and no other door reaches the
// functions (raw AWS::Lambda::Url or public permissions, API events).
func checkFunctionURL(t testing.TB, tp *template) {
	for _, typ := range []string{"AWS::Lambda::Url", "AWS::Lambda::Permission", "AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::ApiGatewayV2::Api", "AWS::ApiGateway::RestApi"} {
		for _, id := range tp.idsOfType(typ) {
			t.Errorf("resource %s (%s): the functions' only HTTP entry is intake's FunctionUrlConfig", id, typ)
		}
	}
	keysParams := map[string][]string{} // …SecretArn parameter → functions whose environment names it
	for _, step := range tp.expectedSteps(t) {
		f := tp.function(t, step)
		for name, v := range f.env() {
			if strings.HasSuffix(name, "_ARN") {
				for _, b := range branches(v) {
					keysParams[ref(b)] = append(keysParams[ref(b)], f.String())
				}
			}
		}
		for _, e := range mapValues(Get(f.props, "Events")) {
			if typ := scalar(Get(e, "Type")); typ != "SQS" {
				t.Errorf("%s: event of type %s; a function is triggered by its queue (and the door by its URL) only", f, typ)
			}
		}
	}
	for _, step := range tp.expectedSteps(t) {
		f := tp.function(t, step)
		cfg := f.prop("FunctionUrlConfig")
		if !doorSteps[step] {
			if cfg != nil {
				t.Errorf("%s has a FunctionUrlConfig; only the HTTP door's functions %v may", f, slices.Sorted(maps.Keys(doorSteps)))
			}
			continue
		}
		if cfg == nil {
			t.Errorf("%s: no FunctionUrlConfig; the HTTP door is served at its URL", f)
			continue
		}
		if got := scalar(Get(cfg, "AuthType")); got != "NONE" {
			t.Errorf("%s: FunctionUrlConfig.AuthType %q, want NONE (the door authenticates by HMAC signature)", f, got)
		}
		if got := scalar(Get(cfg, "InvokeMode")); got != "" && got != "BUFFERED" {
			t.Errorf("%s: FunctionUrlConfig.InvokeMode %q, want BUFFERED (sqs.FunctionURL answers with one document)", f, got)
		}
		if Get(cfg, "Cors") != nil {
			t.Errorf("%s: FunctionUrlConfig.Cors is set; the door serves systems, not browsers", f)
		}
		v, ok := f.env()[doorKeysVar]
		if !ok {
			t.Errorf("%s: environment lacks %s", f, doorKeysVar)
			continue
		}
		p := ref(v)
		switch param := Get(tp.root, "Parameters", p); {
		case !strings.HasSuffix(p, "SecretArn") || param == nil:
			t.Errorf("%s: %s is not !Ref of a …SecretArn parameter", f, doorKeysVar)
		case Get(param, "Default") != nil:
			t.Errorf("%s: %s = !Ref %s, which has a Default; the door needs its keys, so the parameter is required", f, doorKeysVar, p)
		case len(keysParams[p]) != 1:
			others := slices.DeleteFunc(slices.Clone(keysParams[p]), func(s string) bool { return s == f.String() })
			t.Errorf("%s: %s = !Ref %s, which %v read too; the door's keys are its own", f, doorKeysVar, p, others)
		}
	}
}

// bulkBucket returns the logical id of the one S3 bucket (the bulk door's),
// or "".
func (tp *template) bulkBucket() string {
	if ids := tp.idsOfType("AWS::S3::Bucket"); len(ids) == 1 {
		return ids[0]
	}
	return ""
}

// bulkObjectsOf is the one resource of the object actions on bucket.
func bulkObjectsOf(bucket string) string {
	return strings.Replace(bulkObjects, "${BulkBucket}", "${"+bucket+"}", 1)
}

// bulkS3 checks an S3 action of statement st: the object actions on the
// bulk prefix's objects only, ListBucket on the bucket bound to the prefix
// (Condition StringLike s3:prefix), no other action.
func (tp *template) bulkS3(a string, st *yaml.Node) []string {
	var errs []string
	bucket := tp.bulkBucket()
	resources := branches(Get(st, "Resource"))
	switch {
	case slices.Contains(bulkObjectActions, a):
		for _, r := range resources {
			if name, _ := intrinsic(r); name != "Fn::Sub" || sub(r) != bulkObjectsOf(bucket) {
				errs = append(errs, fmt.Sprintf("%s on %s, want the bulk prefix's objects only (!Sub %q)", a, s3Resource(r), bulkObjectsOf(bucket)))
			}
		}
	case a == "s3:ListBucket":
		for _, r := range resources {
			if res, attr := getAtt(r); res != bucket || attr != "Arn" || bucket == "" {
				errs = append(errs, fmt.Sprintf("%s on %s, want the bulk bucket (!GetAtt %s.Arn)", a, s3Resource(r), bucket))
			}
		}
		// IfExists: S3's check of ListBucket that turns a missing key's
		// 403 into 404 carries no s3:prefix.
		if p := Get(st, "Condition", "StringLikeIfExists", "s3:prefix"); sub(p) != bulkListPrefix {
			errs = append(errs, fmt.Sprintf("%s without Condition StringLikeIfExists s3:prefix !Sub %q: it would list the whole bucket", a, bulkListPrefix))
		}
	default:
		errs = append(errs, fmt.Sprintf("%s is not an action of the bulk door (allowed: s3:ListBucket, %v)", a, bulkObjectActions))
	}
	return errs
}

// s3Resource names a resource of an S3 statement in messages.
func s3Resource(r *yaml.Node) string {
	if res, attr := getAtt(r); res != "" {
		return res + "." + attr
	}
	return strconv.Quote(sub(r))
}

// s3Grant is one S3 action on one resource, as grants and the boundary
// compare them.
func s3Grant(a string, r *yaml.Node) string { return a + " on " + s3Resource(r) }

// ifCondition returns the then-branch of n when n is
// !If [cond, then, !Ref AWS::NoValue].
func ifCondition(n *yaml.Node, cond string) (*yaml.Node, bool) {
	name, arg := intrinsic(n)
	if name != "Fn::If" {
		return nil, false
	}
	items := seq(arg)
	if len(items) != 3 || scalar(items[0]) != cond || ref(items[2]) != "AWS::NoValue" {
		return nil, false
	}
	return items[1], true
}

// mappingsOnly reports whether n is !If [HasSenderMappings, …, !Ref
// AWS::NoValue] whose statements are all on the sender mappings' bucket.
func mappingsOnly(n *yaml.Node) bool {
	then, ok := ifCondition(n, mappingsCondition)
	if !ok {
		return false
	}
	stmts := []*yaml.Node{then}
	if st := Get(then, "Statement"); st != nil {
		stmts = branches(st)
	}
	for _, st := range stmts {
		if !isMappingsS3(st) {
			return false
		}
	}
	return true
}

// hasS3 reports whether a policy or statement node (any branch) holds an
// S3 action.
func hasS3(n *yaml.Node) bool {
	for _, b := range branches(n) {
		stmts := []*yaml.Node{b}
		if st := Get(b, "Statement"); st != nil {
			stmts = branches(st)
		}
		for _, st := range stmts {
			if slices.ContainsFunc(scalars(Get(st, "Action")), func(a string) bool { return strings.HasPrefix(a, "s3:") }) {
				return true
			}
		}
	}
	return false
}

// checkBulkDoor checks the scheduled bulk door (docs/bulk.md, "On AWS"):
// off unless its bucket parameter is set (condition bulkCondition), and
// then a private, encrypted bucket; schedules that invoke the bulk door's
// function only, with sqs.ScheduledBulkScan, through a role that may
// invoke that function and nothing else; the function's variables, S3
// policy and the boundary's S3 statements all under the same condition.
func checkBulkDoor(t testing.TB, tp *template) {
	cond := Get(tp.root, "Conditions", bulkCondition)
	if cond == nil {
		t.Fatalf("no condition %s: the bulk door must be off unless asked for", bulkCondition)
	}
	bucketParam := ""
	if name, arg := intrinsic(cond); name == "Fn::Not" && len(seq(arg)) == 1 {
		if name, eq := intrinsic(seq(arg)[0]); name == "Fn::Equals" && len(seq(eq)) == 2 && seq(eq)[1].Value == "" {
			bucketParam = ref(seq(eq)[0])
		}
	}
	switch param := Get(tp.root, "Parameters", bucketParam); {
	case param == nil:
		t.Errorf("condition %s is not !Not [!Equals [!Ref <bucket parameter>, \"\"]]", bulkCondition)
	case Get(param, "Default") == nil || scalar(Get(param, "Default")) != "":
		t.Errorf("parameter %s: Default must be \"\" (no bulk door unless asked for)", bucketParam)
	}
	conditioned := func(id string) bool { return scalar(Get(tp.res[id], "Condition")) == bulkCondition }
	buckets := tp.idsOfType("AWS::S3::Bucket")
	if len(buckets) != 1 {
		t.Fatalf("%d S3 buckets %v, want one: the bulk door's", len(buckets), buckets)
	}
	bucket := buckets[0]
	bp := Get(tp.res[bucket], "Properties")
	if !conditioned(bucket) {
		t.Errorf("bucket %s: Condition is not %s", bucket, bulkCondition)
	}
	if got := ref(Get(bp, "BucketName")); got != bucketParam {
		t.Errorf("bucket %s: BucketName is !Ref %q, want !Ref %s", bucket, got, bucketParam)
	}
	if Get(bp, "BucketEncryption", "ServerSideEncryptionConfiguration") == nil {
		t.Errorf("bucket %s: no BucketEncryption", bucket)
	}
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if scalar(Get(bp, "PublicAccessBlockConfiguration", k)) != "true" {
			t.Errorf("bucket %s: PublicAccessBlockConfiguration.%s is not true", bucket, k)
		}
	}
	for _, typ := range []string{"AWS::S3::BucketPolicy", "AWS::IAM::Role", "AWS::Scheduler::Schedule"} {
		for _, id := range tp.idsOfType(typ) {
			if !conditioned(id) {
				t.Errorf("%s (%s): Condition is not %s; it exists only for the bulk door", id, typ, bulkCondition)
			}
		}
	}

	var door fn
	for _, step := range tp.expectedSteps(t) {
		if bulkSteps[step] {
			door = tp.function(t, step)
		}
	}
	if door.id == "" {
		t.Fatalf("no function of the bulk door's steps %v", slices.Sorted(maps.Keys(bulkSteps)))
	}
	schedules := tp.idsOfType("AWS::Scheduler::Schedule")
	if len(schedules) == 0 {
		t.Errorf("no AWS::Scheduler::Schedule invokes the bulk door")
	}
	roles := map[string]bool{}
	for _, id := range schedules {
		target := Get(tp.res[id], "Properties", "Target")
		if res, attr := getAtt(Get(target, "Arn")); res != door.id || attr != "Arn" {
			t.Errorf("schedule %s targets %s.%s; a schedule may target only %s (!GetAtt %s.Arn)", id, res, attr, door, door.id)
		}
		var got, want bytes.Buffer
		json.Compact(&want, []byte(sqs.ScheduledBulkScan))
		if err := json.Compact(&got, []byte(scalar(Get(target, "Input")))); err != nil || got.String() != want.String() {
			t.Errorf("schedule %s: Input %q, want %s (sqs.ScheduledBulkScan; anything else is refused)", id, scalar(Get(target, "Input")), sqs.ScheduledBulkScan)
		}
		if ref(Get(tp.res[id], "Properties", "ScheduleExpression")) == "" {
			t.Errorf("schedule %s: ScheduleExpression is not !Ref of a parameter", id)
		}
		role, attr := getAtt(Get(target, "RoleArn"))
		if attr != "Arn" || scalar(Get(tp.res[role], "Type")) != "AWS::IAM::Role" {
			t.Errorf("schedule %s: Target.RoleArn is not !GetAtt of a role of the template", id)
			continue
		}
		roles[role] = true
	}
	for _, role := range slices.Sorted(maps.Keys(roles)) {
		rp := Get(tp.res[role], "Properties")
		for _, st := range branches(Get(rp, "AssumeRolePolicyDocument", "Statement")) {
			if svc := scalars(Get(st, "Principal", "Service")); len(svc) != 1 || svc[0] != "scheduler.amazonaws.com" || Get(st, "Principal", "AWS") != nil {
				t.Errorf("role %s: trusted by %v, want scheduler.amazonaws.com only", role, svc)
			}
		}
		if Get(rp, "ManagedPolicyArns") != nil {
			t.Errorf("role %s: ManagedPolicyArns; the schedule's role holds its one statement only", role)
		}
		for _, p := range seq(Get(rp, "Policies")) {
			for _, st := range branches(Get(p, "PolicyDocument", "Statement")) {
				if scalar(Get(st, "Effect")) != "Allow" {
					continue
				}
				if a := scalars(Get(st, "Action")); len(a) != 1 || a[0] != "lambda:InvokeFunction" {
					t.Errorf("role %s: actions %v, want lambda:InvokeFunction only", role, a)
				}
				for _, r := range branches(Get(st, "Resource")) {
					if res, attr := getAtt(r); res != door.id || attr != "Arn" {
						t.Errorf("role %s: may invoke %s, want %s only (!GetAtt %s.Arn)", role, s3Resource(r), door, door.id)
					}
				}
			}
		}
	}

	// The function's variables: the bucket and prefix only when the door is on.
	for name, want := range map[string]string{"RAPROV_BULK_BUCKET": bucket, "RAPROV_BULK_PREFIX": bulkPrefixParam} {
		then, ok := ifCondition(door.env()[name], bulkCondition)
		if !ok || ref(then) != want {
			t.Errorf("%s: %s is not !If [%s, !Ref %s, !Ref AWS::NoValue]", door, name, bulkCondition, want)
		}
	}
	if _, ok := door.env()["RAPROV_ALLOW_DEPROVISION_ROWS"]; !ok {
		t.Errorf("%s: environment lacks RAPROV_ALLOW_DEPROVISION_ROWS", door)
	}
	if d := scalar(Get(tp.root, "Parameters", bulkPrefixParam, "Default")); !strings.HasSuffix(d, "/") || strings.HasPrefix(d, "/") {
		t.Errorf("parameter %s: Default %q, want a prefix ending in / (not starting with one)", bulkPrefixParam, d)
	}
	for _, step := range tp.expectedSteps(t) {
		f := tp.function(t, step)
		for name := range f.env() {
			if strings.HasPrefix(name, "RAPROV_BULK_") && !bulkSteps[step] {
				t.Errorf("%s: %s; only the bulk door's functions get it", f, name)
			}
		}
	}
	for _, p := range seq(Get(door.props, "Policies")) {
		if _, ok := ifCondition(p, bulkCondition); hasS3(p) && !ok && !mappingsOnly(p) {
			t.Errorf("%s: a policy with S3 actions is not !If [%s, …, !Ref AWS::NoValue]", door, bulkCondition)
		}
	}
	g := tp.grants(t, door)
	for _, a := range append([]string{"s3:ListBucket"}, bulkObjectActions...) {
		if !slices.ContainsFunc(slices.Collect(maps.Keys(g.s3)), func(s string) bool { return strings.HasPrefix(s, a+" on ") }) {
			t.Errorf("%s: no %s; the bulk door needs it", door, a)
		}
	}
	if id := ref(door.prop("PermissionsBoundary")); id != "" {
		for _, st := range seq(Get(tp.res[id], "Properties", "PolicyDocument", "Statement")) {
			if _, ok := ifCondition(st, bulkCondition); hasS3(st) && !ok && !mappingsOnly(st) {
				t.Errorf("boundary %s: a statement with S3 actions is not !If [%s, …, !Ref AWS::NoValue]", id, bulkCondition)
			}
		}
	}
}

// TestGraphStepsFollowCode checks graphSteps against the functions once they
// exist: a function that links the Graph or Teams admin adapter needs the
// app's credentials, and one that does not must not get them.
func TestGraphStepsFollowCode(t *testing.T) {
	dirs := functionDirs(t, filepath.Join(repoRoot, "functions"))
	if len(dirs) == 0 {
		t.Skip("no functions/<step>/main.go yet")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	cmd := exec.Command(goBin, "list", "-tags", "lambda.norpc", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./functions/...")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./functions/...: %v", err)
	}
	const module = "github.com/raprov/raprov/"
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		step, ok := strings.CutPrefix(fields[0], module+"functions/")
		if !ok || strings.Contains(step, "/") {
			continue
		}
		links := slices.ContainsFunc(fields[1:], func(dep string) bool {
			return dep == module+"shared/graph" || dep == module+"shared/teamsadmin"
		})
		if links != graphSteps[step] {
			t.Errorf("functions/%s links the Graph or Teams admin adapter: %v; graphSteps says %v", step, links, graphSteps[step])
		}
	}
}

// TestGraphBudgetStepsFollowCode checks graphBudgetSteps against the Graph
// functions' code: a function spends the Graph budget when its main package
// uses the Graph client of graphhost.Microsoft (a selector .Graph), and one
// that only uses .Teams spends none of it. The check is syntactic: a function
// that handed its whole *graphhost.Microsoft to another package would escape
// it, and none does.
func TestGraphBudgetStepsFollowCode(t *testing.T) {
	dirs := functionDirs(t, filepath.Join(repoRoot, "functions"))
	if len(dirs) == 0 {
		t.Skip("no functions/<step>/main.go yet")
	}
	for _, step := range dirs {
		if !graphSteps[step] {
			if graphBudgetSteps[step] {
				t.Errorf("graphBudgetSteps has %s, which graphSteps does not", step)
			}
			continue
		}
		uses := usesGraphClient(t, filepath.Join(repoRoot, "functions", step))
		if uses != graphBudgetSteps[step] {
			t.Errorf("functions/%s uses the Graph client (.Graph): %v; graphBudgetSteps says %v", step, uses, graphBudgetSteps[step])
		}
	}
	// The check itself: associate uses .Teams only, assign-number .Graph.
	for _, c := range []struct {
		src  string
		want bool
	}{
		{"package main\nfunc main() { m := connect(); start(m.Teams) }\n", false},
		{"package main\nfunc main() { m := connect(); start(m.Graph) }\n", true},
		{"package main\nfunc main() { m := connect(); start(cache(m.Graph), m.Teams) }\n", true},
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := usesGraphClient(t, dir); got != c.want {
			t.Errorf("usesGraphClient(%q) = %v, want %v", c.src, got, c.want)
		}
	}
}

// usesGraphClient reports whether the non-test Go files of dir select a
// field or method named Graph.
func usesGraphClient(t testing.TB, dir string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	uses := false
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "Graph" {
				uses = true
			}
			return !uses
		})
	}
	return uses
}

// ------------------------------------------------------ the template model

type template struct {
	root      *yaml.Node            // the top-level mapping
	res       map[string]*yaml.Node // logical id → resource
	globals   *yaml.Node            // Globals.Function
	functions map[string]string     // step → logical id, by CodeUri dist/<step>.zip
	stepOf    map[string]string     // logical id → step
	queues    map[string]string     // queue name without the stack prefix → logical id

	// functionDirs, when not nil, stands in for the function directories
	// found under functions/ (tests of the checks themselves).
	functionDirs []string
}

var (
	parsed   *template
	parseErr error
)

// loadTemplate parses ../../template.yaml once per test binary.
func loadTemplate(t testing.TB) *template {
	t.Helper()
	if parsed == nil && parseErr == nil {
		var b []byte
		if b, parseErr = os.ReadFile(filepath.Join(repoRoot, "template.yaml")); parseErr == nil {
			parsed, parseErr = parseTemplate(b)
		}
	}
	if parseErr != nil {
		t.Fatal(parseErr)
	}
	return parsed
}

// parseTemplate reads a SAM template. CloudFormation's short tags (!Ref,
// !GetAtt, !Sub, !If, …) stay on the nodes and are read by intrinsic.
func parseTemplate(b []byte) (*template, error) {
	const path = "template.yaml"
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: not a YAML mapping", path)
	}
	tp := &template{
		root:      doc.Content[0],
		res:       map[string]*yaml.Node{},
		functions: map[string]string{},
		stepOf:    map[string]string{},
		queues:    map[string]string{},
	}
	if got := scalar(Get(tp.root, "Transform")); got != "AWS::Serverless-2016-10-31" {
		return nil, fmt.Errorf("%s: Transform %q, want AWS::Serverless-2016-10-31", path, got)
	}
	tp.globals = Get(tp.root, "Globals", "Function")
	tp.res = Entries(Get(tp.root, "Resources"))
	for id, r := range tp.res {
		p := Get(r, "Properties")
		switch scalar(Get(r, "Type")) {
		case "AWS::Serverless::Function":
			uri := scalar(Get(p, "CodeUri"))
			if step, ok := strings.CutPrefix(strings.TrimSuffix(uri, ".zip"), "dist/"); ok && strings.HasSuffix(uri, ".zip") && !strings.Contains(step, "/") {
				if other, dup := tp.functions[step]; dup {
					return nil, fmt.Errorf("%s: %s and %s both deploy dist/%s.zip", path, other, id, step)
				}
				tp.functions[step], tp.stepOf[id] = id, step
			}
		case "AWS::SQS::Queue":
			if name, ok := strings.CutPrefix(sub(Get(p, "QueueName")), queueNameSub); ok {
				tp.queues[name] = id
			}
		}
	}
	return tp, nil
}

func (tp *template) idsOfType(typ string) []string {
	var ids []string
	for id, r := range tp.res {
		if scalar(Get(r, "Type")) == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (tp *template) functionIDs() map[string]bool {
	ids := map[string]bool{}
	for _, id := range tp.idsOfType("AWS::Serverless::Function") {
		ids[id] = true
	}
	return ids
}

// queue returns the logical id of the queue named "${AWS::StackName}-<name>",
// reporting an error when there is none.
func (tp *template) queue(t testing.TB, name string) string {
	t.Helper()
	id, ok := tp.queues[name]
	if !ok {
		t.Errorf("no AWS::SQS::Queue with QueueName !Sub %q", queueNameSub+name)
	}
	return id
}

// table returns the logical id of the one DynamoDB table.
func (tp *template) table(t testing.TB) string {
	t.Helper()
	ids := tp.idsOfType("AWS::DynamoDB::Table")
	if len(ids) != 1 {
		t.Fatalf("%d AWS::DynamoDB::Table resources, want one (ledger, claims and holds share it)", len(ids))
	}
	return ids[0]
}

// maxReceiveParam returns the parameter the functions' RAPROV_MAX_RECEIVE
// names; every function must name the same one.
func (tp *template) maxReceiveParam(t testing.TB) string {
	t.Helper()
	name := ref(Get(tp.globals, "Environment", "Variables", "RAPROV_MAX_RECEIVE"))
	if name == "" || Get(tp.root, "Parameters", name) == nil {
		t.Fatalf("Globals.Function.Environment.Variables.RAPROV_MAX_RECEIVE is not !Ref of a parameter")
	}
	return name
}

// checkMaxReceiveCount checks that n is !FindInMap [M, !Ref param, K] and
// that M gives value+1 for every value param allows.
func (tp *template) checkMaxReceiveCount(t testing.TB, what string, n *yaml.Node, param string) {
	t.Helper()
	fn, arg := intrinsic(n)
	args := seq(arg)
	if fn != "Fn::FindInMap" || len(args) != 3 || ref(args[1]) != param {
		t.Errorf("%s: maxReceiveCount is not !FindInMap [map, !Ref %s, key] (MaxReceive + 1)", what, param)
		return
	}
	allowed := scalars(Get(tp.root, "Parameters", param, "AllowedValues"))
	if len(allowed) == 0 {
		t.Errorf("parameter %s has no AllowedValues, so the map cannot cover every value", param)
	}
	if d := scalar(Get(tp.root, "Parameters", param, "Default")); !slices.Contains(allowed, d) {
		t.Errorf("parameter %s: Default %q is not among AllowedValues %v", param, d, allowed)
	}
	m, key := scalar(args[0]), scalar(args[2])
	for _, v := range allowed {
		got := scalar(Get(tp.root, "Mappings", m, v, key))
		if want := strconv.Itoa(atoi(v) + 1); got != want {
			t.Errorf("%s: Mappings.%s.%s.%s = %q, want %s (MaxReceive %s + 1)", what, m, v, key, got, want, v)
		}
	}
}

// paramRef checks that n is !Ref of a parameter and returns the parameter.
func (tp *template) paramRef(t testing.TB, f fn, what string, n *yaml.Node) *yaml.Node {
	t.Helper()
	p := Get(tp.root, "Parameters", ref(n))
	if p == nil {
		t.Errorf("%s: %s is not !Ref of a parameter", f, what)
	}
	return p
}

// fn is one function of the template.
type fn struct {
	step, id string
	props    *yaml.Node
	globals  *yaml.Node
}

func (f fn) String() string { return f.step + " (" + f.id + ")" }

func (tp *template) function(t testing.TB, step string) fn {
	t.Helper()
	id, ok := tp.functions[step]
	if !ok {
		t.Fatalf("no AWS::Serverless::Function with CodeUri dist/%s.zip", step)
	}
	return fn{step: step, id: id, props: Get(tp.res[id], "Properties"), globals: tp.globals}
}

// prop returns a property of the function, or the Globals' when it has none.
func (f fn) prop(key string) *yaml.Node {
	if n := Get(f.props, key); n != nil {
		return n
	}
	return Get(f.globals, key)
}

// timeout returns the function's effective Timeout in seconds.
func (f fn) timeout(t testing.TB) int {
	t.Helper()
	s := scalar(f.prop("Timeout"))
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%s: Timeout %q: want a number of seconds in the function or Globals", f, s)
	}
	return n
}

// env returns the function's environment: Globals' variables, overridden by
// its own (SAM merges the two maps).
func (f fn) env() map[string]*yaml.Node {
	env := Entries(Get(f.globals, "Environment", "Variables"))
	maps.Copy(env, Entries(Get(f.props, "Environment", "Variables")))
	return env
}

// grant is what a function's policies allow.
type grant struct {
	sends   map[string]bool // queue names (without the stack prefix) it may send to
	secrets map[string]bool // parameters naming the secrets it may read
	table   map[string]bool // actions on the table (statements only)
	s3      map[string]bool // "action on resource" of the bulk bucket (statements only)
}

// grants interprets the function's Policies. Anything it cannot vouch for — a
// managed policy, an unknown policy template, an action outside SQS sends,
// the table and secrets, a wildcard resource — is an error.
func (tp *template) grants(t testing.TB, f fn) grant {
	t.Helper()
	g := grant{sends: map[string]bool{}, secrets: map[string]bool{}, table: map[string]bool{}, s3: map[string]bool{}}
	table := tp.table(t)
	queueName := func(res string) string {
		for name, id := range tp.queues {
			if id == res {
				return name
			}
		}
		t.Errorf("%s: a policy names %q, which is not one of the stack's queues", f, res)
		return ""
	}
	var policies []*yaml.Node
	for _, p := range seq(Get(f.props, "Policies")) {
		policies = append(policies, branches(p)...)
	}
	for _, p := range policies {
		if p.Kind != yaml.MappingNode {
			t.Errorf("%s: managed policy %q; use statements or policy templates the test can check", f, scalar(p))
			continue
		}
		if st := Get(p, "Statement"); st != nil {
			for _, s := range seq(st) {
				tp.statement(t, f, s, table, queueName, g)
			}
			continue
		}
		for name, arg := range Entries(p) {
			switch name {
			case "SQSSendMessagePolicy":
				res, attr := getAtt(Get(arg, "QueueName"))
				if attr != "QueueName" {
					t.Errorf("%s: SQSSendMessagePolicy QueueName is not !GetAtt <queue>.QueueName", f)
					continue
				}
				if q := queueName(res); q != "" {
					g.sends[q] = true
				}
			case "DynamoDBCrudPolicy":
				if ref(Get(arg, "TableName")) != table {
					t.Errorf("%s: DynamoDBCrudPolicy on %q, want !Ref %s", f, ref(Get(arg, "TableName")), table)
				}
			default:
				t.Errorf("%s: policy %s is not one this test knows", f, name)
			}
		}
	}
	return g
}

func (tp *template) statement(t testing.TB, f fn, s *yaml.Node, table string, queueName func(string) string, g grant) {
	t.Helper()
	if e := scalar(Get(s, "Effect")); e != "Allow" {
		return // Deny only narrows
	}
	resources := branches(Get(s, "Resource"))
	for _, r := range resources {
		if scalar(r) == "*" {
			t.Errorf("%s: statement %q on Resource \"*\"", f, scalar(Get(s, "Sid")))
		}
	}
	for _, a := range scalars(Get(s, "Action")) {
		switch {
		case a == "sqs:SendMessage":
			for _, r := range resources {
				if res, attr := getAtt(r); attr == "Arn" {
					if q := queueName(res); q != "" {
						g.sends[q] = true
					}
				} else {
					t.Errorf("%s: sqs:SendMessage on something other than !GetAtt <queue>.Arn", f)
				}
			}
		case a == "sqs:ChangeMessageVisibility":
			// The SQS host may hide a record it leaves for redelivery for a
			// backoff instead of the whole visibility timeout: its own queue only.
			for _, r := range resources {
				if res, attr := getAtt(r); res != tp.queues[f.step] || attr != "Arn" {
					t.Errorf("%s: %s on something other than its own queue (!GetAtt %s.Arn)", f, a, tp.queues[f.step])
				}
			}
		case strings.HasPrefix(a, "dynamodb:"):
			switch {
			case slices.Contains(dynamoDBActions, a):
			case doorSteps[f.step] && slices.Contains(doorDynamoDBActions, a):
			default:
				allowed := dynamoDBActions
				if doorSteps[f.step] {
					allowed = slices.Concat(dynamoDBActions, doorDynamoDBActions)
				}
				t.Errorf("%s: %s on the table; allowed: %v", f, a, allowed)
			}
			g.table[a] = true
			for _, r := range resources {
				if res, attr := getAtt(r); res != table || attr != "Arn" {
					t.Errorf("%s: %s on something other than !GetAtt %s.Arn", f, a, table)
				}
			}
		case a == "secretsmanager:GetSecretValue":
			for _, r := range resources {
				p := ref(r)
				if Get(tp.root, "Parameters", p) == nil {
					t.Errorf("%s: %s on something other than !Ref of a secret ARN parameter", f, a)
					continue
				}
				g.secrets[p] = true
			}
		case a == "lambda:InvokeFunction":
			// intake invokes check-license to plan its door's dry runs.
			if !doorSteps[f.step] {
				t.Errorf("%s: %s; only the HTTP door's functions invoke the planner", f, a)
			}
			for _, r := range resources {
				if res, attr := getAtt(r); res != tp.functions[events.StepCheckLicense] || attr != "Arn" {
					t.Errorf("%s: %s on something other than check-license (!GetAtt %s.Arn)", f, a, tp.functions[events.StepCheckLicense])
				}
			}
		case strings.HasPrefix(a, "s3:") && isMappingsS3(s):
			if !doorSteps[f.step] {
				t.Errorf("%s: %s on the sender mappings; only the HTTP door's functions read them", f, a)
			}
			for _, e := range mappingsS3(a, s) {
				t.Errorf("%s: %s", f, e)
			}
			for _, r := range resources {
				g.s3[s3Grant(a, r)] = true
			}
		case strings.HasPrefix(a, "s3:"):
			if !bulkSteps[f.step] {
				t.Errorf("%s: %s; only the bulk door's functions %v may use S3", f, a, slices.Sorted(maps.Keys(bulkSteps)))
				continue
			}
			for _, e := range tp.bulkS3(a, s) {
				t.Errorf("%s: %s", f, e)
			}
			for _, r := range resources {
				g.s3[s3Grant(a, r)] = true
			}
		default:
			t.Errorf("%s: action %s; the test allows only sqs:SendMessage, sqs:ChangeMessageVisibility on its own queue, table items, secretsmanager:GetSecretValue and the bulk door's S3 actions", f, a)
		}
	}
}

// expectedSteps returns the steps the template must deploy: the directories
// of functions/ that hold a main.go, or events.AllSteps until there are any.
func (tp *template) expectedSteps(t testing.TB) []string {
	t.Helper()
	dirs := tp.functionDirs
	if dirs == nil {
		dirs = functionDirs(t, filepath.Join(repoRoot, "functions"))
	}
	if len(dirs) > 0 {
		return dirs
	}
	return slices.Sorted(slices.Values(events.AllSteps))
}

// functionDirs returns the names of the directories under root that hold a
// main.go, sorted.
func functionDirs(t testing.TB, root string) []string {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join(root, "*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, m := range mains {
		dirs = append(dirs, filepath.Base(filepath.Dir(m)))
	}
	slices.Sort(dirs)
	return dirs
}

// ------------------------------------------------------------ YAML helpers

func mapValues(n *yaml.Node) []*yaml.Node {
	var vs []*yaml.Node
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 1; i < len(n.Content); i += 2 {
			vs = append(vs, n.Content[i])
		}
	}
	return vs
}

// seq returns a sequence's items; a single node counts as a sequence of one.
func seq(n *yaml.Node) []*yaml.Node {
	switch {
	case n == nil:
		return nil
	case n.Kind == yaml.SequenceNode:
		return n.Content
	default:
		return []*yaml.Node{n}
	}
}

// scalar returns the value of a plain scalar; "" for anything else,
// including tagged nodes such as !Ref X.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || isShortTag(n.Tag) {
		return ""
	}
	return n.Value
}

// scalars returns the values of a sequence of scalars, or of one scalar.
func scalars(n *yaml.Node) []string {
	var out []string
	for _, item := range seq(n) {
		out = append(out, scalar(item))
	}
	return out
}

func isShortTag(tag string) bool { return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") }

// intrinsic returns the CloudFormation function n applies, in its long name
// ("Ref", "Condition", "Fn::GetAtt", "Fn::Sub", …), and its argument. Both
// the short tags (!Ref X, !GetAtt X.Arn) and the long form ({Ref: X}) are
// recognised; other nodes give "".
func intrinsic(n *yaml.Node) (string, *yaml.Node) {
	if n == nil {
		return "", nil
	}
	if isShortTag(n.Tag) {
		name := strings.TrimPrefix(n.Tag, "!")
		if name != "Ref" && name != "Condition" {
			name = "Fn::" + name
		}
		arg := *n
		arg.Tag, arg.Style = "", 0
		return name, &arg
	}
	if n.Kind == yaml.MappingNode && len(n.Content) == 2 {
		if k := n.Content[0].Value; k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, n.Content[1]
		}
	}
	return "", nil
}

// ref returns the name n refers to with Ref, or "".
func ref(n *yaml.Node) string {
	if name, arg := intrinsic(n); name == "Ref" {
		return scalar(arg)
	}
	return ""
}

// getAtt returns the resource and attribute of a Fn::GetAtt, in either the
// "X.Arn" or the [X, Arn] form.
func getAtt(n *yaml.Node) (resource, attribute string) {
	name, arg := intrinsic(n)
	if name != "Fn::GetAtt" {
		return "", ""
	}
	if arg.Kind == yaml.SequenceNode && len(arg.Content) == 2 {
		return scalar(arg.Content[0]), scalar(arg.Content[1])
	}
	res, attr, _ := strings.Cut(scalar(arg), ".")
	return res, attr
}

// sub returns the string of a Fn::Sub (the first item of its list form), or
// a plain scalar's value.
func sub(n *yaml.Node) string {
	name, arg := intrinsic(n)
	switch {
	case name == "Fn::Sub" && arg.Kind == yaml.SequenceNode && len(arg.Content) > 0:
		return scalar(arg.Content[0])
	case name == "Fn::Sub":
		return scalar(arg)
	default:
		return scalar(n)
	}
}

// branches returns what n may evaluate to: both branches of a Fn::If
// (recursively), without AWS::NoValue; the items of a sequence; or n itself.
func branches(n *yaml.Node) []*yaml.Node {
	if n == nil || ref(n) == "AWS::NoValue" {
		return nil
	}
	if name, arg := intrinsic(n); name == "Fn::If" {
		items := seq(arg)
		if len(items) != 3 {
			return []*yaml.Node{n}
		}
		return append(branches(items[1]), branches(items[2])...)
	}
	if n.Kind == yaml.SequenceNode {
		var out []*yaml.Node
		for _, item := range n.Content {
			out = append(out, branches(item)...)
		}
		return out
	}
	return []*yaml.Node{n}
}

func encrypted(props *yaml.Node) bool {
	return scalar(Get(props, "SqsManagedSseEnabled")) == "true" || Get(props, "KmsMasterKeyId") != nil
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return -1
	}
	return n
}

// minus returns the items of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// Intake's door has check-license plan its dry runs: the variable names
// check-license's function, and intake's own policy lets it invoke that
// function and no other (the statement check in grants).
func TestDryRunPlannerIsCheckLicense(t *testing.T) {
	tp := loadTemplate(t)
	door := tp.function(t, events.StepIntake)
	res, attr := getAtt(door.env()["RAPROV_DRY_RUN_FUNCTION"])
	if want := tp.functions[events.StepCheckLicense]; res != want || attr != "Arn" {
		t.Errorf("%s: RAPROV_DRY_RUN_FUNCTION is %s.%s, want !GetAtt %s.Arn", door, res, attr, want)
	}
	invokes := false
	for _, p := range seq(Get(door.props, "Policies")) {
		for _, st := range seq(Get(p, "Statement")) {
			if slices.Contains(scalars(Get(st, "Action")), "lambda:InvokeFunction") {
				invokes = true
			}
		}
	}
	if !invokes {
		t.Errorf("%s: no statement allows lambda:InvokeFunction on the planner", door)
	}
	for _, step := range tp.expectedSteps(t) {
		if _, ok := tp.function(t, step).env()["RAPROV_DRY_RUN_FUNCTION"]; ok && step != events.StepIntake {
			t.Errorf("%s gets RAPROV_DRY_RUN_FUNCTION; only the HTTP door's function invokes the planner", step)
		}
	}
}
