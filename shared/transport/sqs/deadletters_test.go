package sqs_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/runner"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// deadLetterSet puts three dead letters in three queues' dead-letter
// queues: a misrouted event on check-license and a malformed body on
// assign-number (both by the handler), and a message of create-account
// moved by the queue's redrive policy.
func deadLetterSet(t *testing.T) (*sqs.DeadLetters, sqs.Queues, *awssqs.Client) {
	t.Helper()
	c := mustClient(t)
	qs := mustQueues(t, c, queueConfig{MaxReceiveCount: 1})
	s := sqs.NewSender(c, qs, sqs.SenderOptions{})
	handle := func(step string, body []byte) {
		t.Helper()
		h := sqs.NewHandler(runner.New(step, available, runner.Options{}), s, sqs.HandlerOptions{})
		resp, err := h(context.Background(), lambdaevents.SQSEvent{Records: []lambdaevents.SQSMessage{rec("m", body, 1)}})
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("dead-lettering on %s: %+v, %v", step, resp, err)
		}
	}
	created := events.New(events.TypeAccountCreated, events.Source(events.StepCreateAccount), events.Data{Request: events.Request{RequestID: "R1"}})
	handle(events.StepCheckLicense, mustEncode(t, created))
	time.Sleep(5 * time.Millisecond) // distinct dead-lettered-at times, for the order
	handle(events.StepAssignNumber, []byte("{not json"))

	url := qs.URL(events.StepCreateAccount)
	send(t, c, url, []byte("redriven"))
	// The second receive is past maxReceiveCount 1: the message moves.
	first := receive(t, c, url, 1, time.Minute)
	if len(first) != 1 {
		t.Fatal("nothing to receive on create-account")
	}
	if _, err := c.ChangeMessageVisibility(context.Background(), &awssqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: first[0].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	if again := receive(t, c, url, 1, time.Minute); len(again) != 0 {
		t.Fatalf("received %d messages past maxReceiveCount", len(again))
	}
	dl := sqs.NewDeadLetters(c, qs, sqs.DeadLettersOptions{Wait: -1, Visibility: 10 * time.Second})
	return dl, qs, c
}

func reasonsOf(dls []transport.DeadLetter) map[string]transport.DeadLetter {
	m := map[string]transport.DeadLetter{}
	for _, d := range dls {
		m[d.Reason] = d
	}
	return m
}

func TestDeadLettersListAndCount(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dl, _, _ := deadLetterSet(t)

	if n, err := dl.Count(ctx, ""); err != nil || n != 3 {
		t.Fatalf("Count(all) = %d, %v; want 3", n, err)
	}
	if n, err := dl.Count(ctx, events.StepCheckLicense); err != nil || n != 1 {
		t.Fatalf("Count(check-license) = %d, %v; want 1", n, err)
	}

	list, err := dl.List(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("List = %+v, want 3", list)
	}
	by := reasonsOf(list)
	mis, poison, moved := by[transport.ReasonMisrouted], by[events.PoisonMalformedJSON], by[transport.ReasonMaxReceive]
	if mis.Queue != events.StepCheckLicense || mis.Received != 1 || mis.At.IsZero() || !strings.Contains(mis.Detail, events.StepAssignLicense) {
		t.Errorf("misrouted dead letter %+v", mis)
	}
	if poison.Queue != events.StepAssignNumber || string(poison.Body) != "{not json" || poison.ID == "" {
		t.Errorf("poison dead letter %+v", poison)
	}
	if moved.Queue != events.StepCreateAccount || string(moved.Body) != "redriven" || moved.Received < 2 || moved.At.IsZero() {
		t.Errorf("redriven dead letter %+v", moved)
	}
	if !slices.IsSortedFunc(list, func(a, b transport.DeadLetter) int { return a.At.Compare(b.At) }) {
		t.Errorf("List not oldest first: %+v", list)
	}

	// Listing puts everything back.
	again, err := dl.List(ctx, "", 10)
	if err != nil || len(again) != 3 {
		t.Fatalf("second List = %d, %v; want 3", len(again), err)
	}
	if two, err := dl.List(ctx, "", 2); err != nil || len(two) != 2 {
		t.Fatalf("List limit 2 = %d, %v", len(two), err)
	}
	if one, err := dl.List(ctx, events.StepAssignNumber, 10); err != nil || len(one) != 1 || one[0].Reason != events.PoisonMalformedJSON {
		t.Fatalf("List(assign-number) = %+v, %v", one, err)
	}
	if n, err := dl.Count(ctx, ""); err != nil || n != 3 {
		t.Fatalf("Count after List = %d, %v; want 3", n, err)
	}
}

func TestDeadLettersGetRequeueDelete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dl, qs, c := deadLetterSet(t)
	list, err := dl.List(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	by := reasonsOf(list)

	got, err := dl.Get(ctx, by[events.PoisonMalformedJSON].ID)
	if err != nil || string(got.Body) != "{not json" || got.Queue != events.StepAssignNumber {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	if _, err := dl.Get(ctx, "no-such-id"); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("Get(unknown) error %v, want NotFound", err)
	}

	moved := by[transport.ReasonMaxReceive]
	if err := dl.Requeue(ctx, moved.ID, nil); err != nil {
		t.Fatal(err)
	}
	if back := drain(t, c, qs.URL(events.StepCreateAccount), 1, 5*time.Second); len(back) != 1 || aws.ToString(back[0].Body) != "redriven" {
		t.Fatalf("requeued %+v", back)
	}
	if err := dl.Requeue(ctx, moved.ID, nil); apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("second Requeue error %v, want NotFound", err)
	}

	if err := dl.Delete(ctx, by[events.PoisonMalformedJSON].ID); err != nil {
		t.Fatal(err)
	}
	if err := dl.Delete(ctx, "no-such-id"); err != nil {
		t.Fatalf("Delete(unknown) = %v, want nil", err)
	}
	left, err := dl.List(ctx, "", 10)
	if err != nil || len(left) != 1 || left[0].Reason != transport.ReasonMisrouted {
		t.Fatalf("left %+v, %v; want the misrouted one", left, err)
	}
}

func TestDeadLettersReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dl, qs, c := deadLetterSet(t)
	bump := func(body []byte) []byte {
		ev, err := events.Decode(body)
		if err != nil {
			return body
		}
		ev.ReplayCount++
		b, err := events.Encode(ev)
		if err != nil {
			return body
		}
		return b
	}
	n, err := dl.Replay(ctx, events.StepCheckLicense, 10, bump)
	if err != nil || n != 1 {
		t.Fatalf("Replay = %d, %v; want 1", n, err)
	}
	back := drain(t, c, qs.URL(events.StepCheckLicense), 1, 5*time.Second)
	if len(back) != 1 {
		t.Fatal("nothing replayed to check-license")
	}
	ev, err := events.Decode([]byte(aws.ToString(back[0].Body)))
	if err != nil || ev.ReplayCount != 1 || ev.Subject != "R1" {
		t.Fatalf("replayed %+v, %v; want R1 with replay count 1", ev, err)
	}
	if len(back[0].MessageAttributes) != 0 {
		t.Errorf("replayed message carries dead-letter attributes %v", back[0].MessageAttributes)
	}
	if n, _ := dl.Count(ctx, events.StepCheckLicense); n != 0 {
		t.Fatalf("%d left in check-license's dead-letter queue", n)
	}

	// The rest, one at a time.
	if n, err := dl.Replay(ctx, "", 1, nil); err != nil || n != 1 {
		t.Fatalf("Replay(all, 1) = %d, %v", n, err)
	}
	if n, err := dl.Replay(ctx, "", 10, nil); err != nil || n != 1 {
		t.Fatalf("Replay(all, 10) = %d, %v", n, err)
	}
	if n, err := dl.Count(ctx, ""); err != nil || n != 0 {
		t.Fatalf("Count after replays = %d, %v", n, err)
	}
}

func TestDeadLettersPurge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dl, _, _ := deadLetterSet(t)
	if n, err := dl.Purge(ctx, events.StepCheckLicense); err != nil || n != 1 {
		t.Fatalf("Purge(check-license) = %d, %v; want 1", n, err)
	}
	if n, err := dl.Count(ctx, ""); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want 2", n, err)
	}
	if n, err := dl.Purge(ctx, ""); err != nil || n != 2 {
		t.Fatalf("Purge(all) = %d, %v; want 2", n, err)
	}
	if list, err := dl.List(ctx, "", 10); err != nil || len(list) != 0 {
		t.Fatalf("List after Purge = %+v, %v", list, err)
	}
}

func TestDeadLettersReplayKeepsWhatItCouldNotSend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := mustClient(t)
	// check-license's queue is missing; its dead-letter queue is not.
	qs := mustQueues(t, c, queueConfig{Skip: []string{events.StepCheckLicense}})
	send(t, c, qs.DLQ(events.StepCheckLicense), []byte("parked"))
	dl := sqs.NewDeadLetters(c, qs, sqs.DeadLettersOptions{Wait: -1})
	n, err := dl.Replay(ctx, events.StepCheckLicense, 10, nil)
	if err == nil || n != 0 {
		t.Fatalf("Replay = %d, %v; want an error and nothing replayed", n, err)
	}
	list, err := dl.List(ctx, events.StepCheckLicense, 10)
	if err != nil || len(list) != 1 || string(list[0].Body) != "parked" {
		t.Fatalf("after the failed replay: %+v, %v; want the dead letter back", list, err)
	}
	if n, err := dl.Replay(ctx, "", 0, nil); err != nil || n != 0 {
		t.Fatalf("Replay limit 0 = %d, %v", n, err)
	}
}
