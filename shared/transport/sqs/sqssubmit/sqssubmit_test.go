package sqssubmit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger/memledger"
	"github.com/raprov/raprov/shared/submission"
	"github.com/raprov/raprov/shared/transport/sqs"
	"github.com/raprov/raprov/shared/transport/sqs/sqssubmit"
	"github.com/raprov/raprov/shared/transport/sqs/sqstest"
)

// claims are request-id claims in memory: id → holder event id and
// fingerprint.
type claims map[string][2]string

func (c claims) Holder(_ context.Context, id string) (string, string, error) {
	if id == "broken" {
		return "", "", errors.New("table unavailable")
	}
	h := c[id]
	return h[0], h[1], nil
}

func request(id, upn string) events.Request {
	return events.Request{RequestID: id, DisplayName: "Main line", UserPrincipalName: upn, AccountType: events.AccountTypeAutoAttendant, UsageLocation: "US"}
}

// Requests whose ids are free are sent to intake and recorded as
// submitted; a claimed id is a duplicate (same fingerprint) or a conflict
// (another one), and neither is sent.
func TestSubmit(t *testing.T) {
	c := sqstest.Client(t)
	qs := sqstest.Queues(t, c, sqstest.Config{})
	l := memledger.New()
	dup := request("INC-DUP", "ra-dup@contoso.com")
	cl := claims{
		"INC-DUP":      {"event-1", submission.Prepare("", dup).Fingerprint},
		"INC-CONFLICT": {"event-2", "another-fingerprint"},
	}
	s, err := sqssubmit.New(sqs.NewSender(c, qs, sqs.SenderOptions{Ledger: l}), cl)
	if err != nil {
		t.Fatal(err)
	}
	reqs := []events.Request{request(" INC-NEW ", "ra-new@contoso.com"), dup, request("INC-CONFLICT", "ra-other@contoso.com"), request("", "ra-noid@contoso.com")}
	out, err := s.Submit(context.Background(), "", reqs)
	if err != nil {
		t.Fatal(err)
	}
	want := []submission.Outcome{submission.Sent, submission.Duplicate, submission.Conflict, submission.Sent}
	for i, o := range out {
		if o.Outcome != want[i] {
			t.Errorf("request %d: %s, want %s", i, o.Outcome, want[i])
		}
	}
	bodies := map[string]bool{}
	deadline := time.Now().Add(10 * time.Second)
	for len(bodies) < 2 && time.Now().Before(deadline) {
		url := qs.URL(events.StepIntake)
		m, err := c.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range m.Messages {
			ev, err := events.Decode([]byte(aws.ToString(msg.Body)))
			if err != nil {
				t.Fatal(err)
			}
			bodies[ev.Data.Request.UserPrincipalName] = true
		}
	}
	if len(bodies) != 2 || !bodies["ra-new@contoso.com"] || !bodies["ra-noid@contoso.com"] {
		t.Fatalf("intake received %v, want the new request and the one without id", bodies)
	}
	if st, err := l.Get(context.Background(), "INC-NEW"); err != nil || st.Step != "submit" {
		t.Errorf("ledger of INC-NEW: %+v, %v; want its submit line (id trimmed)", st, err)
	}
	if _, err := l.Get(context.Background(), "INC-DUP"); err == nil {
		t.Error("the duplicate was recorded")
	}
}

// A claim that cannot be read fails the whole submission, and nothing is
// sent.
func TestSubmitFailsWhole(t *testing.T) {
	c := sqstest.Client(t)
	qs := sqstest.Queues(t, c, sqstest.Config{})
	s, err := sqssubmit.New(sqs.NewSender(c, qs, sqs.SenderOptions{}), claims{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Submit(context.Background(), "", []events.Request{request("INC-1", "ra-1@contoso.com"), request("broken", "ra-2@contoso.com")}); err == nil {
		t.Fatal("submitted with an unreadable claim")
	}
	if n := sqstest.Count(t, c, qs.URL(events.StepIntake)); n != 0 {
		t.Fatalf("%d messages sent", n)
	}
	if _, err := sqssubmit.New(nil, claims{}); err == nil {
		t.Error("New without a publisher")
	}
}
