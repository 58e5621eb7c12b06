package sqs_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/ledger/memledger"
	"github.com/raprov/raprov/shared/transport"
	"github.com/raprov/raprov/shared/transport/sqs"
)

// recordingAPI passes calls on and records each batch's entry ids and size.
type recordingAPI struct {
	sqs.SendAPI
	mu      sync.Mutex
	batches [][]string // entry ids of each call
	// fail, if set, picks entries to report as failed instead of sending
	// them, with SenderFault as it returns.
	fail func(call int, e types.SendMessageBatchRequestEntry) (failed, senderFault bool)
}

func (r *recordingAPI) SendMessageBatch(ctx context.Context, in *awssqs.SendMessageBatchInput, opts ...func(*awssqs.Options)) (*awssqs.SendMessageBatchOutput, error) {
	r.mu.Lock()
	call := len(r.batches)
	var ids []string
	for _, e := range in.Entries {
		ids = append(ids, aws.ToString(e.Id))
	}
	r.batches = append(r.batches, ids)
	r.mu.Unlock()
	if r.fail == nil {
		return r.SendAPI.SendMessageBatch(ctx, in, opts...)
	}
	pass := *in
	pass.Entries = nil
	var failed []types.BatchResultErrorEntry
	for _, e := range in.Entries {
		if f, sf := r.fail(call, e); f {
			failed = append(failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("injected"), SenderFault: sf})
		} else {
			pass.Entries = append(pass.Entries, e)
		}
	}
	out := &awssqs.SendMessageBatchOutput{}
	if len(pass.Entries) > 0 {
		var err error
		if out, err = r.SendAPI.SendMessageBatch(ctx, &pass, opts...); err != nil {
			return nil, err
		}
	}
	out.Failed = append(out.Failed, failed...)
	return out, nil
}

func (r *recordingAPI) sizes() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n []int
	for _, b := range r.batches {
		n = append(n, len(b))
	}
	return n
}

func bodies(msgs []types.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, aws.ToString(m.Body))
	}
	slices.Sort(out)
	return out
}

func TestSendBatchesOfTen(t *testing.T) {
	t.Parallel()
	c := mustClient(t)
	qs := mustQueues(t, c, queueConfig{})
	api := &recordingAPI{SendAPI: c}
	s := sqs.NewSender(api, qs, sqs.SenderOptions{})

	var msgs []transport.Message
	var want []string
	for i := range 25 {
		b := fmt.Sprintf("m%02d", i)
		msgs = append(msgs, transport.Message{Body: []byte(b)})
		want = append(want, b)
	}
	if err := s.Send(context.Background(), events.StepCheckLicense, msgs...); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{10, 10, 5}, api.sizes()); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	got := bodies(drain(t, c, qs.URL(events.StepCheckLicense), 25, 10*time.Second))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("received (-want +got):\n%s", diff)
	}
}

func TestSendBatchesWithin256KiB(t *testing.T) {
	t.Parallel()
	c := mustClient(t)
	qs := mustQueues(t, c, queueConfig{})
	api := &recordingAPI{SendAPI: c}
	s := sqs.NewSender(api, qs, sqs.SenderOptions{})

	big := func(c byte) transport.Message {
		return transport.Message{Body: []byte(strings.Repeat(string(c), 100<<10))}
	}
	if err := s.Send(context.Background(), events.StepCheckLicense, big('a'), big('b'), big('c')); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{2, 1}, api.sizes()); diff != "" {
		t.Errorf("batch sizes (-want +got):\n%s", diff)
	}
	if got := drain(t, c, qs.URL(events.StepCheckLicense), 3, 10*time.Second); len(got) != 3 {
		t.Fatalf("received %d messages, want 3", len(got))
	}

	err := s.Send(context.Background(), events.StepCheckLicense, transport.Message{Body: make([]byte, sqs.MaxBatchBytes+1)})
	if err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("oversized message: %v, want an error", err)
	}
}

func TestSendRetriesOnlyTheFailedEntries(t *testing.T) {
	t.Parallel()
	c := mustClient(t)
	qs := mustQueues(t, c, queueConfig{})
	api := &recordingAPI{SendAPI: c, fail: func(call int, e types.SendMessageBatchRequestEntry) (bool, bool) {
		id := aws.ToString(e.Id)
		return call == 0 && (id == "1" || id == "3"), false
	}}
	s := sqs.NewSender(api, qs, sqs.SenderOptions{})
	var msgs []transport.Message
	for i := range 5 {
		msgs = append(msgs, transport.Message{Body: fmt.Appendf(nil, "m%d", i)})
	}
	if err := s.Send(context.Background(), events.StepCheckLicense, msgs...); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"0", "1", "2", "3", "4"}, {"1", "3"}}, api.batches); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	got := bodies(drain(t, c, qs.URL(events.StepCheckLicense), 5, 10*time.Second))
	if diff := cmp.Diff([]string{"m0", "m1", "m2", "m3", "m4"}, got); diff != "" {
		t.Fatalf("received (-want +got):\n%s", diff)
	}
}

func TestSendDoesNotRetryTheSendersFault(t *testing.T) {
	t.Parallel()
	c := mustClient(t)
	qs := mustQueues(t, c, queueConfig{})
	api := &recordingAPI{SendAPI: c, fail: func(_ int, e types.SendMessageBatchRequestEntry) (bool, bool) {
		return aws.ToString(e.Id) == "0", true
	}}
	s := sqs.NewSender(api, qs, sqs.SenderOptions{})
	err := s.Send(context.Background(), events.StepCheckLicense, transport.Message{Body: []byte("a")}, transport.Message{Body: []byte("b")})
	if err == nil || !strings.Contains(err.Error(), "1 of 2 messages not sent") {
		t.Fatalf("error %v, want one message not sent", err)
	}
	if n := len(api.batches); n != 1 {
		t.Fatalf("%d calls, want 1: a sender's fault is not retried", n)
	}
}

func TestSendToAMissingQueueFails(t *testing.T) {
	t.Parallel()
	c := mustClient(t)
	qs := mustQueues(t, c, queueConfig{Skip: []string{events.StepAssociate}})
	s := sqs.NewSender(c, qs, sqs.SenderOptions{})
	if err := s.Send(context.Background(), events.StepAssociate, transport.Message{Body: []byte("x")}); err == nil {
		t.Fatal("send to a queue that does not exist succeeded")
	}
}

func TestPublishRecordsAfterSending(t *testing.T) {
	t.Parallel()
	c := mustClient(t)
	ctx := context.Background()
	entry := ledger.Entry{EventID: "e1", RequestID: "R1", Type: events.TypeLicenseAvailable, Step: events.StepCheckLicense}

	qs := mustQueues(t, c, queueConfig{Skip: []string{events.StepAssociate}})
	l := memledger.New()
	s := sqs.NewSender(c, qs, sqs.SenderOptions{Ledger: l})
	send := map[string][]transport.Message{events.StepCreateAccount: {{Body: []byte("x")}}}
	if err := s.Publish(ctx, send, []ledger.Entry{entry}); err != nil {
		t.Fatal(err)
	}
	if st, err := l.Get(ctx, "R1"); err != nil || st.Step != events.StepCheckLicense {
		t.Fatalf("ledger %+v, %v", st, err)
	}
	if n := len(drain(t, c, qs.URL(events.StepCreateAccount), 1, 5*time.Second)); n != 1 {
		t.Fatalf("%d messages sent, want 1", n)
	}

	// A failed send records nothing.
	l2 := memledger.New()
	s2 := sqs.NewSender(c, qs, sqs.SenderOptions{Ledger: l2})
	send[events.StepAssociate] = []transport.Message{{Body: []byte("y")}}
	if err := s2.Publish(ctx, send, []ledger.Entry{entry}); err == nil {
		t.Fatal("publish to a missing queue succeeded")
	}
	if _, err := l2.Get(ctx, "R1"); err == nil {
		t.Fatal("ledger recorded a hop whose messages were not all sent")
	}
}

func TestSubmitSendsToIntake(t *testing.T) {
	t.Parallel()
	c := mustClient(t)
	qs := mustQueues(t, c, queueConfig{})
	s := sqs.NewSender(c, qs, sqs.SenderOptions{})
	if err := s.Submit(context.Background(), transport.Message{Body: []byte("req")}); err != nil {
		t.Fatal(err)
	}
	if got := bodies(drain(t, c, qs.URL(events.StepIntake), 1, 5*time.Second)); !slices.Equal(got, []string{"req"}) {
		t.Fatalf("intake got %v", got)
	}
}

func TestDelayedMessageIsInvisibleUntilDue(t *testing.T) {
	t.Parallel()
	c := mustClient(t)
	qs := mustQueues(t, c, queueConfig{})
	s := sqs.NewSender(c, qs, sqs.SenderOptions{})
	url := qs.URL(events.StepCheckLicense)
	start := time.Now()
	// 1.5 s is rounded up: never delivered early.
	if err := s.Send(context.Background(), events.StepCheckLicense, transport.Message{Body: []byte("later"), Delay: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c, url, 10, time.Minute); len(got) != 0 && time.Since(start) < 2*time.Second {
		t.Fatalf("delayed message visible after %s", time.Since(start))
	}
	got := drain(t, c, url, 1, 10*time.Second)
	if len(got) != 1 {
		t.Fatal("delayed message never became visible")
	}
	if el := time.Since(start); el < 2*time.Second {
		t.Fatalf("delayed message visible after %s, want ≥ 2 s", el)
	}
	if _, ok := got[0].MessageAttributes[sqs.AttrNotBefore]; ok {
		t.Error("a delay within MaxDelay carries a not-before attribute")
	}
}
