//go:build !unix

package bulkdir

import "os"

// openNonBlocking is 0 where opening a named pipe by path does not block.
const openNonBlocking = 0

// tryLock does nothing where there is no flock: passes of one process
// still never overlap (Watcher's mutex), but two processes on one folder
// are not kept apart.
func tryLock(*os.File) error { return nil }
