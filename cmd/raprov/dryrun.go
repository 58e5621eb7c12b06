package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/dryrun"
)

// dryRun is `raprov run --dry-run FILE`: it reads FILE as run does,
// normalises each row as intake would, and plans it against the tenant with
// reads only (shared/dryrun): no queue is opened, nothing is submitted and
// nothing is written to Microsoft. It prints per row what would be created
// and assigned and what would fail, and exits 0 when every row would end as
// its expect column says (run's rule), 1 otherwise. See docs/dry-run.md.
func dryRun(ctx context.Context, s settings, f runFlags, args []string, out io.Writer) error {
	log, closer, err := s.logger()
	if err != nil {
		return err
	}
	defer closer.Close()

	name, rows, badRows, err := readRequests(args)
	if err != nil {
		return err
	}
	for _, e := range badRows {
		fmt.Fprintf(out, "%s: %s\n", safe(name), safe(e.Error()))
	}
	fmt.Fprintf(out, "raprov: dry run of %d requests from %s (reads only)\n", len(rows), safe(name))

	m, err := connectConfigured(s, log)
	if err != nil {
		return err
	}
	if m == nil {
		// The tenant run would start; no licenses are added during a dry run.
		if m, err = startSimulator(ctx, demoSimulator(f), log); err != nil {
			return err
		}
		fmt.Fprintf(out, "raprov: Microsoft Graph simulator at %s (in process)\n", m.sim.URL)
	}
	defer m.Close()

	domains := s.Steps.VerifiedDomains
	if len(domains) == 0 {
		domains = m.domains
	}
	opts := validate.Options{VerifiedDomains: domains, CallbackAllowedHosts: s.Steps.CallbackAllowedHosts}
	planner := dryrun.New(dryrun.Ports{Licenses: m.graph, Accounts: m.graph, Numbers: m.graph, Teams: m.teams}, s.Steps.SkuPartNumber)

	plans := make([]dryrun.Plan, len(rows))
	for i, r := range rows {
		req, errs := validate.Normalize(r.Request, opts)
		if len(errs) > 0 {
			fail := events.FailureOf(errs)
			plans[i] = planner.Reject(req, fail.Reason, fail.Message)
			continue
		}
		if plans[i], err = planner.Plan(ctx, req); err != nil {
			return fmt.Errorf("line %d (%s): %w", r.Line, safe(req.RequestID), err)
		}
	}

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LINE\tREQUEST\tUPN\tVERDICT\tLICENSE\tNUMBER\tREASON\t")
	unexpected, wouldFail, waits := 0, 0, 0
	for i, p := range plans {
		r := rows[i]
		verdict := string(p.Verdict)
		if p.SameAs > 0 {
			verdict += fmt.Sprintf(" (same request as line %d)", rows[p.SameAs-1].Line)
		}
		license := "-"
		switch {
		case p.Verdict == dryrun.Fail:
		case p.LicenseWait:
			license = "none free: waits"
			waits++
		case p.TakesSeat:
			license = fmt.Sprintf("%d → %d", p.SeatsBefore, p.SeatsAfter)
		default:
			license = "has it"
		}
		number := p.Number
		if p.Request.PhoneNumber == "" {
			number = "-"
		} else if number != "" {
			number = p.Request.PhoneNumber + " " + number
		} else {
			number = p.Request.PhoneNumber
		}
		reason := "-"
		if p.Verdict == dryrun.Fail {
			reason = string(p.Reason)
			wouldFail++
		}
		if !p.Matches(r.Expect) {
			want := r.Expect
			if want == "" {
				want = "completed"
			}
			reason += "  ≠ expected " + want
			unexpected++
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Line, safe(p.Request.RequestID), safe(p.Request.UserPrincipalName),
			safe(verdict), license, safe(number), safe(reason))
	}
	tw.Flush()

	sku, ok := planner.Sku()
	part := s.Steps.SkuPartNumber
	switch {
	case !ok:
		fmt.Fprintf(out, "\nlicenses: the tenant has no %s subscription\n", safe(part))
	default:
		fmt.Fprintf(out, "\nlicenses: %s %d free before this file, %d after", safe(sku.PartNumber), sku.Free(), planner.Free())
		if waits > 0 {
			fmt.Fprintf(out, "; %d requests would wait for a seat (LICENSE_WAIT, then no_license)", waits)
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "%d requests: %d would succeed, %d would fail; %d not as expected; nothing was written\n",
		len(plans), len(plans)-wouldFail, wouldFail, unexpected)
	for i, p := range plans {
		if p.Verdict == dryrun.Fail && p.Detail != "" {
			fmt.Fprintf(out, "  line %d %s %s: %s\n", rows[i].Line, safe(p.Request.RequestID), safe(string(p.Reason)), safe(p.Detail))
		}
	}
	if unexpected > 0 || len(badRows) > 0 {
		return exitCode(1)
	}
	return nil
}
