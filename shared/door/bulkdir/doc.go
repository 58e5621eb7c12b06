// Package bulkdir is raprov's scheduled bulk door on a local folder: request
// files (CSV or JSON lines, as shared/requestfile reads them) dropped in a
// folder are picked up on a schedule, submitted row by row, followed in the
// ledger and, once every request of a file has ended, moved to processed/
// beside a result report. docs/bulk.md is the operator's reference.
//
// The package knows no transport and no SDK. It works over two ports: a
// submission.Submitter that queues requests for intake and a ledger.Ledger
// it reads outcomes from. Wiring lives in cmd/raprov.
//
// # One file, from drop to processed/
//
//  1. A file is a candidate when its name ends in .csv, .jsonl or .ndjson
//     (any case), does not start with '.', and it is a regular file directly
//     in Dir: subfolders, symbolic links, devices and pipes are ignored. All
//     file access goes through an os.Root on Dir, so nothing outside Dir is
//     ever opened, even if a name is swapped for a link while it is read.
//  2. It is read only once it is complete: its size and modification time
//     must be the same on two polls in a row. Writers that can should write
//     to a dotfile and rename it into place.
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
//  5. The rows, their ids and where each stands are kept in a state file,
//     Dir/.raprov/<name>.json, written (atomically) before and after every
//     submission, so a restarted watcher carries on with the same ids. A
//     crash between a submission and the state write submits the same ids
//     again: the Submitter answers Duplicate and nothing is sent twice.
//  6. Each pass asks the ledger about every submitted request that has not
//     ended. When each row is completed, failed, invalid or refused
//     (duplicate-conflict), the report is written to
//     processed/<name>.report.csv, then the file is moved to
//     processed/<name> and its state file removed. A name already taken in
//     processed/ gets a UTC timestamp before its extension.
//
// A file changed after it was read (another size or modification time) is
// read again once stable; when its content differs, the new content is
// submitted afresh: rows that did not change are Duplicates of their
// earlier submission, rows that did are refused as duplicate-conflict (same
// id, different request).
//
// # Errors
//
// Scan returns an error only when Dir cannot be opened or listed. A failure
// on one file (a submission error, a ledger error, a disk error) is logged
// and returned in that file's FileReport; the file is tried again on the
// next pass, under the same request ids. Run never stops on errors; it
// returns when its context ends.
//
// One watcher per folder: two processes watching the same Dir would race on
// the state files.
package bulkdir
