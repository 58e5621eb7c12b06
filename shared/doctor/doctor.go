package doctor

import (
	"context"
	"fmt"
	"net/url"

	"github.com/raprov/raprov/shared/steps"
)

// Status is the outcome of one check.
type Status int

// Statuses, mildest first.
const (
	OK Status = iota
	// Skip: the check did not run (a prerequisite failed, or the app's
	// permissions do not allow its read); the summary says why.
	Skip
	Warn
	Fail
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Skip:
		return "skip"
	case Warn:
		return "warn"
	case Fail:
		return "fail"
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Result is the outcome of one check.
type Result struct {
	Check  string `json:"check"`
	Status Status `json:"status"`
	// Summary is one line: what was seen.
	Summary string `json:"summary"`
	// Action is what to do about a warning or failure.
	Action string `json:"action,omitempty"`
	// Details are further lines: what was read and answered.
	Details []string `json:"details,omitempty"`
}

// Exit codes of Report.Exit (and of `raprov doctor`).
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitConfig      = 3 // configuration or credentials unusable
	ExitUnreachable = 4 // Microsoft could not be reached
)

// Report is the outcome of every check.
type Report struct {
	Results []Result `json:"results"`
	Exit    int      `json:"exitCode"`
}

// Setup is what the doctor is told about the configuration: endpoints and
// names, never a secret.
type Setup struct {
	TenantID, ClientID string
	// Credential describes the credential kind, e.g. "client secret" or
	// "certificate /path/app.pem"; never its value.
	Credential string
	// Cloud is the RAPROV_CLOUD name (package cloud; "" is public).
	Cloud string
	// TeamsAuth describes how the Teams admin back end is called: "app"
	// (the app's credential) or "delegated …" (an admin signed in with
	// raprov login).
	TeamsAuth     string
	AuthorityHost string
	GraphBaseURL  string
	GraphScope    string
	TeamsBaseURL  string
	TeamsScope    string
	TeamsListPath string
	TeamsGetPath  string
	TeamsLookup   string // "get" or "list"
	// SkuPartNumber is the resource-account license (RAPROV_SKU_PART_NUMBER).
	SkuPartNumber string
	// OwnerAttribute is the extensionAttribute number (1–15) of the
	// ownership mark (RAPROV_GRAPH_OWNER_ATTRIBUTE).
	OwnerAttribute int
	// VerifiedDomains are the configured RAPROV_VERIFIED_DOMAINS.
	VerifiedDomains []string
	// Simulator is set when the endpoints are raprov's Graph simulator.
	Simulator bool
	// Err is why the configuration cannot be used; set, every check but
	// the first is skipped and the exit code is ExitConfig.
	Err error
}

// Graph is the read-only port to Microsoft Graph (shared/graph.Client).
type Graph interface {
	// AccessToken returns a token for scope from the app's credential; an
	// apperr Forbidden error when the credentials are refused,
	// Unavailable when the token endpoint cannot be reached.
	AccessToken(ctx context.Context, scope string) (string, error)
	// Read sends GET path?query (path relative to the version segment) and
	// returns the status and body of any answer; err only without one.
	Read(ctx context.Context, path string, query url.Values) (int, []byte, error)
}

// Teams is the read-only port to the Teams admin back end
// (shared/teamsadmin.Client). Each probe is one request; status is 0 when
// there was no answer.
type Teams interface {
	// AccessToken returns the token the back end's calls carry (the app's,
	// or a signed-in admin's); errors as Graph.AccessToken's.
	AccessToken(ctx context.Context) (string, error)
	// ListOne reads the first page of the list route with pageSize 1.
	ListOne(ctx context.Context) (int, []steps.ApplicationInstance, error)
	// GetOne reads the get route for objectID.
	GetOne(ctx context.Context, objectID string) (int, *steps.ApplicationInstance, error)
}

// Run runs every check in order and returns the report. It only reads.
func Run(ctx context.Context, s Setup, g Graph, t Teams) Report {
	r := &run{s: s, g: g, t: t}
	r.config()
	if r.configBad {
		for _, name := range []string{checkTokens, checkLicense, checkTeams, checkNumbers, checkOwner, checkDomains} {
			r.add(Result{Check: name, Status: Skip, Summary: "not run: the configuration cannot be used"})
		}
		return r.report()
	}
	r.tokens(ctx)
	r.license(ctx)
	r.teams(ctx)
	r.numbers(ctx)
	r.owner(ctx)
	r.domains(ctx)
	return r.report()
}

// Check names, in the order they run.
const (
	checkConfig  = "configuration"
	checkTokens  = "tokens"
	checkLicense = "license"
	checkTeams   = "teams admin"
	checkNumbers = "numbers"
	checkOwner   = "owner attribute"
	checkDomains = "verified domains"
)

// run is one doctor run's state.
type run struct {
	s Setup
	g Graph
	t Teams

	results []Result

	configBad   bool // configuration unusable
	credsBad    bool // a token request was refused
	unreachable bool // Microsoft did not answer

	graphToken bool     // a Graph token was obtained
	teamsToken bool     // a Teams admin token was obtained
	rolesKnown bool     // roles holds the Graph token's roles claim
	roles      []string // application permissions of the Graph token
}

func (r *run) add(res Result) { r.results = append(r.results, res) }

func (r *run) report() Report {
	rep := Report{Results: r.results}
	failed := false
	for _, res := range r.results {
		failed = failed || res.Status == Fail
	}
	switch {
	case r.configBad || r.credsBad:
		rep.Exit = ExitConfig
	case r.unreachable:
		rep.Exit = ExitUnreachable
	case failed:
		rep.Exit = ExitFailed
	default:
		rep.Exit = ExitOK
	}
	return rep
}
