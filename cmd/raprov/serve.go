package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/events/validate"
	"github.com/raprov/raprov/shared/door/bulkdir"
	"github.com/raprov/raprov/shared/door/httpapi"
	"github.com/raprov/raprov/shared/door/statuspage"
	"github.com/raprov/raprov/shared/door/tenantreads"
	"github.com/raprov/raprov/shared/dryrun"
	"github.com/raprov/raprov/shared/embedded"
	"github.com/raprov/raprov/shared/ledger"
	"github.com/raprov/raprov/shared/submission"
	"github.com/raprov/raprov/shared/transport/local"
)

func newServeCmd() *cobra.Command {
	s, err := loadSettings()
	f := runFlags{serve: true, listen: "127.0.0.1:8080", seedUnits: -1}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the chain and its HTTP doors until interrupted: POST /requests, POST /senders/{servicenow,workday}, GET /requests[/{id}], DELETE /requests/{id}",
		Long: `serve runs every step on the embedded default, as run --serve does, and
answers HTTP on --listen: signed requests (HMAC-SHA256 with a timestamp,
keys in RAPROV_INTAKE_KEYS) as CloudEvents, plain JSON or batches, the
payloads of ServiceNow catalog requests and Workday events, the status of
requests, and DELETE /requests/{id}, which removes the account a
provisioning request created. A POST whose requests say "dryRun": true is
planned from reads of the tenant and answered with the plan, nothing
queued, when serve reaches Graph itself (RAPROV_GRAPH_TENANT_ID or
--graph-url). See docs/http.md, docs/senders.md and docs/dry-run.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err != nil {
				return err
			}
			return runChain(cmd.Context(), s, f, nil, cmd.OutOrStdout())
		},
	}
	s.bindChain(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", f.listen, "address of the HTTP doors")
	fl.StringVar(&f.watch, "watch", s.BulkDir, "folder of scheduled bulk files (CSV, JSON lines) to provision, see docs/bulk.md (RAPROV_BULK_DIR)")
	fl.DurationVar(&f.watchEvery, "watch-interval", bulkdir.DefaultInterval, "how often --watch is scanned")
	return cmd
}

// doorTokens keeps what the doors remember until it expires: the API's
// signatures and the status page's logged-out sessions (local.Store).
type doorTokens interface {
	Signatures() *local.Tokens
	Revocations() *local.Tokens
}

// serveHTTP answers the HTTP doors and the status page on addr for the
// chain until ctx ends. m is the tenant the chain works on: dry runs and
// DELETE's account check read it. tokens keeps the signatures and
// logged-out sessions across restarts.
func serveHTTP(ctx context.Context, s settings, m *microsoft, addr string, chain *embedded.Chain, ops opsHost, tokens doorTokens, log *slog.Logger, out io.Writer) error {
	l := ops.Ledger()
	planner, accounts := tenantReads(m, s)
	senders, err := httpapi.SendersWith(s.SenderMappings)
	if err != nil {
		return configError(fmt.Errorf("RAPROV_SENDER_MAPPINGS: %w", err))
	}
	senderKeys, err := httpapi.ParseSenderKeys(s.SenderKeys)
	if err != nil {
		return configError(fmt.Errorf("RAPROV_SENDER_KEYS: %w", err))
	}
	api, err := httpapi.New(httpapi.Options{
		Submitter:  chainSubmitter(chain),
		Ledger:     l,
		Keys:       s.IntakeKeys,
		Normalize:  validate.Normalizer(validate.Options{VerifiedDomains: s.Steps.VerifiedDomains, CallbackAllowedHosts: s.Steps.CallbackAllowedHosts}),
		AllowAdopt: s.Steps.AllowAdopt,
		Senders:    senders,
		Logger:     log,
		Planner:    planner,
		Accounts:   accounts,
		Signatures: tokens.Signatures(),
		SenderKeys: senderKeys,
	})
	if err != nil {
		return configError(fmt.Errorf("RAPROV_INTAKE_KEYS, RAPROV_SENDER_KEYS: %w", err))
	}
	dl := ops.DeadLetters()
	page, err := statuspage.New(statuspage.Options{
		Ledger: l, DeadLetters: dl, Keys: s.IntakeKeys, Logger: log, SecureCookies: s.SecureCookies,
		Revocations: tokens.Revocations(),
		Replay: func(ctx context.Context, id string) error {
			d, err := dl.Get(ctx, id)
			if err != nil {
				return err
			}
			body, err := replayBody(d.Body)
			if err != nil {
				return err
			}
			return dl.Requeue(ctx, id, body)
		},
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	for _, p := range []string{"/requests", "/requests/", "/senders/"} {
		mux.Handle(p, api)
	}
	page.Mount(mux)
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	fmt.Fprintf(out, "raprov: serving on http://%s (POST /requests, POST /senders/{servicenow,workday}, GET /requests, DELETE /requests/{id}; status page at /); Ctrl-C stops\n", lis.Addr())
	select {
	case <-ctx.Done():
	case err := <-done:
		return err
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// tenantReads gives the HTTP door its reads of the tenant the chain works
// on (Microsoft, a simulator at --graph-url or the in-process one, through
// the chain's adapters and budget): the planner of POST /requests with
// "dryRun": true, and the check of the account a DELETE /requests/{id}
// names. Without a tenant it returns nils: dry runs are then answered 501
// and DELETE leaves the account check to the chain.
func tenantReads(m *microsoft, s settings) (httpapi.Planner, httpapi.Accounts) {
	if m == nil {
		return nil, nil
	}
	ports := dryrun.Ports{Licenses: m.graph, Accounts: m.graph, Numbers: m.graph, Teams: m.teams}
	return tenantreads.NewPlanner(ports, s.Steps.SkuPartNumber), tenantreads.NewAccounts(m.graph)
}

// chainSubmitter submits to the chain's intake.
func chainSubmitter(chain *embedded.Chain) submission.Submitter {
	return submission.SubmitterFunc(func(ctx context.Context, traceParent string, reqs []events.Request) ([]submission.Submitted, error) {
		return chain.Submit(ctx, traceParent, reqs...)
	})
}

// watchFolder provisions the bulk files dropped in f.watch until ctx ends.
func watchFolder(ctx context.Context, f runFlags, sub submission.Submitter, l ledger.Ledger, log *slog.Logger, out io.Writer) error {
	w, err := bulkdir.New(bulkdir.Options{Dir: f.watch, Submitter: sub, Ledger: l, Interval: f.watchEvery, Logger: log, AllowDeprovision: f.allowDeprovisionRows})
	if err != nil {
		return err
	}
	go func() {
		if err := w.Run(ctx); err != nil {
			log.Error("bulk folder stopped", "dir", f.watch, "error", err.Error())
		}
	}()
	fmt.Fprintf(out, "raprov: watching %s for bulk files every %s (results in %s)\n", safe(f.watch), f.watchEvery, safe(filepath.Join(f.watch, bulkdir.ProcessedDir)))
	return nil
}
