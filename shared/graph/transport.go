package graph

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/graph/budget"
	"github.com/raprov/raprov/shared/graph/graphcost"
	"github.com/raprov/raprov/shared/retryafter"
)

// pacer is the innermost HTTP transport of Graph calls: every attempt,
// retries included, first draws its cost from the tenant's budget, and a 429
// pauses the whole service for its Retry-After.
type pacer struct {
	next     http.RoundTripper
	budget   *budget.Budget
	basePath string        // path of the base URL, e.g. /v1.0
	maxWait  time.Duration // longest wait for the budget
	log      *slog.Logger
}

func (p *pacer) RoundTrip(req *http.Request) (*http.Response, error) {
	path := strings.TrimPrefix(req.URL.Path, p.basePath)
	cost := graphcost.Of(req.Method, path, req.URL.Query())
	if err := p.wait(req.Context(), cost); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	req, err := ownBody(req)
	if err != nil {
		return nil, err
	}
	resp, err := p.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		d := retryafter.Header(resp.Header)
		p.budget.Throttled(cost.Service, d)
		p.log.WarnContext(req.Context(), "graph: throttled",
			slog.String("method", req.Method), slog.String("path", path), slog.Duration("retryAfter", d),
			slog.String("throttleScope", resp.Header.Get("x-ms-throttle-scope")),
			slog.String("throttleInformation", resp.Header.Get("x-ms-throttle-information")))
	}
	if r := recorderFrom(req.Context()); r != nil {
		r.status, r.header = resp.StatusCode, resp.Header
	}
	return resp, nil
}

// wait waits for the budget at most maxWait. A longer wait (the tenant is
// paused by a long Retry-After, or its quota is spent for a while) becomes a
// Throttled error carrying the delay, without drawing from the budget.
func (p *pacer) wait(ctx context.Context, cost graphcost.Cost) error {
	wctx, cancel := context.WithTimeout(ctx, p.maxWait)
	defer cancel()
	err := p.budget.Wait(wctx, cost)
	var de *budget.DelayError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &de):
		return &apperr.Error{Code: apperr.Throttled, Message: "graph: the tenant's request budget is spent; retry later", RetryAfter: de.Delay}
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		// Only maxWait ran out (the budget's estimate fell just short).
		return &apperr.Error{Code: apperr.Throttled, Message: "graph: the tenant's request budget is spent; retry later", RetryAfter: p.maxWait}
	}
	return err
}

// recorder keeps the status and headers of the last response of a call, for
// errors the SDK reports without them (a body it cannot parse, such as a
// gateway's HTML page).
type recorder struct {
	status int
	header http.Header
}

type recorderKey struct{}

func withRecorder(ctx context.Context) (context.Context, *recorder) {
	r := &recorder{}
	return context.WithValue(ctx, recorderKey{}, r), r
}

func recorderFrom(ctx context.Context) *recorder {
	r, _ := ctx.Value(recorderKey{}).(*recorder)
	return r
}

// ownBody returns req with a body of its own, read from req's body. kiota's
// retry handler sends the same request again after rewinding its body, but
// over HTTP/2 the transport may still be reading that body for the attempt
// that was answered early (a 429 sent before the body was read): the retry
// then raced it and could go out empty, and Graph answered 400 to a valid
// create. Each attempt now reads the body once, here, and hands the
// transport a copy that nothing else touches, with GetBody and
// ContentLength set so that net/http can resend it itself.
func ownBody(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, &apperr.Error{Code: apperr.Internal, Message: "graph: read request body", Err: err}
	}
	out := req.Clone(req.Context())
	out.ContentLength = int64(len(b))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	out.Body, _ = out.GetBody()
	return out, nil
}
