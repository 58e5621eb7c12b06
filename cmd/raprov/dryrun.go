package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/dryrun"
	"github.com/raprov/raprov/shared/requestfile"
)

// dryRun is `raprov run --dry-run FILE`: it reads FILE as run does,
// normalises each row as intake would, and plans it against the tenant with
// reads only (shared/dryrun): no queue is opened, nothing is submitted and
// nothing is written to Microsoft. It prints per row what would be created
// and assigned and what would fail, as a table or JSON records (f.output),
// and exits 0 when every row would end as its expect column says (run's
// rule), 1 otherwise. See docs/dry-run.md.
func dryRun(ctx context.Context, s settings, f runFlags, args []string, out io.Writer) error {
	msgs := f.output.messages(out, f.diag)
	log, closer, err := s.logger()
	if err != nil {
		return err
	}
	defer closer.Close()

	name, rows, badRows, err := readRequests(args, s.AllowDeprovisionRows)
	if err != nil {
		return err
	}
	for _, e := range badRows {
		fmt.Fprintf(msgs, "%s: %s\n", safe(name), safe(e.Error()))
	}
	fmt.Fprintf(msgs, "raprov: dry run of %d requests from %s (reads only)\n", len(rows), safe(name))

	m, err := connectConfigured(s, log)
	if err != nil {
		return configError(err)
	}
	if m == nil {
		// The tenant run would start; no licenses are added during a dry run.
		if m, err = startSimulator(ctx, demoSimulator(f), log); err != nil {
			return err
		}
		fmt.Fprintf(msgs, "raprov: Microsoft Graph simulator at %s (in process)\n", m.sim.URL)
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

	if f.output.machine() {
		recs := dryRunRecords(rows, plans, badRows)
		if err := writeList(out, f.output, recs); err != nil {
			return err
		}
		for _, r := range recs {
			if !r.AsExpected {
				return exitCode(1)
			}
		}
		return nil
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

// dryRunVerdicts name the verdicts in JSON records.
var dryRunVerdicts = map[dryrun.Verdict]string{
	dryrun.Create:   "create",
	dryrun.Continue: "continue",
	dryrun.Adopt:    "adopt",
	dryrun.Remove:   "remove",
	dryrun.Fail:     "fail",
}

// dryRunRecords returns the JSON records of a dry run: one per plan, and
// one per row that could not be read, in line order.
func dryRunRecords(rows []requestfile.Row, plans []dryrun.Plan, bad []requestfile.RowError) []dryRunRecord {
	out := make([]dryRunRecord, 0, len(plans)+len(bad))
	i, j := 0, 0
	for i < len(plans) || j < len(bad) {
		if j < len(bad) && (i == len(plans) || bad[j].Line < rows[i].Line) {
			e := bad[j]
			out = append(out, dryRunRecord{Line: e.Line, EndLine: endLine(e), Verdict: "invalid", Detail: e.Err.Error()})
			j++
			continue
		}
		out = append(out, dryRunRecordOf(rows, i, plans[i]))
		i++
	}
	return out
}

// dryRunRecordOf is the record of the plan of rows[i].
func dryRunRecordOf(rows []requestfile.Row, i int, p dryrun.Plan) dryRunRecord {
	r := rows[i]
	rec := dryRunRecord{
		Line: r.Line, RequestID: p.Request.RequestID, Account: p.Request.UserPrincipalName, AccountType: p.Request.AccountType,
		Verdict: dryRunVerdicts[p.Verdict], ObjectID: p.ObjectID, Number: p.Request.PhoneNumber, NumberStatus: p.Number,
		TakesSeat: p.TakesSeat, LicenseWait: p.LicenseWait, SeatsBefore: p.SeatsBefore, SeatsAfter: p.SeatsAfter,
		Expected: cmp.Or(r.Expect, "completed"), AsExpected: p.Matches(r.Expect),
	}
	if rec.Verdict == "" {
		rec.Verdict = string(p.Verdict) // a verdict added to shared/dryrun later
	}
	if p.SameAs > 0 {
		rec.SameAsLine = rows[p.SameAs-1].Line
	}
	if p.Verdict == dryrun.Fail {
		rec.Reason, rec.Detail = string(p.Reason), p.Detail
	}
	return rec
}
