package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to dir/name with mode and returns its path.
func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode passes through the umask
		t.Fatal(err)
	}
	return path
}

func mustRun(t *testing.T, args ...string) {
	t.Helper()
	var stderr bytes.Buffer
	if err := run(args, &stderr); err != nil {
		t.Fatalf("lambdazip %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
}

func TestZipsBootstrapExecutable(t *testing.T) {
	dir := t.TempDir()
	const content = "\x7fELF pretend binary"
	in := writeFile(t, dir, "intake/bootstrap", content, 0o600)
	out := filepath.Join(dir, "intake.zip")
	mustRun(t, "-o", out, in)

	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		t.Fatalf("%d entries, want 1", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != "bootstrap" {
		t.Errorf("entry %q, want bootstrap", f.Name)
	}
	if m := f.Mode(); !m.IsRegular() || m.Perm() != 0o755 {
		t.Errorf("entry mode %v, want a regular file with 0755 (Lambda must execute it; the input was 0600)", m)
	}
	if !f.Modified.Equal(modTime) {
		t.Errorf("entry modified %v, want the fixed %v", f.Modified, modTime)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != content {
		t.Errorf("entry holds %q, want %q", got, content)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("archive mode %v (%v), want 0644", st.Mode(), err)
	}
}

// TestDeterministic zips the same content twice, the second time from a file
// with another name, mode and modification time: the archives must be
// byte-identical, and differ once the content does.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	content := strings.Repeat("raprov bootstrap ", 4096)
	a := writeFile(t, dir, "a/bootstrap", content, 0o755)
	b := writeFile(t, dir, "b/bootstrap", content, 0o700)
	if err := os.Chtimes(b, time.Now().Add(48*time.Hour), time.Now().Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	c := writeFile(t, dir, "c/bootstrap", content+"!", 0o755)

	zips := map[string]string{"a": a, "b": b, "c": c}
	bytesOf := map[string][]byte{}
	for key, in := range zips {
		out := filepath.Join(dir, key+".zip")
		mustRun(t, "-o", out, in)
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		bytesOf[key] = data
	}
	if !bytes.Equal(bytesOf["a"], bytesOf["b"]) {
		t.Error("the same content zipped to different bytes")
	}
	if bytes.Equal(bytesOf["a"], bytesOf["c"]) {
		t.Error("different content zipped to the same bytes")
	}

	// Zipping again over an existing archive gives the same bytes too.
	mustRun(t, "-o", filepath.Join(dir, "a.zip"), a)
	again, err := os.ReadFile(filepath.Join(dir, "a.zip"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, bytesOf["a"]) {
		t.Error("re-zipping changed the archive")
	}
}

func TestEntryName(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "build/raprov-intake", "x", 0o755)
	out := filepath.Join(dir, "intake.zip")
	mustRun(t, "-o", out, "-name", "bootstrap", in)
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Errorf("entries %v, want [bootstrap]", zr.File)
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "bootstrap", "x", 0o755)
	out := filepath.Join(dir, "out.zip")
	for name, args := range map[string][]string{
		"no output":       {in},
		"no input":        {"-o", out},
		"two inputs":      {"-o", out, in, in},
		"missing input":   {"-o", out, filepath.Join(dir, "nothing")},
		"directory input": {"-o", out, dir},
	} {
		t.Run(name, func(t *testing.T) {
			var stderr bytes.Buffer
			if err := run(args, &stderr); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("left %s behind (%v)", out, err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp")); len(left) > 0 {
				t.Errorf("left temporary files %v", left)
			}
		})
	}
}
