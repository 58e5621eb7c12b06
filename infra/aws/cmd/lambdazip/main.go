// Command lambdazip packs one file into a zip archive for AWS Lambda:
//
//	lambdazip -o dist/intake.zip dist/intake/bootstrap
//
// The archive holds a single regular file, named after the input's base name
// (-name overrides it), with mode 0755 so Lambda can execute it. The archive
// is deterministic: the entry carries a fixed modification time and none of
// the input's own metadata, so the same binary always zips to the same bytes
// and `sam deploy` sees no change to upload. It writes a temporary file beside
// the output and renames it into place, so a failed run leaves no partial zip.
//
// It exists because the machines that build raprov need not have zip(1); the
// Makefile's package target runs it with `go run`.
package main

import (
	"archive/zip"
	"compress/flate"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// modTime is the modification time of every entry: the MS-DOS epoch, so
// nothing of the build's clock reaches the archive.
var modTime = time.Date(1980, time.January, 1, 0, 0, 0, 0, time.UTC)

// entryMode is the mode of the packed file: Lambda runs a custom runtime's
// bootstrap only if it is executable.
const entryMode os.FileMode = 0o755

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "lambdazip:", err)
		}
		os.Exit(2)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("lambdazip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "zip archive to write (required)")
	name := fs.String("name", "", "name of the entry in the archive (default: the input's base name)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lambdazip -o OUT.zip [-name ENTRY] FILE")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 1 {
		fs.Usage()
		return errors.New("need -o and exactly one input file")
	}
	in := fs.Arg(0)
	if *name == "" {
		*name = filepath.Base(in)
	}
	return zipFile(*out, in, *name)
}

// zipFile writes the archive out holding the regular file in as entry name.
func zipFile(out, in, name string) (err error) {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", in)
	}

	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := writeArchive(tmp, name, f); err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// writeArchive writes to w a zip archive of one regular file, name, holding what r
// reads, with mode 0755 and a fixed modification time.
func writeArchive(w io.Writer, name string, r io.Reader) error {
	zw := zip.NewWriter(w)
	// The smallest archive: it is uploaded once and unpacked at every cold
	// start, where fewer bytes are what counts.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: modTime}
	h.SetMode(entryMode)
	fw, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(fw, r); err != nil {
		return err
	}
	return zw.Close()
}
