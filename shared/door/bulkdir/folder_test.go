package bulkdir_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/raprov/raprov/shared/door/bulkdir"
	"github.com/raprov/raprov/shared/door/bulkdir/bulkdirtest"
)

func TestFolderStoreContract(t *testing.T) {
	bulkdirtest.StoreContract(t, func(t *testing.T) bulkdirtest.Harness {
		dir := t.TempDir()
		s, err := bulkdir.NewFolder(dir)
		if err != nil {
			t.Fatal(err)
		}
		path := func(p string) string { return filepath.Join(dir, filepath.FromSlash(p)) }
		return bulkdirtest.Harness{
			Store: s,
			Put: func(t testing.TB, p string, data []byte) {
				t.Helper()
				if err := os.MkdirAll(filepath.Dir(path(p)), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path(p), data, 0o644); err != nil {
					t.Fatal(err)
				}
			},
			Get: func(t testing.TB, p string) ([]byte, bool) {
				t.Helper()
				b, err := os.ReadFile(path(p))
				if errors.Is(err, fs.ErrNotExist) {
					return nil, false
				}
				if err != nil {
					t.Fatal(err)
				}
				return b, true
			},
			Delete: func(t testing.TB, p string) {
				t.Helper()
				if err := os.Remove(path(p)); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
}

// A FIFO or a link swapped in for a listed file is never read: Open does
// not block on the FIFO and does not follow the link out of the folder.
func TestFolderOpenSwapped(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret.csv")
	writeFile(t, outside, "userPrincipalName\nra@contoso.com\n")
	s, err := bulkdir.NewFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "a.csv")
	for _, swap := range []struct {
		name string
		do   func() error
	}{
		{"fifo", func() error { return mkfifo(path) }},
		{"link out", func() error { return os.Symlink(outside, path) }},
	} {
		t.Run(swap.name, func(t *testing.T) {
			writeFile(t, path, "userPrincipalName\nra@contoso.com\n")
			files, err := s.List(context.Background())
			if err != nil || len(files) != 1 {
				t.Fatalf("List = %v, %v", files, err)
			}
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			if err := swap.do(); err != nil {
				t.Skip(err)
			}
			defer os.Remove(path)
			rc, err := s.Open(context.Background(), files[0])
			if err == nil {
				rc.Close()
				t.Fatal("Open read what was swapped in")
			}
			if files, _ := s.List(context.Background()); len(files) != 0 {
				t.Fatalf("List lists %v", files)
			}
		})
	}
}
