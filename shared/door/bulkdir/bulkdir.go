package bulkdir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/deprovision"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/requestfile"
	"github.com/raprov/raprov/shared/submission"
)

// Defaults.
const (
	DefaultInterval    = time.Minute
	DefaultMaxFileSize = 50 << 20 // 50 MiB
)

// submitBatch is the most requests passed to one Submit call; the state is
// saved after each call.
const submitBatch = 100

// Options configure a Watcher.
type Options struct {
	// Dir is the folder watched, when Store is nil: New makes it a
	// Folder. One of Dir and Store is required.
	Dir string
	// Store is where the request files are: a Folder, an s3store.Store.
	Store Store
	// Submitter queues the requests. Required.
	Submitter submission.Submitter
	// Ledger tells when a submitted request has ended. Required.
	Ledger ledger.Ledger
	// Interval between passes of Run; DefaultInterval when zero.
	Interval time.Duration
	// Now is the clock (timestamps of renamed files); time.Now when nil.
	Now func() time.Time
	// Logger; slog.Default() when nil.
	Logger *slog.Logger
	// MaxFileSize is the largest file read, in bytes; DefaultMaxFileSize
	// when zero.
	MaxFileSize int64
	// LockTTL bounds a pass: it holds the store's scan lock (Store.Lock)
	// for at most that long, and stops there, to go on at the next pass.
	// A pass whose context ends sooner (a Lambda invocation's deadline)
	// takes the lock only until then. DefaultLockTTL when zero.
	LockTTL time.Duration
	// ID gives a row without requestId its request id from the file's name
	// (no folder) and the row's request; it must be deterministic and
	// return "" when the row has no key. RowID when nil.
	ID func(file string, r events.Request) string
	// Check refuses rows before they are submitted: a non-nil error makes
	// the row invalid with the error as its reason. It is called with the
	// request id set. When nil, rows whose provisioning.requested event
	// would be too large to submit are refused (submission.Fits).
	Check func(r events.Request) error
	// AllowDeprovision lets files carry rows with action deprovision
	// (RAPROV_ALLOW_DEPROVISION_ROWS); off, such rows are reported as bad
	// rows (requestfile.ErrDeprovisionRowsOff) and the others still run.
	AllowDeprovision bool
}

// Watcher picks up request files in a Store. Its methods are safe for
// concurrent use; passes never overlap, in one process (a mutex) or
// several (the store's scan lock).
type Watcher struct {
	opts  Options
	store Store
	log   *slog.Logger

	mu sync.Mutex
}

// New checks opts and returns a Watcher. Dir, when given, must be an
// existing folder.
func New(opts Options) (*Watcher, error) {
	switch {
	case opts.Dir == "" && opts.Store == nil:
		return nil, errors.New("bulkdir: no Dir nor Store")
	case opts.Dir != "" && opts.Store != nil:
		return nil, errors.New("bulkdir: both Dir and Store")
	case opts.Submitter == nil:
		return nil, errors.New("bulkdir: no Submitter")
	case opts.Ledger == nil:
		return nil, errors.New("bulkdir: no Ledger")
	case opts.Interval < 0 || opts.MaxFileSize < 0 || opts.LockTTL < 0:
		return nil, errors.New("bulkdir: negative Interval, MaxFileSize or LockTTL")
	}
	store := opts.Store
	if store == nil {
		d, err := NewFolder(opts.Dir)
		if err != nil {
			return nil, err
		}
		store = d
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxFileSize == 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.LockTTL == 0 {
		opts.LockTTL = DefaultLockTTL
	}
	if opts.ID == nil {
		opts.ID = RowID
	}
	if opts.Check == nil {
		opts.Check = submission.Fits
	}
	log := opts.Logger.With("door", "bulkdir")
	switch s := store.(type) {
	case *Folder:
		log = log.With("dir", s.Dir())
	case fmt.Stringer:
		log = log.With("store", s.String())
	}
	return &Watcher{opts: opts, store: store, log: log}, nil
}

// ScanOnce makes one pass over store and returns: the entry point of a
// scheduled run (a Lambda function that EventBridge Scheduler invokes
// every few minutes). opts are as for New; its Dir, Store, Submitter and
// Ledger are replaced by the arguments. ctx's deadline bounds the pass and
// the scan lock it holds.
//
// ScanOnce keeps nothing between calls; the store does. A store that
// lists files still being written (Folder) calls a file complete only on
// the List after the one that first saw it: pass the same Folder to every
// call, or use a Watcher.
func ScanOnce(ctx context.Context, store Store, sub submission.Submitter, l ledger.Ledger, opts Options) (Report, error) {
	if store == nil {
		return Report{}, errors.New("bulkdir: no Store")
	}
	opts.Dir, opts.Store, opts.Submitter, opts.Ledger = "", store, sub, l
	w, err := New(opts)
	if err != nil {
		return Report{}, err
	}
	return w.Scan(ctx)
}

// Run makes a pass at once and then every Interval until ctx ends, and
// returns nil then. Errors are logged; they never stop it.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		if _, err := w.Scan(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("bulk pass failed", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// FileStatus is where a file stands after a pass.
type FileStatus string

// File statuses.
const (
	// Waiting: the file is not complete yet (a folder's file seen for the
	// first time or changed since the last pass); it is read once it is.
	Waiting FileStatus = "waiting"
	// Running: its requests are submitted and some have not ended.
	Running FileStatus = "running"
	// Processed: every request ended; the file and its report are in
	// processed/ (FileReport.MovedTo, FileReport.ReportPath).
	Processed FileStatus = "processed"
)

// Report is what one pass saw and did.
type Report struct {
	// Busy: another pass held the store's scan lock, so this one did
	// nothing.
	Busy  bool
	Files []FileReport // in name order
}

// FileReport is what a pass did with one file. Counts are of the file's
// rows as they stand after the pass, but for Sent, Duplicate and Conflict,
// which count this pass's submissions.
type FileReport struct {
	Name   string
	Status FileStatus
	// FileError is why the file as a whole was not submitted, or "".
	FileError string
	Rows      int // rows read, invalid ones included
	Invalid   int
	Pending   int // submitted (or still to submit) and not ended
	Completed int
	Failed    int // failed, and refused as duplicate-conflict
	// This pass's submissions.
	Sent, Duplicate, Conflict int
	// MovedTo and ReportPath are set when Status is Processed: paths
	// relative to the store's root (the folder, the S3 prefix), with '/'
	// separators.
	MovedTo, ReportPath string
	// Err is the error that stopped this pass on the file; it is tried
	// again on the next.
	Err error
}

// Scan makes one pass over the store: it reads the files that have become
// complete, submits what is still to submit, asks the ledger about the
// requests not yet ended and moves the files whose requests all ended. It
// does nothing, and says so in Report.Busy, when another pass holds the
// store's scan lock.
func (w *Watcher) Scan(ctx context.Context) (Report, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ttl := w.opts.LockTTL
	if dl, ok := ctx.Deadline(); ok {
		ttl = min(ttl, time.Until(dl))
	}
	if ttl <= 0 {
		return Report{}, context.DeadlineExceeded
	}
	// The pass ends before its lock does.
	ctx, cancel := context.WithTimeout(ctx, ttl)
	defer cancel()
	unlock, err := w.store.Lock(ctx, ttl)
	if errors.Is(err, ErrBusy) {
		w.log.Info("bulk pass skipped: another pass holds the scan lock")
		return Report{Busy: true}, nil
	}
	if err != nil {
		return Report{}, err
	}
	defer unlock()
	files, err := w.store.List(ctx)
	if err != nil {
		return Report{}, err
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })

	var rep Report
	present := map[string]bool{}
	for _, f := range files {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		present[f.Name] = true
		fr := w.file(ctx, f)
		if fr.Err != nil {
			w.log.Warn("bulk file", "file", f.Name, "error", fr.Err.Error())
		}
		rep.Files = append(rep.Files, fr)
	}
	w.dropMovedStates(ctx, present)
	return rep, nil
}

// dropMovedStates removes the states of files already moved to processed/
// (a crash between the move and the state's removal).
func (w *Watcher) dropMovedStates(ctx context.Context, present map[string]bool) {
	names, err := w.store.States(ctx)
	if err != nil {
		return
	}
	for _, name := range names {
		if present[name] || !Candidate(name) {
			continue
		}
		st, err := w.loadState(ctx, name)
		if err != nil || st == nil || st.Target == "" {
			continue
		}
		if taken, err := w.store.Taken(ctx, st.Target); err == nil && taken {
			_ = w.store.RemoveState(ctx, name)
		}
	}
}

// Candidate reports whether a name in the inbox is one of a request file:
// no path separator, not a dotfile, and ending in .csv, .jsonl or .ndjson
// (any case).
func Candidate(name string) bool {
	if name == "" || strings.HasPrefix(name, ".") || strings.ContainsAny(name, `/\`+"\x00") || filepath.Base(name) != name {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".jsonl", ".ndjson":
		return true
	}
	return false
}

// file makes one pass over one file.
func (w *Watcher) file(ctx context.Context, f File) FileReport {
	fr := FileReport{Name: f.Name, Status: Waiting}
	st, err := w.loadState(ctx, f.Name)
	if err != nil {
		fr.Err = err
		return fr
	}
	if st == nil || !st.sameFile(f) {
		if !f.Complete {
			return fr
		}
		fresh, err := w.read(ctx, f)
		if err != nil {
			fr.Err = err
			return fr
		}
		if fresh == nil { // changed while read
			return fr
		}
		switch {
		case st != nil && st.SHA256 != "" && st.SHA256 == fresh.SHA256:
			st.Size, st.ModTime, st.ETag = fresh.Size, fresh.ModTime, fresh.ETag // touched, same content
		default:
			if st != nil {
				w.log.Warn("bulk file changed after it was read; reading it again", "file", f.Name)
			}
			st = fresh
			w.logRead(st)
		}
		if err := w.saveState(ctx, st); err != nil {
			fr.Err = err
			return fr
		}
	}
	fr.Status = Running
	if err := w.submit(ctx, st, &fr); err != nil {
		fr.Err = err
	} else if err := w.poll(ctx, st); err != nil {
		fr.Err = err
	}
	st.count(&fr)
	if fr.Err != nil || fr.Pending > 0 {
		return fr
	}
	if err := w.finish(ctx, st, f, &fr); err != nil {
		fr.Err = err
	}
	return fr
}

func (w *Watcher) logRead(st *state) {
	var fr FileReport
	st.count(&fr)
	if st.FileError != "" {
		w.log.Warn("bulk file refused", "file", st.Name, "reason", st.FileError)
		return
	}
	w.log.Info("bulk file read", "file", st.Name, "rows", fr.Rows, "invalid", fr.Invalid)
}

// read reads a complete file into a new state. It returns nil, nil when
// the file changed while it was read.
func (w *Watcher) read(ctx context.Context, f File) (*state, error) {
	st := &state{Version: stateVersion, Name: f.Name, Size: f.Size, ModTime: f.ModTime, ETag: f.ETag, Read: w.opts.Now().UTC()}
	if f.Size > w.opts.MaxFileSize {
		st.FileError = tooLarge(f.Size, w.opts.MaxFileSize)
		return st, nil
	}
	rc, err := w.store.Open(ctx, f)
	if errors.Is(err, ErrChanged) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	src := &errReader{r: rc}
	h := sha256.New()
	lr := &io.LimitedReader{R: src, N: w.opts.MaxFileSize + 1}
	tee := io.TeeReader(lr, h)
	rows, bad, perr := requestfile.Parse(tee)
	_, _ = io.Copy(io.Discard, tee) // the rest, for the hash; errors are src's
	switch {
	case errors.Is(src.err, ErrChanged) || lr.N <= 0:
		// Written to while read (lr.N: it grew past the limit): wait
		// until it is complete again.
		return nil, nil
	case src.err != nil:
		return nil, fmt.Errorf("bulkdir: read %s: %w", f.Name, src.err) // the store, not the file: try again
	}
	st.SHA256 = hex.EncodeToString(h.Sum(nil))
	if perr != nil {
		st.FileError = strings.TrimPrefix(perr.Error(), "requestfile: ")
		return st, nil
	}
	if !w.opts.AllowDeprovision {
		rows, bad = requestfile.OnlyProvisioning(rows, bad)
	} else if rows, bad, err = deprovision.RefuseTakenOver(ctx, w.opts.Ledger, rows, bad); err != nil {
		return nil, fmt.Errorf("bulkdir: read %s: %w", f.Name, err)
	}
	st.Rows = w.rows(f.Name, rows, bad)
	return st, nil
}

// errReader keeps the first error but io.EOF of the reader it reads, so
// that a failing store is never taken for a malformed file.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

func tooLarge(size, limit int64) string {
	l := fmt.Sprintf("%d bytes", limit)
	if limit >= 1<<20 && limit%(1<<20) == 0 {
		l = fmt.Sprintf("%d MiB", limit>>20)
	}
	return fmt.Sprintf("the file is %d bytes; the limit is %s: split it into smaller files", size, l)
}
