//go:build unix

package bulkdir

import (
	"errors"
	"os"
	"syscall"
)

// openNonBlocking makes opening a FIFO return at once instead of waiting
// for a writer.
const openNonBlocking = syscall.O_NONBLOCK

// tryLock takes an exclusive advisory lock on f without waiting: ErrBusy
// when another open file holds it. The system drops it when f is closed,
// or when its process dies.
func tryLock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return ErrBusy
	}
	return err
}
