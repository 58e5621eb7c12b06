package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"

	"github.com/spf13/cobra"

	"github.com/raprov/raprov/shared/doctor"
	"github.com/raprov/raprov/shared/graph"
	"github.com/raprov/raprov/shared/teamsadmin"
)

func newDoctorCmd() *cobra.Command {
	s, err := loadSettings()
	// The doctor logs nowhere unless asked: it is run by hand, and its
	// report is the output.
	if _, set := os.LookupEnv("RAPROV_LOG_FILE"); !set {
		s.LogFile = ""
	}
	var capture string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check a tenant read-only before a run: tokens and permissions, license, Teams admin routes, numbers, owner attribute",
		Long: `doctor checks the tenant RAPROV_GRAPH_* and RAPROV_TEAMS_ADMIN_* point at (or the
simulator at --graph-url) without changing anything: it sends only GET requests
and token requests, and refuses any other request before it is sent.

Checks, each reported as ok, warn, fail or skip with what to do:
  configuration     cloud, endpoints, credential kind (never its value)
  tokens            a token per audience; their roles and wids against docs/permissions.md
  license           RAPROV_SKU_PART_NUMBER: capability status and free seats
  teams admin       the list route (one page, pageSize 1) and the get route for the listed instance
  numbers           one page of the telephone number inventory
  owner attribute   a sample of resource accounts: values in RAPROV_GRAPH_OWNER_ATTRIBUTE that are not raprov marks
  verified domains  GET /organization, when the app's permissions allow it

--capture FILE writes every request made and its answer as JSON for a bug
report (tokens and secrets redacted, ids and names pseudonymised).

Exit status: 0 no check failed, 1 a check failed, 3 the configuration or the
credentials are unusable, 4 Microsoft could not be reached.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDoctor(cmd.Context(), s, err, capture, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&s.GraphURL, "graph-url", s.GraphURL, "check a running Graph simulator at this URL (RAPROV_GRAPH_URL)")
	f.StringVar(&s.GraphCA, "graph-ca", s.GraphCA, "PEM certificate of that simulator (RAPROV_GRAPH_CA)")
	f.StringVar(&capture, "capture", "", "write every request made and its answer (redacted) to this JSON file")
	f.StringVar(&s.LogLevel, "log-level", s.LogLevel, "log level: debug, info, warn, error (RAPROV_LOG_LEVEL)")
	f.StringVar(&s.LogFile, "log-file", s.LogFile, `JSON log file, "-" for stderr (RAPROV_LOG_FILE; default: no log)`)
	return cmd
}

// runDoctor runs the checks, prints the report, writes the capture and
// returns the report's exit code.
func runDoctor(ctx context.Context, s settings, loadErr error, capturePath string, out, errOut io.Writer) error {
	log := slog.New(slog.DiscardHandler)
	if s.LogFile != "" && loadErr == nil {
		l, closer, err := s.logger()
		if err != nil {
			return err
		}
		defer closer.Close()
		log = l
	}
	setup, m, rec := doctorConnect(s, loadErr, log)
	var rep doctor.Report
	if m != nil {
		rep = doctor.Run(ctx, setup, m.graph, m.teams)
	} else {
		rep = doctor.Run(ctx, setup, nil, nil)
	}
	if err := doctor.Render(out, rep); err != nil {
		return err
	}
	if capturePath != "" {
		if err := writeCapture(capturePath, rec, setup, rep); err != nil {
			fmt.Fprintln(errOut, "raprov doctor: capture:", err)
			if rep.Exit == doctor.ExitOK {
				return exitCode(doctor.ExitFailed)
			}
		} else {
			fmt.Fprintf(out, "requests and answers written to %s (tokens redacted, ids pseudonymised)\n", capturePath)
		}
	}
	if rep.Exit != doctor.ExitOK {
		return exitCode(rep.Exit)
	}
	return nil
}

func writeCapture(path string, rec *doctor.Recorder, setup doctor.Setup, rep doctor.Report) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if err := rec.WriteCapture(f, setup, rep); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// doctorConnect builds the adapters as run does (simulatorConfig for
// --graph-url, else microsoftConfig), with every request going through the
// doctor's read-only Recorder. A configuration that cannot be used is
// returned as Setup.Err with a nil *microsoft.
func doctorConnect(s settings, loadErr error, log *slog.Logger) (doctor.Setup, *microsoft, *doctor.Recorder) {
	setup := doctor.Setup{SkuPartNumber: s.Steps.SkuPartNumber, VerifiedDomains: s.Steps.VerifiedDomains}
	rec := doctor.NewRecorder(nil)
	if loadErr != nil {
		setup.Err = loadErr
		return setup, nil, rec
	}
	var gc graph.Config
	var tc teamsadmin.Config
	var base http.RoundTripper
	switch {
	case s.GraphURL != "":
		var hc *http.Client
		var err error
		if gc, tc, hc, err = simulatorConfig(s); err != nil {
			setup.Err = err
			return setup, nil, rec
		}
		base = hc.Transport
		setup.Simulator = true
	case os.Getenv("RAPROV_GRAPH_TENANT_ID") != "":
		var err error
		if gc, tc, err = microsoftConfig(); err != nil {
			setup.Err = err
			return setup, nil, rec
		}
	default:
		setup.Err = errors.New("no tenant configured: RAPROV_GRAPH_TENANT_ID is not set and --graph-url names no simulator")
		return setup, nil, rec
	}
	describe(&setup, gc, tc)
	rec = doctor.NewRecorder(base)
	m, err := connect(gc, tc, &http.Client{Transport: rec}, log)
	if err != nil {
		setup.Err = err
		return setup, nil, rec
	}
	return setup, m, rec
}

// describe fills the setup's endpoints and names from the adapters'
// configuration, defaults applied as the adapters apply them.
func describe(setup *doctor.Setup, gc graph.Config, tc teamsadmin.Config) {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	setup.TenantID, setup.ClientID = gc.TenantID, gc.ClientID
	switch {
	case gc.CertificatePath != "":
		setup.Credential = "certificate " + gc.CertificatePath
	case gc.ClientSecret != "":
		setup.Credential = "client secret"
	default:
		setup.Credential = "no credential"
	}
	setup.AuthorityHost = or(gc.AuthorityHost, graph.DefaultAuthorityHost)
	setup.GraphBaseURL = or(gc.BaseURL, graph.DefaultBaseURL)
	setup.GraphScope = or(gc.Scope, graph.DefaultScope)
	setup.OwnerAttribute = gc.OwnerAttribute
	if setup.OwnerAttribute == 0 {
		setup.OwnerAttribute = graph.DefaultOwnerAttribute
	}
	setup.Cloud = tc.Cloud
	setup.TeamsAuth = tc.Auth
	if tc.Delegated() {
		setup.TeamsAuth = "the admin signed in with raprov login (" + tc.TokenFile + ")"
	}
	setup.TeamsBaseURL, setup.TeamsScope = tc.BaseURL, tc.Scope
	setup.TeamsListPath, setup.TeamsGetPath, setup.TeamsLookup = tc.ListPath, tc.GetPath, tc.Lookup
}
