package bulkdir

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/requestfile"
	"github.com/raprov/raprov/shared/submission"
)

// Defaults.
const (
	DefaultInterval    = time.Minute
	DefaultMaxFileSize = 50 << 20 // 50 MiB
)

// Folders inside Dir.
const (
	StateDir     = ".raprov"
	ProcessedDir = "processed"
)

// submitBatch is the most requests passed to one Submit call; the state is
// saved after each call.
const submitBatch = 100

// Options configure a Watcher.
type Options struct {
	// Dir is the folder watched. Required.
	Dir string
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
	// ID gives a row without requestId its request id from the file's name
	// (no folder) and the row's request; it must be deterministic and
	// return "" when the row has no key. RowID when nil.
	ID func(file string, r events.Request) string
	// Check refuses rows before they are submitted: a non-nil error makes
	// the row invalid with the error as its reason. It is called with the
	// request id set. When nil, rows whose provisioning.requested event
	// would be too large to submit are refused (submission.Fits).
	Check func(r events.Request) error
}

// Watcher picks up request files in a folder. Its methods are safe for
// concurrent use; passes never overlap.
type Watcher struct {
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	seen map[string]sighting // name → what the last pass saw, for stability
}

// sighting is a file's size and modification time on one pass.
type sighting struct {
	size  int64
	mtime time.Time
}

// New checks opts and returns a Watcher. Dir must be an existing folder.
func New(opts Options) (*Watcher, error) {
	switch {
	case opts.Dir == "":
		return nil, errors.New("bulkdir: no Dir")
	case opts.Submitter == nil:
		return nil, errors.New("bulkdir: no Submitter")
	case opts.Ledger == nil:
		return nil, errors.New("bulkdir: no Ledger")
	case opts.Interval < 0 || opts.MaxFileSize < 0:
		return nil, errors.New("bulkdir: negative Interval or MaxFileSize")
	}
	fi, err := os.Stat(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("bulkdir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("bulkdir: %s is not a folder", opts.Dir)
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
	if opts.ID == nil {
		opts.ID = RowID
	}
	if opts.Check == nil {
		opts.Check = submission.Fits
	}
	return &Watcher{opts: opts, log: opts.Logger.With("door", "bulkdir", "dir", opts.Dir), seen: map[string]sighting{}}, nil
}

// Run makes a pass at once and then every Interval until ctx ends, and
// returns nil then. Errors are logged; they never stop it.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.opts.Interval)
	defer t.Stop()
	for {
		if _, err := w.Scan(ctx); err != nil && ctx.Err() == nil {
			w.log.Warn("bulk folder pass failed", "error", err.Error())
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
	// Waiting: the file was seen for the first time or changed since the
	// last pass; it is read once it stays the same for a pass.
	Waiting FileStatus = "waiting"
	// Running: its requests are submitted and some have not ended.
	Running FileStatus = "running"
	// Processed: every request ended; the file and its report are in
	// processed/ (FileReport.MovedTo, FileReport.ReportPath).
	Processed FileStatus = "processed"
)

// Report is what one pass saw and did.
type Report struct {
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
	// relative to Dir, with '/' separators.
	MovedTo, ReportPath string
	// Err is the error that stopped this pass on the file; it is tried
	// again on the next.
	Err error
}

// Scan makes one pass over Dir: it reads the files that have become
// stable, submits what is still to submit, asks the ledger about the
// requests not yet ended and moves the files whose requests all ended.
func (w *Watcher) Scan(ctx context.Context) (Report, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	root, err := os.OpenRoot(w.opts.Dir)
	if err != nil {
		return Report{}, fmt.Errorf("bulkdir: %w", err)
	}
	defer root.Close()
	d, err := root.Open(".")
	if err != nil {
		return Report{}, fmt.Errorf("bulkdir: %w", err)
	}
	entries, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return Report{}, fmt.Errorf("bulkdir: list %s: %w", w.opts.Dir, err)
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })

	var rep Report
	present := map[string]bool{}
	for _, e := range entries {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		name := e.Name()
		if !Candidate(name) {
			continue
		}
		fi, err := root.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() {
			continue // symbolic links, folders, devices, pipes; or gone
		}
		present[name] = true
		fr := w.file(ctx, root, name, fi)
		if fr.Err != nil {
			w.log.Warn("bulk file", "file", name, "error", fr.Err.Error())
		}
		rep.Files = append(rep.Files, fr)
	}
	for name := range w.seen {
		if !present[name] {
			delete(w.seen, name)
		}
	}
	w.dropMovedStates(root, present)
	return rep, nil
}

// dropMovedStates removes the state files of files already moved to
// processed/ (a crash between the move and the state's removal).
func (w *Watcher) dropMovedStates(root *os.Root, present map[string]bool) {
	d, err := root.Open(StateDir)
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	for _, n := range names {
		name, ok := strings.CutSuffix(n, ".json")
		if !ok || present[name] || !Candidate(name) {
			continue
		}
		st, err := loadState(root, name)
		if err != nil || st == nil || st.Target == "" {
			continue
		}
		if fi, err := root.Lstat(ProcessedDir + "/" + st.Target); err == nil && fi.Mode().IsRegular() {
			_ = root.Remove(statePath(name))
		}
	}
}

// Candidate reports whether a name in Dir is one of a request file: no
// path separator, not a dotfile, and ending in .csv, .jsonl or .ndjson
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

// stable records what this pass sees of a file and reports whether the
// previous pass saw the same.
func (w *Watcher) stable(name string, fi fs.FileInfo) bool {
	now := sighting{fi.Size(), fi.ModTime()}
	prev, ok := w.seen[name]
	w.seen[name] = now
	return ok && prev.size == now.size && prev.mtime.Equal(now.mtime)
}

// file makes one pass over one file.
func (w *Watcher) file(ctx context.Context, root *os.Root, name string, fi fs.FileInfo) FileReport {
	fr := FileReport{Name: name, Status: Waiting}
	st, err := loadState(root, name)
	if err != nil {
		fr.Err = err
		return fr
	}
	if st == nil || st.Size != fi.Size() || !st.ModTime.Equal(fi.ModTime()) {
		if !w.stable(name, fi) {
			return fr
		}
		fresh, err := w.read(root, name, fi)
		if err != nil {
			fr.Err = err
			return fr
		}
		if fresh == nil { // changed while read
			return fr
		}
		switch {
		case st != nil && st.SHA256 != "" && st.SHA256 == fresh.SHA256:
			st.Size, st.ModTime = fresh.Size, fresh.ModTime // touched, same content
		default:
			if st != nil {
				w.log.Warn("bulk file changed after it was read; reading it again", "file", name)
			}
			st = fresh
			w.logRead(st)
		}
		if err := saveState(root, st); err != nil {
			fr.Err = err
			return fr
		}
	}
	fr.Status = Running
	if err := w.submit(ctx, root, st, &fr); err != nil {
		fr.Err = err
	} else if err := w.poll(ctx, root, st); err != nil {
		fr.Err = err
	}
	st.count(&fr)
	if fr.Err != nil || fr.Pending > 0 {
		return fr
	}
	if err := w.finish(root, st, fi, &fr); err != nil {
		fr.Err = err
		return fr
	}
	delete(w.seen, name)
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

// read reads a stable file into a new state. It returns nil, nil when the
// file changed while it was read.
func (w *Watcher) read(root *os.Root, name string, fi fs.FileInfo) (*state, error) {
	st := &state{Version: stateVersion, Name: name, Size: fi.Size(), ModTime: fi.ModTime(), Read: w.opts.Now().UTC()}
	if fi.Size() > w.opts.MaxFileSize {
		st.FileError = tooLarge(fi.Size(), w.opts.MaxFileSize)
		return st, nil
	}
	// Non-blocking: a FIFO swapped in after the Lstat above must not hang
	// the watcher in open; the handle's own Stat then refuses it.
	f, err := root.OpenFile(name, os.O_RDONLY|openNonBlocking, 0)
	if err != nil {
		return nil, fmt.Errorf("bulkdir: %w", err)
	}
	defer f.Close()
	if ofi, err := f.Stat(); err != nil || !ofi.Mode().IsRegular() {
		return nil, fmt.Errorf("bulkdir: %s is no longer a regular file", name)
	}
	h := sha256.New()
	lr := &io.LimitedReader{R: f, N: w.opts.MaxFileSize + 1}
	tee := io.TeeReader(lr, h)
	rows, bad, perr := requestfile.Parse(tee)
	if _, err := io.Copy(io.Discard, tee); err != nil { // the rest, for the hash
		return nil, fmt.Errorf("bulkdir: read %s: %w", name, err)
	}
	after, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("bulkdir: %w", err)
	}
	if after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) || lr.N <= 0 {
		// Written to while read (lr.N: it grew past the limit): wait
		// until it is stable again.
		w.seen[name] = sighting{after.Size(), after.ModTime()}
		return nil, nil
	}
	st.SHA256 = hex.EncodeToString(h.Sum(nil))
	if pe := (*fs.PathError)(nil); errors.As(perr, &pe) {
		return nil, fmt.Errorf("bulkdir: %w", perr) // the disk, not the file: try again
	}
	if perr != nil {
		st.FileError = strings.TrimPrefix(perr.Error(), "requestfile: ")
		return st, nil
	}
	st.Rows = w.rows(name, rows, bad)
	return st, nil
}

func tooLarge(size, limit int64) string {
	l := fmt.Sprintf("%d bytes", limit)
	if limit >= 1<<20 && limit%(1<<20) == 0 {
		l = fmt.Sprintf("%d MiB", limit>>20)
	}
	return fmt.Sprintf("the file is %d bytes; the limit is %s: split it into smaller files", size, l)
}
