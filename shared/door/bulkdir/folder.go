package bulkdir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Folders inside a Folder's Dir (and, under its prefix, in an S3 store).
const (
	StateDir     = ".raprov"
	ProcessedDir = "processed"
)

// lockName is the scan lock's file in StateDir.
const lockName = "scan.lock"

// Folder is a Store on a local folder: the inbox is the folder itself,
// states are in .raprov/<name>.json, processed files in processed/ and the
// scan lock is an advisory lock (flock) on .raprov/scan.lock, which the
// system drops when its process dies.
//
// Every access goes through an os.Root on the folder, so nothing outside
// it is ever opened, written or moved, even if a name is swapped for a
// link meanwhile. List skips symbolic links, subfolders, devices and
// pipes; Open does not block on a FIFO swapped in after List and refuses
// anything but a regular file.
//
// A folder shows files while they are copied in: a file is Complete once
// List has seen the same size and modification time twice in a row.
// Folder remembers what it saw, so keep one Folder per folder.
type Folder struct {
	dir string

	mu   sync.Mutex
	seen map[string]sighting // name → what the last List saw
}

// sighting is a file's size and modification time on one List.
type sighting struct {
	size  int64
	mtime time.Time
}

// NewFolder returns the Store of dir, which must be an existing folder.
func NewFolder(dir string) (*Folder, error) {
	if dir == "" {
		return nil, errors.New("bulkdir: no folder")
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("bulkdir: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("bulkdir: %s is not a folder", dir)
	}
	return &Folder{dir: dir, seen: map[string]sighting{}}, nil
}

// Dir returns the folder.
func (d *Folder) Dir() string { return d.dir }

func (d *Folder) root() (*os.Root, error) {
	r, err := os.OpenRoot(d.dir)
	if err != nil {
		return nil, fmt.Errorf("bulkdir: %w", err)
	}
	return r, nil
}

// List implements Store.
func (d *Folder) List(context.Context) ([]File, error) {
	root, err := d.root()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	dh, err := root.Open(".")
	if err != nil {
		return nil, fmt.Errorf("bulkdir: %w", err)
	}
	names, err := dh.Readdirnames(-1)
	dh.Close()
	if err != nil {
		return nil, fmt.Errorf("bulkdir: list %s: %w", d.dir, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var files []File
	present := map[string]bool{}
	for _, name := range names {
		if !Candidate(name) {
			continue
		}
		fi, err := root.Lstat(name)
		if err != nil || !fi.Mode().IsRegular() {
			continue // symbolic links, folders, devices, pipes; or gone
		}
		present[name] = true
		now := sighting{fi.Size(), fi.ModTime()}
		prev, ok := d.seen[name]
		d.seen[name] = now
		files = append(files, File{Name: name, Size: now.size, ModTime: now.mtime,
			Complete: ok && prev.size == now.size && prev.mtime.Equal(now.mtime)})
	}
	for name := range d.seen {
		if !present[name] {
			delete(d.seen, name)
		}
	}
	return files, nil
}

// Open implements Store.
func (d *Folder) Open(_ context.Context, f File) (io.ReadCloser, error) {
	root, err := d.root()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// Non-blocking: a FIFO swapped in after List must not hang the pass in
	// open; the handle's own Stat then refuses it.
	fh, err := root.OpenFile(f.Name, os.O_RDONLY|openNonBlocking, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrChanged
	}
	if err != nil {
		return nil, fmt.Errorf("bulkdir: %w", err)
	}
	if fi, err := fh.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Size() != f.Size || !fi.ModTime().Equal(f.ModTime) {
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("bulkdir: %w", err)
		}
		return nil, ErrChanged
	}
	return &folderReader{d: d, fh: fh, want: f}, nil
}

// folderReader reads a file of a Folder and tells, at its end, whether it
// changed while read.
type folderReader struct {
	d    *Folder
	fh   *os.File
	want File
	once sync.Once
}

func (r *folderReader) Read(p []byte) (int, error) {
	n, err := r.fh.Read(p)
	if err == io.EOF {
		fi, serr := r.fh.Stat()
		if serr != nil {
			return n, serr
		}
		if fi.Size() != r.want.Size || !fi.ModTime().Equal(r.want.ModTime) {
			return n, ErrChanged
		}
	}
	return n, err
}

// Close records what the file looks like now as its last sighting, so a
// file written to while read counts as complete once it stays so until
// the next List.
func (r *folderReader) Close() error {
	r.once.Do(func() {
		if fi, err := r.fh.Stat(); err == nil {
			r.d.mu.Lock()
			if _, ok := r.d.seen[r.want.Name]; ok {
				r.d.seen[r.want.Name] = sighting{fi.Size(), fi.ModTime()}
			}
			r.d.mu.Unlock()
		}
	})
	return r.fh.Close()
}

func statePath(name string) string { return StateDir + "/" + name + ".json" }

// LoadState implements Store.
func (d *Folder) LoadState(_ context.Context, name string) ([]byte, error) {
	root, err := d.root()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	fh, err := root.OpenFile(statePath(name), os.O_RDONLY|openNonBlocking, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bulkdir: state: %w", err)
	}
	defer fh.Close()
	if fi, err := fh.Stat(); err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("bulkdir: state %s is not a regular file", statePath(name))
	}
	b, err := io.ReadAll(fh)
	if err != nil {
		return nil, fmt.Errorf("bulkdir: state: %w", err)
	}
	return b, nil
}

// SaveState implements Store.
func (d *Folder) SaveState(_ context.Context, name string, data []byte) error {
	root, err := d.root()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(StateDir, 0o700); err != nil {
		return fmt.Errorf("bulkdir: %w", err)
	}
	if err := writeAtomic(root, statePath(name), data); err != nil {
		return fmt.Errorf("bulkdir: state: %w", err)
	}
	return nil
}

// RemoveState implements Store.
func (d *Folder) RemoveState(_ context.Context, name string) error {
	root, err := d.root()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.Remove(statePath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("bulkdir: %w", err)
	}
	return nil
}

// States implements Store.
func (d *Folder) States(context.Context) ([]string, error) {
	root, err := d.root()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	dh, err := root.Open(StateDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bulkdir: %w", err)
	}
	entries, err := dh.Readdirnames(-1)
	dh.Close()
	if err != nil {
		return nil, fmt.Errorf("bulkdir: %w", err)
	}
	var names []string
	for _, n := range entries {
		if name, ok := strings.CutSuffix(n, ".json"); ok && Candidate(name) {
			names = append(names, name)
		}
	}
	return names, nil
}

// Taken implements Store.
func (d *Folder) Taken(_ context.Context, name string) (bool, error) {
	root, err := d.root()
	if err != nil {
		return false, err
	}
	defer root.Close()
	_, err = root.Lstat(ProcessedDir + "/" + name)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	default:
		return false, fmt.Errorf("bulkdir: %w", err)
	}
}

// WriteProcessed implements Store.
func (d *Folder) WriteProcessed(_ context.Context, name string, data []byte) error {
	root, err := d.root()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(ProcessedDir, 0o755); err != nil {
		return fmt.Errorf("bulkdir: %w", err)
	}
	if err := writeAtomic(root, ProcessedDir+"/"+name, data); err != nil {
		return fmt.Errorf("bulkdir: %w", err)
	}
	return nil
}

// Move implements Store: a rename within the folder.
func (d *Folder) Move(_ context.Context, f File, target string) error {
	root, err := d.root()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(ProcessedDir, 0o755); err != nil {
		return fmt.Errorf("bulkdir: %w", err)
	}
	// The file must still be the one listed: a file replaced meanwhile is
	// read again instead.
	now, err := root.Lstat(f.Name)
	if errors.Is(err, fs.ErrNotExist) {
		return ErrChanged
	}
	if err != nil {
		return fmt.Errorf("bulkdir: %w", err)
	}
	if !now.Mode().IsRegular() || now.Size() != f.Size || !now.ModTime().Equal(f.ModTime) {
		return ErrChanged
	}
	if err := root.Rename(f.Name, ProcessedDir+"/"+target); err != nil {
		return fmt.Errorf("bulkdir: move %s: %w", f.Name, err)
	}
	d.mu.Lock()
	delete(d.seen, f.Name) // a file dropped again under its name is new
	d.mu.Unlock()
	return nil
}

// Lock implements Store with flock(2), which needs no ttl: the system
// drops the lock of a process that dies.
func (d *Folder) Lock(context.Context, time.Duration) (func(), error) {
	root, err := d.root()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := root.MkdirAll(StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("bulkdir: %w", err)
	}
	fh, err := root.OpenFile(StateDir+"/"+lockName, os.O_RDWR|os.O_CREATE|openNonBlocking, 0o600)
	if err != nil {
		return nil, fmt.Errorf("bulkdir: lock: %w", err)
	}
	if fi, err := fh.Stat(); err != nil || !fi.Mode().IsRegular() {
		fh.Close()
		return nil, fmt.Errorf("bulkdir: lock %s/%s is not a regular file", StateDir, lockName)
	}
	if err := tryLock(fh); err != nil {
		fh.Close()
		if errors.Is(err, ErrBusy) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("bulkdir: lock: %w", err)
	}
	var once sync.Once
	return func() { once.Do(func() { fh.Close() }) }, nil
}

// writeAtomic writes a file under root through a dotfile beside it, synced
// and renamed into place.
func writeAtomic(root *os.Root, path string, data []byte) error {
	dir, base := filepath.Split(path)
	tmp := dir + ".tmp-" + base
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, path)
	}
	if err != nil {
		_ = root.Remove(tmp)
	}
	return err
}
