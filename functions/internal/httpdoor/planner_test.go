package httpdoor_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/functions/internal/httpdoor"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/transport/sqs"
)

type fakeInvoke struct {
	in  *lambda.InvokeInput
	out *lambda.InvokeOutput
	err error
}

func (f *fakeInvoke) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.in = in
	return f.out, f.err
}

func TestRemotePlanner(t *testing.T) {
	reqs := []events.Request{{RequestID: "HR-1", UserPrincipalName: "ra-1@contoso.com"}, {RequestID: "HR-2", UserPrincipalName: "ra-2@contoso.com"}}
	answer, _ := json.Marshal(httpapi.DryRun{DryRun: true, Plans: []httpapi.Plan{
		{RequestID: "HR-1", Outcome: "completed", Verdict: httpapi.VerdictCreate},
		{RequestID: "HR-2", Outcome: "upn_conflict", Verdict: httpapi.VerdictFail, Reason: "upn_conflict"},
	}})
	f := &fakeInvoke{out: &lambda.InvokeOutput{StatusCode: 200, Payload: answer}}
	got, err := httpdoor.RemotePlanner(f, "arn:aws:lambda:eu-west-1:1:function:s-check-license").Plan(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Plans) != 2 || got.Plans[1].Reason != "upn_conflict" {
		t.Errorf("plans %+v", got.Plans)
	}
	if aws.ToString(f.in.FunctionName) != "arn:aws:lambda:eu-west-1:1:function:s-check-license" || f.in.InvocationType != types.InvocationTypeRequestResponse {
		t.Errorf("invoked %s %s", aws.ToString(f.in.FunctionName), f.in.InvocationType)
	}
	var sent sqs.DryRunInvocation
	if err := json.Unmarshal(f.in.Payload, &sent); err != nil || sent.Raprov != sqs.DryRunKind || len(sent.Requests) != 2 || sent.Requests[1].RequestID != "HR-2" {
		t.Errorf("payload %s (%v)", f.in.Payload, err)
	}

	for name, f := range map[string]*fakeInvoke{
		"invoke fails":   {err: errors.New("AccessDeniedException")},
		"function error": {out: &lambda.InvokeOutput{FunctionError: aws.String("Unhandled"), Payload: []byte(`{"errorType":"x","errorMessage":"user ra-1@contoso.com"}`)}},
		"not a plan":     {out: &lambda.InvokeOutput{Payload: []byte(`{"plans":[],"other":1}`)}},
		"plans missing":  {out: &lambda.InvokeOutput{Payload: []byte(`{"dryRun":true,"plans":[{"requestId":"HR-1"}]}`)}},
	} {
		_, err := httpdoor.RemotePlanner(f, "fn").Plan(context.Background(), reqs)
		if err == nil {
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "ra-1@contoso.com") {
			t.Errorf("%s: the error quotes the function's message: %v", name, err)
		}
	}
}
