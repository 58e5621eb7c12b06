//go:build !unix

package bulkdir

// openNonBlocking is 0 where opening a named pipe by path does not block.
const openNonBlocking = 0
