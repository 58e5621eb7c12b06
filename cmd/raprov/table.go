package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/raprov/raprov/shared/ledger"
)

// outcome is how a finished request is shown and compared with its row's
// expectation: "completed" or the failure's reason code.
func (r *tracked) outcome() string {
	if r.status.Outcome == ledger.Completed {
		return "completed"
	}
	return r.status.Reason
}

// expected is the outcome the row implies.
func (r *tracked) expected() string {
	if r.row.Expect == "" {
		return "completed"
	}
	return r.row.Expect
}

// printTable writes the final table and a summary, and reports whether every
// request reached the outcome its row expects. What comes from the file or
// the tenant is printed through safe.
func printTable(out io.Writer, reqs []*tracked, elapsed time.Duration) bool {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REQUEST\tACCOUNT\tTYPE\tNUMBER\tOUTCOME\tDURATION\t")
	var completed, failed, unexpected int
	for _, r := range reqs {
		got := r.outcome()
		mark := ""
		if got != r.expected() {
			mark = "  ≠ expected " + safe(r.expected())
			unexpected++
		}
		if r.status.Outcome == ledger.Completed {
			completed++
		} else {
			failed++
		}
		number := r.row.Request.PhoneNumber
		if number == "" {
			number = "-"
		}
		dur := r.status.Updated.Sub(r.status.Started).Round(10 * time.Millisecond)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s%s\t%s\t\n", safe(r.id), safe(r.row.Request.UserPrincipalName), safe(r.row.Request.AccountType), safe(number), safe(got), mark, dur)
	}
	tw.Flush()
	fmt.Fprintf(out, "\n%d requests in %s: %d completed, %d failed; %d not as expected\n",
		len(reqs), elapsed.Round(10*time.Millisecond), completed, failed, unexpected)
	for _, r := range reqs {
		if r.status.Outcome == ledger.Failed && r.status.Detail != "" {
			fmt.Fprintf(out, "  %s %s: %s\n", safe(r.id), safe(r.status.Reason), safe(r.status.Detail))
		}
	}
	return unexpected == 0
}

// progress shows finished requests: a bar on a terminal, plain lines otherwise.
type progress struct {
	out   io.Writer
	bar   *progressbar.ProgressBar
	lines bool
	n     int
	total int
}

func newProgress(out io.Writer, total int, mode string) *progress {
	p := &progress{out: out, total: total}
	isTTY := false
	if f, ok := out.(interface{ Fd() uintptr }); ok {
		isTTY = term.IsTerminal(int(f.Fd()))
	}
	switch {
	case mode == "bar" || (mode == "auto" && isTTY):
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("provisioning"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionClearOnFinish(),
		)
	case mode == "lines" || mode == "auto":
		p.lines = true
	}
	return p
}

func (p *progress) add(r *tracked) {
	p.n++
	switch {
	case p.bar != nil:
		_ = p.bar.Add(1)
	case p.lines:
		fmt.Fprintf(p.out, "[%d/%d] %s %s: %s\n", p.n, p.total, safe(r.id), safe(r.row.Request.UserPrincipalName), safe(r.outcome()))
	}
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
