package httpdoor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// PlannerFunctionVar names the variable holding the name or ARN of the
// function that plans dry runs (check-license, which reads the tenant).
// Unset: the door answers a dry run 501 dry_run_unavailable.
const PlannerFunctionVar = "RAPROV_DRY_RUN_FUNCTION"

// InvokeAPI is what RemotePlanner needs of a Lambda client.
type InvokeAPI interface {
	Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// RemotePlanner plans the requests of a dry run by invoking function
// (RequestResponse) with an sqs.DryRunInvocation of the validated,
// normalised requests and reading its answer, an httpapi.DryRun. A failed
// invocation, a function error or an answer that does not decode is an
// error (the door answers 503); the function's error message is not
// quoted, only its type, since it may name the tenant's objects.
func RemotePlanner(api InvokeAPI, function string) httpapi.Planner {
	return remotePlanner{api: api, function: function}
}

type remotePlanner struct {
	api      InvokeAPI
	function string
}

func (p remotePlanner) Plan(ctx context.Context, reqs []events.Request) (httpapi.DryRun, error) {
	payload, err := json.Marshal(sqs.DryRunInvocation{Raprov: sqs.DryRunKind, Requests: reqs})
	if err != nil {
		return httpapi.DryRun{}, err
	}
	out, err := p.api.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(p.function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		return httpapi.DryRun{}, fmt.Errorf("dry run: invoke the planning function: %w", err)
	}
	if out.FunctionError != nil {
		var fe struct {
			Type string `json:"errorType"`
		}
		_ = json.Unmarshal(out.Payload, &fe)
		return httpapi.DryRun{}, fmt.Errorf("dry run: the planning function failed (%s, %s): see its logs", aws.ToString(out.FunctionError), fe.Type)
	}
	var plan httpapi.DryRun
	dec := json.NewDecoder(bytes.NewReader(out.Payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&plan); err != nil {
		return httpapi.DryRun{}, fmt.Errorf("dry run: the planning function's answer does not decode: %w", err)
	}
	if len(plan.Plans) != len(reqs) {
		return httpapi.DryRun{}, errors.New("dry run: the planning function answered a plan per request for another number of requests")
	}
	return plan, nil
}
