package bulkdir

import (
	"bytes"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/requestfile"
	"github.com/raprov/raprov/shared/submission"
)

const stateVersion = 1

// Row states. The last four are final.
const (
	rowPending   = "pending"   // to submit
	rowSubmitted = "submitted" // submitted, not ended
	rowInvalid   = "invalid"
	rowConflict  = "duplicate-conflict"
	rowCompleted = "completed"
	rowFailed    = "failed"
)

// state is what is known of one file, kept by the store (a folder's
// .raprov/<name>.json).
type state struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	Size      int64     `json:"size"`
	ModTime   time.Time `json:"modTime"`
	ETag      string    `json:"etag,omitempty"`
	SHA256    string    `json:"sha256,omitempty"`
	Read      time.Time `json:"read"`
	FileError string    `json:"fileError,omitempty"`
	Rows      []row     `json:"rows,omitempty"`
	// Target is the name the file gets in processed/, chosen once.
	Target string `json:"target,omitempty"`
}

// row is one row of the file and where it stands.
type row struct {
	Line      int    `json:"line"`
	EndLine   int    `json:"endLine,omitempty"`
	RequestID string `json:"requestId,omitempty"`
	Account   string `json:"account,omitempty"`
	Number    string `json:"number,omitempty"`
	// Action is provision or deprovision for a row that was read, ""
	// for one that could not be (and in states written before rows had
	// an action: those were all provisioning rows).
	Action string `json:"action,omitempty"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Request is kept until the row is submitted.
	Request *events.Request `json:"request,omitempty"`
}

func final(s string) bool {
	return s != rowPending && s != rowSubmitted
}

// rows gives the rows of a file their ids and checks them; it returns them
// with the rows that could not be read, in line order.
func (w *Watcher) rows(file string, rows []requestfile.Row, bad []requestfile.RowError) []row {
	out := make([]row, 0, len(rows)+len(bad))
	for _, e := range bad {
		reason := e.Err.Error()
		if e.EndLine > e.Line {
			reason = e.Error()
		}
		out = append(out, row{Line: e.Line, EndLine: e.EndLine, State: rowInvalid, Reason: reason})
	}
	ids := map[string]int{}
	for _, r := range rows {
		req := r.Request
		rs := row{Line: r.Line, Account: strings.TrimSpace(req.UserPrincipalName), Number: strings.TrimSpace(req.PhoneNumber),
			Action: actionName(req), State: rowInvalid}
		if req.RequestID == "" {
			req.RequestID = w.opts.ID(file, req)
		}
		rs.RequestID = req.RequestID
		var err error
		switch prev, dup := ids[req.RequestID]; {
		case req.RequestID == "":
			err = errors.New("the row has no userPrincipalName (nor requestId) to derive its request id from")
		case dup:
			err = fmt.Errorf("request id %q is already the id of line %d", req.RequestID, prev)
		default:
			if err = checkID(req.RequestID); err == nil {
				err = w.opts.Check(req)
			}
		}
		if err != nil {
			rs.Reason = err.Error()
		} else {
			ids[req.RequestID] = r.Line
			rs.State, rs.Request = rowPending, &req
		}
		out = append(out, rs)
	}
	slices.SortStableFunc(out, func(a, b row) int { return cmp.Compare(a.Line, b.Line) })
	return out
}

// count fills fr's row counts.
func (st *state) count(fr *FileReport) {
	fr.FileError = st.FileError
	fr.Rows, fr.Invalid, fr.Pending, fr.Completed, fr.Failed = len(st.Rows), 0, 0, 0, 0
	for _, r := range st.Rows {
		switch r.State {
		case rowInvalid:
			fr.Invalid++
		case rowPending, rowSubmitted:
			fr.Pending++
		case rowCompleted:
			fr.Completed++
		case rowFailed, rowConflict:
			fr.Failed++
		}
	}
}

// submit submits the rows still to submit, saving the state after each
// batch.
func (w *Watcher) submit(ctx context.Context, st *state, fr *FileReport) error {
	var todo []int
	for i, r := range st.Rows {
		if r.State == rowPending {
			todo = append(todo, i)
		}
	}
	for len(todo) > 0 {
		n := min(len(todo), submitBatch)
		batch := todo[:n]
		todo = todo[n:]
		reqs := make([]events.Request, n)
		for j, i := range batch {
			reqs[j] = *st.Rows[i].Request
		}
		subs, err := w.opts.Submitter.Submit(ctx, "", reqs)
		if err == nil && len(subs) != n {
			err = fmt.Errorf("the submitter answered %d results for %d requests", len(subs), n)
		}
		if err != nil {
			return fmt.Errorf("bulkdir: submit %s: %w", st.Name, err)
		}
		for j, i := range batch {
			r := &st.Rows[i]
			switch subs[j].Outcome {
			case submission.Sent:
				fr.Sent++
				r.State, r.Request = rowSubmitted, nil
			case submission.Duplicate:
				fr.Duplicate++
				r.State, r.Request = rowSubmitted, nil
			case submission.Conflict:
				fr.Conflict++
				r.State, r.Request = rowConflict, nil
				r.Reason = string(events.ReasonRequestConflict) + ": the request id was already used for a different request; rename the file (or change the requestId) to submit this row as a new request"
			default:
				return fmt.Errorf("bulkdir: submit %s: unknown outcome %q", st.Name, subs[j].Outcome)
			}
		}
		if err := w.saveState(ctx, st); err != nil {
			return err
		}
	}
	if fr.Sent+fr.Duplicate+fr.Conflict > 0 {
		w.log.Info("bulk file submitted", "file", st.Name, "sent", fr.Sent, "duplicate", fr.Duplicate, "conflict", fr.Conflict)
	}
	return nil
}

// poll asks the ledger about the submitted requests that have not ended.
func (w *Watcher) poll(ctx context.Context, st *state) error {
	changed := false
	var err error
	for i := range st.Rows {
		r := &st.Rows[i]
		if r.State != rowSubmitted {
			continue
		}
		s, gerr := w.opts.Ledger.Get(ctx, r.RequestID)
		if apperr.CodeOf(gerr) == apperr.NotFound {
			continue // not recorded yet
		}
		if gerr != nil {
			err = fmt.Errorf("bulkdir: ledger: %s: %w", r.RequestID, gerr)
			break
		}
		switch s.Outcome {
		case ledger.Completed:
			r.State, r.Reason, changed = rowCompleted, "", true
		case ledger.Failed:
			r.State, changed = rowFailed, true
			r.Reason = s.Reason
			if s.Detail != "" {
				r.Reason = strings.TrimPrefix(r.Reason+": "+s.Detail, ": ")
			}
		}
	}
	if changed {
		if serr := w.saveState(ctx, st); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}

// finish writes the report of a file whose rows have all ended, moves the
// file to processed/ and removes its state. Each step can be repeated after
// a crash: the target name is chosen once and kept in the state.
func (w *Watcher) finish(ctx context.Context, st *state, f File, fr *FileReport) error {
	if st.Target == "" {
		t, err := w.target(ctx, st.Name)
		if err != nil {
			return err
		}
		st.Target = t
		if err := w.saveState(ctx, st); err != nil {
			return err
		}
	}
	var rep bytes.Buffer
	if err := writeReport(&rep, st); err != nil {
		return fmt.Errorf("bulkdir: report: %w", err)
	}
	if err := w.store.WriteProcessed(ctx, st.Target+reportSuffix, rep.Bytes()); err != nil {
		return fmt.Errorf("bulkdir: report: %w", err)
	}
	// The file must still be the one read: a file replaced meanwhile is
	// read again on the next pass instead.
	err := w.store.Move(ctx, f, st.Target)
	if errors.Is(err, ErrChanged) {
		return fmt.Errorf("bulkdir: %s changed; it is read again", st.Name)
	}
	if err != nil {
		return err
	}
	if err := w.store.RemoveState(ctx, st.Name); err != nil {
		w.log.Warn("bulk file state not removed", "file", st.Name, "error", err.Error())
	}
	dst := ProcessedDir + "/" + st.Target
	fr.Status, fr.MovedTo, fr.ReportPath = Processed, dst, dst+reportSuffix
	w.log.Info("bulk file processed", "file", st.Name, "movedTo", fr.MovedTo, "report", fr.ReportPath,
		"completed", fr.Completed, "failed", fr.Failed, "invalid", fr.Invalid)
	return nil
}

// reportSuffix ends the name of a file's report in processed/.
const reportSuffix = ".report.csv"

// target returns the name for a file in processed/: its own, or, when that
// or its report is taken, with a UTC timestamp (and a counter) before the
// extension.
func (w *Watcher) target(ctx context.Context, name string) (string, error) {
	taken := func(n string) (bool, error) {
		for _, p := range []string{n, n + reportSuffix} {
			if t, err := w.store.Taken(ctx, p); err != nil || t {
				return t, err
			}
		}
		return false, nil
	}
	t, err := taken(name)
	if err != nil || !t {
		return name, err
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext) + "." + w.opts.Now().UTC().Format("20060102T150405Z")
	for i := 1; ; i++ {
		n := stem + ext
		if i > 1 {
			n = stem + "-" + strconv.Itoa(i) + ext
		}
		if t, err := taken(n); err != nil || !t {
			return n, err
		}
	}
}

// ReportHeader is the header of a file's result report. Columns are only
// ever added at the end, so scripts reading them by position keep working.
var ReportHeader = []string{"row", "requestId", "outcome", "reason", "account", "number", "action"}

// Actions in the report and the state.
const (
	actionProvision   = "provision"
	actionDeprovision = events.ActionDeprovision
)

// actionName is the report's name of what r asks for.
func actionName(r events.Request) string {
	if r.Deprovision() {
		return actionDeprovision
	}
	return actionProvision
}

// writeReport writes st's report: one line per row in line order, or one
// line without row for a file refused as a whole.
func writeReport(w io.Writer, st *state) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(ReportHeader)
	if st.FileError != "" {
		_ = cw.Write([]string{"", "", rowInvalid, cell(st.FileError), "", "", ""})
	}
	for _, r := range st.Rows {
		action := r.Action
		if action == "" && r.RequestID != "" { // a state from before rows had an action
			action = actionProvision
		}
		_ = cw.Write([]string{strconv.Itoa(r.Line), cell(r.RequestID), r.State, cell(r.Reason), cell(r.Account), cell(r.Number), action})
	}
	cw.Flush()
	return cw.Error()
}

// cell keeps a spreadsheet from taking a value from a request file for a
// formula: one starting with =, @, +, -, a tab or a carriage return gets a
// leading apostrophe, but for phone numbers (+, digits, spaces, ()-.).
func cell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r':
		return "'" + s
	case '+', '-':
		if strings.Trim(s, "+-0123456789 ().") != "" {
			return "'" + s
		}
	}
	return s
}

// loadState returns the state of a file, or nil when there is none.
func (w *Watcher) loadState(ctx context.Context, name string) (*state, error) {
	b, err := w.store.LoadState(ctx, name)
	if err != nil || b == nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("bulkdir: state of %s is unreadable (remove %s to read the file afresh): %w", name, statePath(name), err)
	}
	if st.Version != stateVersion || st.Name != name {
		return nil, fmt.Errorf("bulkdir: state %s is not version %d of %s", statePath(name), stateVersion, name)
	}
	return &st, nil
}

func (w *Watcher) saveState(ctx context.Context, st *state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("bulkdir: state: %w", err)
	}
	return w.store.SaveState(ctx, st.Name, append(b, '\n'))
}
