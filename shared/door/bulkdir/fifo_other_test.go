//go:build !unix

package bulkdir_test

import "errors"

func mkfifo(string) error { return errors.New("no FIFOs here") }
