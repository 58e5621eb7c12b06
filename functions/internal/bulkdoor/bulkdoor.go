// Package bulkdoor is the intake function's scheduled bulk door (DESIGN §6:
// bulk via EventBridge Scheduler + S3): on each scheduled invocation
// (sqs.ScheduledBulkScan) it makes one pass of shared/door/bulkdir over the
// stack's bulk bucket prefix (s3store), submitting rows to the intake queue
// through the SQS submitter and following them in the DynamoDB ledger, as
// the HTTP door does. It runs inside intake because the scanner validates
// rows, and only intake links the phone-number library (DESIGN §9). Only
// intake imports it.
//
// Configuration (prefix RAPROV):
//
//	RAPROV_BULK_BUCKET                the bucket; unset: no bulk door, and a
//	                                  scheduled invocation is refused (ErrNoBulkDoor)
//	RAPROV_BULK_PREFIX                the inbox prefix ("" the whole bucket)
//	RAPROV_ALLOW_DEPROVISION_ROWS     files may carry deprovision rows
//
// An invocation answers a Summary: counts only, never a row's content nor a
// file's name.
package bulkdoor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/raprov/raprov/functions/internal/host"
	"github.com/raprov/raprov/functions/internal/s3host"
	"github.com/raprov/raprov/shared/door/bulkdir"
	"github.com/raprov/raprov/shared/door/bulkdir/s3store"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/submission"
	"github.com/raprov/raprov/shared/transport/sqs"
	"github.com/raprov/raprov/shared/transport/sqs/sqssubmit"
)

// Settings are the door's variables (prefix RAPROV).
type Settings struct {
	Bucket               string `envconfig:"BULK_BUCKET"`
	Prefix               string `envconfig:"BULK_PREFIX"`
	AllowDeprovisionRows bool   `envconfig:"ALLOW_DEPROVISION_ROWS"`
}

// ErrNoBulkDoor is the error of a scheduled invocation of a function
// without RAPROV_BULK_BUCKET.
var ErrNoBulkDoor = errors.New("bulkdoor: scheduled bulk scan refused: RAPROV_BULK_BUCKET is not set, so this deployment has no bulk door " +
	"(deploy the stack with the BulkBucketName parameter to enable it)")

// Margin is kept of the invocation's time after the pass: the pass (and the
// scan lock it holds) ends this long before the invocation's deadline, so
// the lock is released and the summary returned before Lambda ends it.
const Margin = 5 * time.Second

// Summary is a scheduled invocation's answer: what the pass saw and did,
// as counts over the files (bulkdir.Report).
type Summary struct {
	// Busy: another pass held the scan lock; this one did nothing.
	Busy bool `json:"busy"`
	// Files seen, and where they stand after the pass.
	Files     int `json:"files"`
	Waiting   int `json:"waiting"`
	Running   int `json:"running"`
	Processed int `json:"processed"`
	// Refused: files not submitted at all (bulkdir.FileReport.FileError).
	Refused int `json:"refused"`
	// Errors: files this pass stopped on; tried again on the next.
	Errors int `json:"errors"`
	// Rows over the files, as they stand after the pass.
	Rows      int `json:"rows"`
	Invalid   int `json:"invalid"`
	Pending   int `json:"pending"`
	Completed int `json:"completed"`
	Failed    int `json:"failed"`
	// This pass's submissions.
	Sent      int `json:"sent"`
	Duplicate int `json:"duplicate"`
	Conflict  int `json:"conflict"`
}

// Summarize counts a pass's report.
func Summarize(rep bulkdir.Report) Summary {
	s := Summary{Busy: rep.Busy, Files: len(rep.Files)}
	for _, f := range rep.Files {
		switch f.Status {
		case bulkdir.Waiting:
			s.Waiting++
		case bulkdir.Running:
			s.Running++
		case bulkdir.Processed:
			s.Processed++
		}
		if f.FileError != "" {
			s.Refused++
		}
		if f.Err != nil {
			s.Errors++
		}
		s.Rows += f.Rows
		s.Invalid += f.Invalid
		s.Pending += f.Pending
		s.Completed += f.Completed
		s.Failed += f.Failed
		s.Sent += f.Sent
		s.Duplicate += f.Duplicate
		s.Conflict += f.Conflict
	}
	return s
}

// Scanner returns the handler of the scheduled invocation: one
// bulkdir.ScanOnce over store, ended Margin before the invocation's
// deadline (bulkdir holds the scan lock for the earlier of opts.LockTTL and
// the context's deadline). A nil store refuses every invocation with
// ErrNoBulkDoor.
func Scanner(store bulkdir.Store, sub submission.Submitter, l ledger.Ledger, opts bulkdir.Options) sqs.Scheduled {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context) (any, error) {
		if store == nil {
			log.ErrorContext(ctx, "scheduled bulk scan refused", "reason", "RAPROV_BULK_BUCKET is not set")
			return nil, ErrNoBulkDoor
		}
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, dl.Add(-Margin))
			defer cancel()
		}
		start := time.Now()
		rep, err := bulkdir.ScanOnce(ctx, store, sub, l, opts)
		if err != nil {
			log.ErrorContext(ctx, "scheduled bulk scan failed", "error", err.Error())
			return nil, fmt.Errorf("bulkdoor: %w", err)
		}
		s := Summarize(rep)
		log.InfoContext(ctx, "scheduled bulk scan", "busy", s.Busy, "files", s.Files, "processed", s.Processed,
			"running", s.Running, "sent", s.Sent, "errors", s.Errors, "elapsed_ms", time.Since(start).Milliseconds())
		return s, nil
	}
}

// Connect builds the scheduled handler of the function h hosts from the
// environment: the S3 store of RAPROV_BULK_BUCKET / RAPROV_BULK_PREFIX (its
// client from s3host), the
// SQS submitter over h's sender and claims, h's ledger. Without a bucket
// it returns the handler that refuses (ErrNoBulkDoor), not an error: the
// function's other doors still serve.
func Connect(h *host.Host) (sqs.Scheduled, error) {
	var s Settings
	if err := envconfig.Process("RAPROV", &s); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	opts := bulkdir.Options{Logger: h.Log, AllowDeprovision: s.AllowDeprovisionRows}
	if s.Bucket == "" {
		return Scanner(nil, nil, nil, opts), nil
	}
	sub, err := sqssubmit.New(h.Sender, h.Claims)
	if err != nil {
		return nil, err
	}
	store, err := s3store.New(s3host.Client(h), s.Bucket, s.Prefix)
	if err != nil {
		return nil, fmt.Errorf("RAPROV_BULK_BUCKET: %w", err)
	}
	return Scanner(store, sub, h.Ledger, opts), nil
}
