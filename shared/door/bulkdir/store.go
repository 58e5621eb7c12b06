package bulkdir

import (
	"context"
	"errors"
	"io"
	"time"
)

// Store is where a Watcher finds request files and keeps its own: the
// inbox, one state per file, processed/ and a scan lock. Folder (a local
// folder) and s3store.Store (a bucket prefix) implement it;
// bulkdirtest.StoreContract is what every implementation must pass.
//
// Names are file names in the inbox or in processed/: no folder, never
// empty, never starting with '.'.
type Store interface {
	// List returns the request files directly in the inbox (regular
	// files whose names pass Candidate), in any order.
	List(ctx context.Context) ([]File, error)
	// Open streams f's content. Open, or the reader's Read, fails with
	// ErrChanged when the file is no longer the one listed as f.
	Open(ctx context.Context, f File) (io.ReadCloser, error)

	// LoadState returns the state saved for name, or nil and no error
	// when it has none.
	LoadState(ctx context.Context, name string) ([]byte, error)
	// SaveState replaces name's state, atomically: a reader sees the old
	// state or the new one, never a mix.
	SaveState(ctx context.Context, name string, data []byte) error
	// RemoveState removes name's state; a missing state is no error.
	RemoveState(ctx context.Context, name string) error
	// States returns the names that have a state, in any order.
	States(ctx context.Context) ([]string, error)

	// Taken reports whether processed/name exists.
	Taken(ctx context.Context, name string) (bool, error)
	// WriteProcessed writes processed/name (a report), replacing any.
	WriteProcessed(ctx context.Context, name string, data []byte) error
	// Move moves f to processed/target, replacing any. It fails with
	// ErrChanged, and moves nothing, when the file is no longer f.
	Move(ctx context.Context, f File, target string) error

	// Lock takes the store's scan lock, which keeps passes over the same
	// inbox from overlapping, in this process or another: it fails with
	// ErrBusy while another holder has it. A holder that dies without
	// unlocking loses it after ttl at the latest (sooner where the store
	// can tell). unlock releases it; it may be called more than once.
	Lock(ctx context.Context, ttl time.Duration) (unlock func(), err error)
}

// File is a request file as a Store lists it.
type File struct {
	Name    string // in the inbox, no folder
	Size    int64
	ModTime time.Time
	// ETag tells two contents of the same name apart where the store
	// keeps one (S3); "" in a folder.
	ETag string
	// Complete is false while the file may still be being written: a
	// folder shows files as they are copied in, so Folder calls a file
	// complete once it has not changed since its previous List. An S3
	// object is visible only once whole.
	Complete bool
}

// Errors of a Store.
var (
	// ErrChanged: the file is no longer the one listed (rewritten,
	// replaced or gone).
	ErrChanged = errors.New("bulkdir: the file changed")
	// ErrBusy: another pass holds the store's scan lock.
	ErrBusy = errors.New("bulkdir: another pass holds the scan lock")
)

// DefaultLockTTL is Options.LockTTL when zero: the longest a Lambda
// function runs.
const DefaultLockTTL = 15 * time.Minute

// sameFile reports whether f is still the file a state was read from.
func (st *state) sameFile(f File) bool {
	return st.Size == f.Size && st.ModTime.Equal(f.ModTime) && st.ETag == f.ETag
}
