package sqs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger/memledger"
	"github.com/raprov/raprov/shared/runner"
	"github.com/raprov/raprov/shared/steps"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/sqs"
)

const testMaxReceive = 3

// fixture is a check-license handler over fresh queues.
type fixture struct {
	c      *awssqs.Client
	qs     sqs.Queues
	ledger *memledger.Ledger
	sender *sqs.Sender
	logs   *logBuffer
	runs   atomic.Int32
	h      sqs.Handler
}

// available is check-license as a fake: license.available for every input.
func available(_ context.Context, in events.Event) ([]events.Event, error) {
	return []events.Event{in.Next(events.TypeLicenseAvailable, events.Source(events.StepCheckLicense))}, nil
}

func newFixture(t *testing.T, step steps.Step, qcfg queueConfig, hopts sqs.HandlerOptions) *fixture {
	t.Helper()
	f := &fixture{c: mustClient(t), ledger: memledger.New(), logs: &logBuffer{}}
	f.qs = mustQueues(t, f.c, qcfg)
	f.sender = sqs.NewSender(f.c, f.qs, sqs.SenderOptions{Ledger: f.ledger, Logger: f.logs.logger()})
	counted := func(ctx context.Context, in events.Event) ([]events.Event, error) {
		f.runs.Add(1)
		return step(ctx, in)
	}
	r := runner.New(events.StepCheckLicense, counted, runner.Options{MaxReceive: testMaxReceive, Logger: f.logs.logger()})
	hopts.Logger = f.logs.logger()
	f.h = sqs.NewHandler(r, f.sender, hopts)
	return f
}

func (f *fixture) handle(t *testing.T, recs ...lambdaevents.SQSMessage) []string {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-req-1"})
	resp, err := f.h(ctx, lambdaevents.SQSEvent{Records: recs})
	if err != nil {
		t.Fatalf("handler returned an error: %v", err)
	}
	var failed []string
	for _, b := range resp.BatchItemFailures {
		failed = append(failed, b.ItemIdentifier)
	}
	return failed
}

// deadLetters receives the dead letters of check-license's queue.
func (f *fixture) deadLetters(t *testing.T, want int) []types.Message {
	t.Helper()
	return drain(t, f.c, f.qs.DLQ(events.StepCheckLicense), want, 5*time.Second)
}

func attr(m types.Message, name string) string {
	return aws.ToString(m.MessageAttributes[name].StringValue)
}

func TestHandlerRoutesOutputsAndRecordsTheLedger(t *testing.T) {
	t.Parallel()
	f := newFixture(t, available, queueConfig{}, sqs.HandlerOptions{})
	var recs []lambdaevents.SQSMessage
	for i := range 3 {
		ev := accepted(fmt.Sprintf("R%d", i))
		ev.Data.Request.DisplayName = "Secret Person"
		recs = append(recs, rec(fmt.Sprintf("m%d", i), mustEncode(t, ev), 1))
	}
	if failed := f.handle(t, recs...); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	got := drain(t, f.c, f.qs.URL(events.StepCreateAccount), 3, 5*time.Second)
	if len(got) != 3 {
		t.Fatalf("create-account got %d messages, want 3", len(got))
	}
	for _, m := range got {
		ev, err := events.Decode([]byte(aws.ToString(m.Body)))
		if err != nil || ev.Type != events.TypeLicenseAvailable {
			t.Fatalf("routed %v, %v", ev.Type, err)
		}
	}
	for i := range 3 {
		st, err := f.ledger.Get(context.Background(), fmt.Sprintf("R%d", i))
		if err != nil || st.Step != events.StepCheckLicense || st.Type != events.TypeLicenseAvailable {
			t.Fatalf("ledger R%d: %+v, %v", i, st, err)
		}
	}
	if n := count(t, f.c, f.qs.DLQ(events.StepCheckLicense)); n != 0 {
		t.Fatalf("%d dead letters", n)
	}
	logs := f.logs.String()
	if strings.Contains(logs, "Secret Person") {
		t.Errorf("logs carry a body: %s", logs)
	}
	// Every handler line names the queue, the message and the invocation.
	done := 0
	for _, l := range f.logs.lines(t) {
		if l["msg"] != "record done" {
			continue
		}
		done++
		if l["queue"] != events.StepCheckLicense || l["message_id"] == nil || l["aws_request_id"] != "lambda-req-1" || l["request_id"] == nil {
			t.Errorf("log line without its context: %v", l)
		}
	}
	if done != 3 {
		t.Errorf("%d \"record done\" lines, want 3:\n%s", done, logs)
	}
}

func TestHandlerDeadLettersPoisonAndTheRestSucceed(t *testing.T) {
	t.Parallel()
	f := newFixture(t, available, queueConfig{}, sqs.HandlerOptions{})
	unknown := []byte(`{"specversion":"1.0","id":"x","source":"raprov/intake","type":"raprov.nonsense.v9","subject":"R9","data":{}}`)
	failed := f.handle(t,
		rec("bad-json", []byte("{not json"), 1),
		rec("good", mustEncode(t, accepted("R1")), 1),
		rec("bad-type", unknown, 1),
	)
	if len(failed) != 0 {
		t.Fatalf("failures %v: poison is acknowledged once dead-lettered", failed)
	}
	dls := f.deadLetters(t, 2)
	reasons := map[string]types.Message{}
	for _, m := range dls {
		reasons[attr(m, sqs.AttrReason)] = m
	}
	m, ok := reasons[events.PoisonMalformedJSON]
	if !ok || aws.ToString(m.Body) != "{not json" {
		t.Fatalf("dead letters %v, want the malformed body with reason %s", reasons, events.PoisonMalformedJSON)
	}
	if _, ok := reasons[events.PoisonUnknownType]; !ok {
		t.Fatalf("no %s dead letter", events.PoisonUnknownType)
	}
	if attr(m, sqs.AttrSourceQueue) != events.StepCheckLicense || attr(m, sqs.AttrReceived) != "1" || attr(m, sqs.AttrDetail) == "" {
		t.Errorf("dead letter attributes %v", m.MessageAttributes)
	}
	if at, err := time.Parse(time.RFC3339Nano, attr(m, sqs.AttrDeadLetteredAt)); err != nil || time.Since(at) > time.Minute {
		t.Errorf("dead-lettered-at %q", attr(m, sqs.AttrDeadLetteredAt))
	}
	if n := len(drain(t, f.c, f.qs.URL(events.StepCreateAccount), 1, 5*time.Second)); n != 1 {
		t.Fatalf("the good record sent %d messages, want 1", n)
	}
}

func TestHandlerDeadLettersMisroutedEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t, available, queueConfig{}, sqs.HandlerOptions{})
	created := events.New(events.TypeAccountCreated, events.Source(events.StepCreateAccount), events.Data{Request: events.Request{RequestID: "R2"}})
	if failed := f.handle(t, rec("m", mustEncode(t, created), 1)); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	dl := f.deadLetters(t, 1)
	if len(dl) != 1 || attr(dl[0], sqs.AttrReason) != transport.ReasonMisrouted || attr(dl[0], sqs.AttrRequestID) != "R2" {
		t.Fatalf("dead letters %+v", dl)
	}
	if n := f.runs.Load(); n != 0 {
		t.Fatalf("step ran %d times on a misrouted event", n)
	}
}

func TestHandlerReportsAFailingStepBelowMaxReceive(t *testing.T) {
	t.Parallel()
	broken := func(context.Context, events.Event) ([]events.Event, error) {
		return nil, errors.New("unexpected response shape")
	}
	f := newFixture(t, broken, queueConfig{}, sqs.HandlerOptions{})
	failed := f.handle(t, rec("m1", mustEncode(t, accepted("R1")), testMaxReceive-1))
	if !slices.Equal(failed, []string{"m1"}) {
		t.Fatalf("failures %v, want [m1]", failed)
	}
	for _, q := range []string{f.qs.URL(events.StepComplete), f.qs.DLQ(events.StepCheckLicense)} {
		if n := count(t, f.c, q); n != 0 {
			t.Fatalf("%s has %d messages: a retry sends nothing", q, n)
		}
	}
	if _, err := f.ledger.Get(context.Background(), "R1"); err == nil {
		t.Fatal("a retry recorded a ledger line")
	}
}

func TestHandlerBacksOffARetry(t *testing.T) {
	t.Parallel()
	broken := func(context.Context, events.Event) ([]events.Event, error) { return nil, errors.New("boom") }
	var asked []int
	f := newFixture(t, broken, queueConfig{Visibility: time.Minute}, sqs.HandlerOptions{})
	// Rebuild the handler with a back-off over the fixture's client.
	r := runner.New(events.StepCheckLicense, broken, runner.Options{MaxReceive: testMaxReceive})
	f.h = sqs.NewHandler(r, f.sender, sqs.HandlerOptions{Visibility: f.c, Backoff: func(received int) time.Duration {
		asked = append(asked, received)
		return 0 // visible again at once, instead of after the queue's minute
	}})
	url := f.qs.URL(events.StepCheckLicense)
	send(t, f.c, url, mustEncode(t, accepted("R1")))
	first := drain(t, f.c, url, 1, 5*time.Second)
	if failed := f.handle(t, record(first[0])); len(failed) != 1 {
		t.Fatalf("failures %v", failed)
	}
	again := drain(t, f.c, url, 1, 5*time.Second)
	if len(again) != 1 || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("after the back-off: %+v", again)
	}
	if !slices.Equal(asked, []int{1}) {
		t.Fatalf("Backoff asked for %v, want [1]", asked)
	}
}

func TestHandlerFailsTheRequestAtMaxReceive(t *testing.T) {
	t.Parallel()
	broken := func(context.Context, events.Event) ([]events.Event, error) {
		return nil, errors.New("unexpected response shape")
	}
	f := newFixture(t, broken, queueConfig{}, sqs.HandlerOptions{})
	if failed := f.handle(t, rec("m1", mustEncode(t, accepted("R1")), testMaxReceive)); len(failed) != 0 {
		t.Fatalf("failures %v: the last delivery is dead-lettered and acknowledged", failed)
	}
	out := drain(t, f.c, f.qs.URL(events.StepComplete), 1, 5*time.Second)
	if len(out) != 1 {
		t.Fatal("no failure sent to complete")
	}
	ev, err := events.Decode([]byte(aws.ToString(out[0].Body)))
	if err != nil || ev.Type != events.TypeProvisioningFailed || ev.Data.Failure.Reason != events.ReasonRetriesExhausted {
		t.Fatalf("complete got %+v, %v", ev, err)
	}
	dl := f.deadLetters(t, 1)
	if len(dl) != 1 || attr(dl[0], sqs.AttrReason) != transport.ReasonMaxReceive || attr(dl[0], sqs.AttrReceived) != fmt.Sprint(testMaxReceive) ||
		!strings.Contains(attr(dl[0], sqs.AttrDetail), "unexpected response shape") {
		t.Fatalf("dead letters %+v", dl)
	}
	st, err := f.ledger.Get(context.Background(), "R1")
	if err != nil || st.Reason != string(events.ReasonRetriesExhausted) {
		t.Fatalf("ledger %+v, %v", st, err)
	}
}

func TestHandlerEndsARequestNeverAcknowledged(t *testing.T) {
	t.Parallel()
	f := newFixture(t, available, queueConfig{}, sqs.HandlerOptions{})
	if failed := f.handle(t, rec("m1", mustEncode(t, accepted("R1")), testMaxReceive+1)); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	if n := f.runs.Load(); n != 0 {
		t.Fatalf("the step ran %d times on a delivery past MaxReceive", n)
	}
	out := drain(t, f.c, f.qs.URL(events.StepComplete), 1, 5*time.Second)
	if len(out) != 1 {
		t.Fatal("no failure sent to complete")
	}
	if ev, err := events.Decode([]byte(aws.ToString(out[0].Body))); err != nil || ev.Data.Failure == nil || ev.Data.Failure.Reason != events.ReasonRetriesExhausted {
		t.Fatalf("complete got %+v, %v", ev, err)
	}
	dl := f.deadLetters(t, 1)
	if len(dl) != 1 || attr(dl[0], sqs.AttrReason) != transport.ReasonMaxReceive || attr(dl[0], sqs.AttrReceived) != fmt.Sprint(testMaxReceive+1) {
		t.Fatalf("dead letters %+v", dl)
	}
	if st, err := f.ledger.Get(context.Background(), "R1"); err != nil || st.Type != events.TypeProvisioningFailed {
		t.Fatalf("ledger %+v, %v", st, err)
	}
}

func TestHandlerSurvivesAPanickingStep(t *testing.T) {
	t.Parallel()
	panicky := func(ctx context.Context, in events.Event) ([]events.Event, error) {
		if in.Subject == "BOOM" {
			panic("nil map")
		}
		return available(ctx, in)
	}
	for _, tc := range []struct {
		name        string
		step        steps.Step
		concurrency int
	}{
		{"Recover", steps.Wrap(panicky, steps.Recover()), 1},
		{"Bare", panicky, 1},
		{"BareConcurrent", panicky, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.step, queueConfig{}, sqs.HandlerOptions{Concurrency: tc.concurrency})
			failed := f.handle(t,
				rec("ok1", mustEncode(t, accepted("R1")), 1),
				rec("boom", mustEncode(t, accepted("BOOM")), 1),
				rec("ok2", mustEncode(t, accepted("R2")), 1),
			)
			if !slices.Equal(failed, []string{"boom"}) {
				t.Fatalf("failures %v, want [boom]", failed)
			}
			if n := len(drain(t, f.c, f.qs.URL(events.StepCreateAccount), 2, 5*time.Second)); n != 2 {
				t.Fatalf("%d records routed, want the 2 that did not panic", n)
			}
		})
	}
}

func TestHandlerReportsFailuresInRecordOrder(t *testing.T) {
	t.Parallel()
	failing := func(ctx context.Context, in events.Event) ([]events.Event, error) {
		if strings.HasPrefix(in.Subject, "F") {
			time.Sleep(20 * time.Millisecond)
			return nil, errors.New("transient")
		}
		return available(ctx, in)
	}
	f := newFixture(t, failing, queueConfig{}, sqs.HandlerOptions{Concurrency: 3})
	var recs []lambdaevents.SQSMessage
	for i, id := range []string{"F0", "R1", "F2", "R3", "R4", "F5"} {
		recs = append(recs, rec(fmt.Sprintf("m%d", i), mustEncode(t, accepted(id)), 1))
	}
	if diff := cmp.Diff([]string{"m0", "m2", "m5"}, f.handle(t, recs...)); diff != "" {
		t.Fatalf("failures (-want +got):\n%s", diff)
	}
}

func TestHandlerAcknowledgesNothingWhenASendFails(t *testing.T) {
	t.Parallel()
	// create-account's queue does not exist: check-license's output cannot be sent.
	f := newFixture(t, available, queueConfig{Skip: []string{events.StepCreateAccount}}, sqs.HandlerOptions{})
	if failed := f.handle(t, rec("m1", mustEncode(t, accepted("R1")), 1)); !slices.Equal(failed, []string{"m1"}) {
		t.Fatalf("failures %v, want [m1]", failed)
	}
	if _, err := f.ledger.Get(context.Background(), "R1"); err == nil {
		t.Fatal("the ledger recorded a hop that was not sent")
	}

	// The dead-letter queue does not exist: poison cannot be parked.
	g := newFixture(t, available, queueConfig{Skip: []string{events.StepCheckLicense + sqs.DLQSuffix}}, sqs.HandlerOptions{})
	if failed := g.handle(t, rec("p", []byte("{not json"), 1), rec("ok", mustEncode(t, accepted("R1")), 1)); !slices.Equal(failed, []string{"p"}) {
		t.Fatalf("failures %v, want [p]", failed)
	}
}

func TestHandlerChainsLongDelays(t *testing.T) {
	t.Parallel()
	f := newFixture(t, available, queueConfig{}, sqs.HandlerOptions{})
	sqs.SetMaxDelay(f.sender, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	start := time.Now()
	if err := f.sender.Send(ctx, events.StepCheckLicense, transport.Message{Body: mustEncode(t, accepted("R1")), Delay: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	hops := 0
	for f.runs.Load() == 0 {
		n, err := poll(ctx, f.c, f.qs, events.StepCheckLicense, f.h, 1)
		if err != nil {
			t.Fatal(err)
		}
		hops += n
	}
	if el := time.Since(start); el < 3*time.Second {
		t.Fatalf("the step ran after %s, want ≥ 3 s", el)
	}
	// Sent with 1 s, then sent on twice (2 s and 1 s left), then run.
	if hops < 3 {
		t.Fatalf("%d deliveries, want ≥ 3 (the delay chained in 1 s hops)", hops)
	}
	if n := len(drain(t, f.c, f.qs.URL(events.StepCreateAccount), 1, 5*time.Second)); n != 1 {
		t.Fatalf("the step's output: %d messages", n)
	}
}

func TestHandlerSendsAParkedMessageOnUntilDue(t *testing.T) {
	t.Parallel()
	f := newFixture(t, available, queueConfig{}, sqs.HandlerOptions{})
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	sqs.SetNow(f.sender, func() time.Time { return now })
	notBefore := func(d time.Duration) map[string]lambdaevents.SQSMessageAttribute {
		v := now.Add(d).Format(time.RFC3339Nano)
		return map[string]lambdaevents.SQSMessageAttribute{
			sqs.AttrNotBefore: {DataType: "String", StringValue: &v},
			"traceparent":     {DataType: "String", StringValue: aws.String("kept")},
		}
	}
	parked := rec("parked", mustEncode(t, accepted("R1")), 1)
	parked.MessageAttributes = notBefore(3 * time.Hour)
	due := rec("due", mustEncode(t, accepted("R2")), 1)
	due.MessageAttributes = notBefore(-time.Second)

	if failed := f.handle(t, parked, due); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	if n := f.runs.Load(); n != 1 {
		t.Fatalf("step ran %d times, want once (the due message only)", n)
	}
	// The parked one was sent on with the longest delay SQS takes.
	out, err := f.c.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(f.qs.URL(events.StepCheckLicense)),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessagesDelayed, types.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Attributes["ApproximateNumberOfMessagesDelayed"] != "1" || out.Attributes["ApproximateNumberOfMessages"] != "0" {
		t.Fatalf("check-license queue %v, want one delayed message", out.Attributes)
	}
}

func TestSendChainsDelaysOverMaxDelay(t *testing.T) {
	t.Parallel()
	c := mustClient(t)
	qs := mustQueues(t, c, queueConfig{})
	s := sqs.NewSender(c, qs, sqs.SenderOptions{})
	now := time.Now().UTC()
	sqs.SetNow(s, func() time.Time { return now })
	sqs.SetMaxDelay(s, time.Second)
	if err := s.Send(context.Background(), events.StepCheckLicense, transport.Message{Body: []byte("x"), Delay: 2 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	got := drain(t, c, qs.URL(events.StepCheckLicense), 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatal("message not delivered after the first hop")
	}
	nb, err := time.Parse(time.RFC3339Nano, attr(got[0], sqs.AttrNotBefore))
	if err != nil || !nb.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("not-before %q, want %s", attr(got[0], sqs.AttrNotBefore), now.Add(2*time.Hour))
	}
}

// A not-before further ahead than any step parks a message was not written
// by raprov: the message is dead-lettered, not bounced between queue and
// function for ever.
func TestHandlerDeadLettersAFarFutureNotBefore(t *testing.T) {
	t.Parallel()
	f := newFixture(t, available, queueConfig{}, sqs.HandlerOptions{})
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	sqs.SetNow(f.sender, func() time.Time { return now })
	far := now.Add(sqs.MaxChainedDelay + time.Hour).Format(time.RFC3339Nano)
	m := rec("far", mustEncode(t, accepted("R3")), 1)
	m.MessageAttributes = map[string]lambdaevents.SQSMessageAttribute{sqs.AttrNotBefore: {DataType: "String", StringValue: &far}}
	if failed := f.handle(t, m); len(failed) != 0 {
		t.Fatalf("failures %v", failed)
	}
	if n := f.runs.Load(); n != 0 {
		t.Fatalf("step ran %d times on a message parked too far ahead", n)
	}
	got := drain(t, f.c, f.qs.DLQ(events.StepCheckLicense), 1, 10*time.Second)
	if len(got) != 1 || attr(got[0], sqs.AttrReason) != sqs.ReasonInvalidDelay {
		t.Fatalf("dead letters %v, want one with reason %s", got, sqs.ReasonInvalidDelay)
	}
	if n := count(t, f.c, f.qs.URL(events.StepCheckLicense)); n != 0 {
		t.Fatalf("the step queue holds %d messages, want none (nothing sent on)", n)
	}
}
