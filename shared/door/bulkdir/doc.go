// Package bulkdir is raprov's scheduled bulk door: request files (CSV or
// JSON lines, as shared/requestfile reads them) dropped in an inbox are
// picked up on a schedule, submitted row by row, followed in the ledger
// and, once every request of a file has ended, moved to processed/ beside
// a result report. docs/bulk.md is the operator's reference.
//
// The package knows no transport and no SDK. It works over three ports: a
// Store that holds the files (Folder, a local folder, here; s3store.Store,
// a bucket prefix, in the subpackage), a submission.Submitter that queues
// requests for intake and a ledger.Ledger it reads outcomes from. The
// scanner is one implementation over them. Two entry points run it: a
// Watcher's Run polls every Interval (raprov serve --watch), ScanOnce makes
// one pass and returns (a Lambda function on an EventBridge schedule).
// Wiring lives in cmd/raprov and functions/.
//
// # One file, from drop to processed/
//
//  1. A file is a candidate when its name ends in .csv, .jsonl or .ndjson
//     (any case), does not start with '.', and it is directly in the inbox
//     (Store.List). In a folder, subfolders, symbolic links, devices and
//     pipes are ignored, and all file access goes through an os.Root on the
//     folder, so nothing outside it is ever opened, even if a name is
//     swapped for a link while it is read.
//  2. It is read only once it is complete (File.Complete). In a folder its
//     size and modification time must be the same on two passes in a row;
//     writers that can should write to a dotfile and rename it into place.
//     An S3 object is complete as soon as it is listed.
//  3. A file larger than Options.MaxFileSize, or one requestfile cannot read
//     as a whole (UTF-16, an unknown column, ...), is not submitted: it goes
//     to processed/ with a report of one line giving the reason.
//  4. Rows requestfile cannot read, and rows that cannot be given a request
//     id or refused by Options.Check, are "invalid" and are not submitted;
//     every other row is, under its own requestId or under Options.ID's
//     (file name + userPrincipalName, and the action of a deprovision row,
//     by default: see RowID). A row's action (provision or deprovision,
//     requestfile's action column) goes with it to intake, and its report
//     line says it.
//  5. The rows, their ids and where each stands are kept in a state
//     (.raprov/<name>.json in the store), written atomically before and
//     after every submission, so a restarted watcher, or the next scheduled
//     run, carries on with the same ids. A crash between a submission and
//     the state write submits the same ids again: the Submitter answers
//     Duplicate and nothing is sent twice.
//  6. Each pass asks the ledger about every submitted request that has not
//     ended. When each row is completed, failed, invalid or refused
//     (duplicate-conflict), the report is written to
//     processed/<name>.report.csv, then the file is moved to
//     processed/<name> and its state removed. A name already taken in
//     processed/ gets a UTC timestamp before its extension.
//
// A file changed after it was read (another size, modification time or
// ETag) is read again once complete; when its content differs, the new
// content is submitted afresh: rows that did not change are Duplicates of
// their earlier submission, rows that did are refused as duplicate-conflict
// (same id, different request).
//
// # One pass at a time
//
// A pass holds the store's scan lock (Store.Lock) from start to end, so
// passes over one inbox never overlap, whichever processes make them: a
// pass that finds it held does nothing and reports Busy. A folder's lock is
// a flock, dropped by the system when its holder dies; an S3 lock is an
// object written with conditional requests, lost by its holder after
// Options.LockTTL or the pass's deadline, whichever comes first, and a pass
// stops there. Should the lock ever fail, two passes would submit the same
// rows under the same deterministic ids, which intake answers Duplicate:
// nothing is created twice.
//
// # Errors
//
// Scan returns an error only when the store cannot be locked or listed (or
// its deadline passes). A failure on one file (a submission error, a
// ledger error, a store error) is logged and returned in that file's
// FileReport; the file is tried again on the next pass, under the same
// request ids. Run never stops on errors; it returns when its context
// ends.
package bulkdir
