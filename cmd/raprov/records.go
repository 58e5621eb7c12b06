package main

import "time"

// The JSON records of -o json and -o jsonl, one type per kind of line.
// Field names are part of raprov's interface for scripts: add fields, never
// rename or remove one. docs/cli.md documents every field; cli_golden_test.go
// holds their golden files. Fields marked omitempty are left out when they
// do not apply. Strings are the data as is: the JSON encoder, not
// termsafe, keeps them harmless on a terminal (jsonSafe).

// runRecord is one request of `raprov run`, in the file's line order.
type runRecord struct {
	RequestID string `json:"requestId,omitempty"` // absent only for a row that could not be read
	Line      int    `json:"line"`                // the row's first line in the file
	EndLine   int    `json:"endLine,omitempty"`   // the last line, when several were not read (outcome invalid)
	// Tenant is the Entra tenant id provisioned in: RAPROV_GRAPH_TENANT_ID,
	// absent against a simulator that does not set it.
	Tenant      string `json:"tenant,omitempty"`
	Account     string `json:"account,omitempty"`     // userPrincipalName
	AccountType string `json:"accountType,omitempty"` // autoAttendant or callQueue once normalised
	ObjectID    string `json:"objectId,omitempty"`    // Entra object id of the resource account, once created
	Number      string `json:"number,omitempty"`      // phone number: E.164 once intake normalised it
	// Outcome is completed, failed, or invalid (the row was not submitted:
	// it could not be read, repeats an earlier row, or is too large).
	Outcome    string `json:"outcome"`
	Reason     string `json:"reason,omitempty"`   // reason code of a failure (docs/reasons.md)
	Detail     string `json:"detail,omitempty"`   // what went wrong, for people
	Expected   string `json:"expected,omitempty"` // the row's expect column: completed or a reason code
	AsExpected bool   `json:"asExpected"`         // the request ended as expected
	DurationMs int64  `json:"durationMs"`         // from its first ledger entry to its last
}

// dryRunRecord is one row of `raprov run --dry-run`.
type dryRunRecord struct {
	Line        int    `json:"line"`
	EndLine     int    `json:"endLine,omitempty"`
	RequestID   string `json:"requestId,omitempty"`
	Account     string `json:"account,omitempty"`
	AccountType string `json:"accountType,omitempty"`
	// Verdict is create, continue (raprov's account of this request),
	// adopt, fail, or invalid (the row could not be read).
	Verdict      string `json:"verdict"`
	SameAsLine   int    `json:"sameAsLine,omitempty"`   // an earlier row of the same request: it runs once
	ObjectID     string `json:"objectId,omitempty"`     // the existing account a continue or adopt goes on with
	Number       string `json:"number,omitempty"`       // the requested number, E.164
	NumberStatus string `json:"numberStatus,omitempty"` // what the inventory says of it: free, ours, in use by …
	TakesSeat    bool   `json:"takesSeat"`              // it would assign a license
	LicenseWait  bool   `json:"licenseWait"`            // no seat free: check-license would wait
	SeatsBefore  int    `json:"seatsBefore"`            // free seats before this row, earlier rows counted
	SeatsAfter   int    `json:"seatsAfter"`
	Reason       string `json:"reason,omitempty"` // reason code it would fail with
	Detail       string `json:"detail,omitempty"`
	Expected     string `json:"expected,omitempty"`
	AsExpected   bool   `json:"asExpected"`
}

// statusRecord is one request of `raprov status`: the list's rows, and with
// a request id that request with its history.
type statusRecord struct {
	RequestID string    `json:"requestId"`
	Outcome   string    `json:"outcome"` // in_progress, completed or failed
	Step      string    `json:"step"`    // step of the latest ledger entry
	Type      string    `json:"type,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	Attempt   int       `json:"attempt"`
	Started   time.Time `json:"started"`
	Updated   time.Time `json:"updated"`
	Account   string    `json:"account,omitempty"`  // the request's userPrincipalName
	ObjectID  string    `json:"objectId,omitempty"` // the account's Entra object id, once known
	Action    string    `json:"action,omitempty"`   // "deprovision" on a deprovision request
	// Queue is, for a request in progress, the queue its latest event waits
	// in, or was dead-lettered from (then DeadLetterID names the dead letter).
	Queue        string `json:"queue,omitempty"`
	DeadLetterID string `json:"deadLetterId,omitempty"`
	// DeadLetters are every dead letter of the request (one request only).
	DeadLetters []deadLetterRecord `json:"deadLetters,omitempty"`
	History     []historyRecord    `json:"history,omitempty"` // oldest first (one request only)
}

// historyRecord is one ledger entry of a request.
type historyRecord struct {
	Time    time.Time `json:"time"`
	Step    string    `json:"step"`
	Type    string    `json:"type"`
	EventID string    `json:"eventId"`
	Attempt int       `json:"attempt"`
	Reason  string    `json:"reason,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Outcome string    `json:"outcome"`
}

// statusSummaryRecord is `raprov status -o json`: the counts of every
// request and the requests selected. (-o jsonl prints the requests only.)
type statusSummaryRecord struct {
	Total            int            `json:"total"`
	Completed        int            `json:"completed"`
	Failed           int            `json:"failed"`
	InProgress       int            `json:"inProgress"`
	FailedByReason   map[string]int `json:"failedByReason"`
	WaitingIn        map[string]int `json:"waitingIn"`        // requests in progress by the queue they wait in
	DeadLetteredFrom map[string]int `json:"deadLetteredFrom"` // … whose latest event was dead-lettered, by queue
	Requests         []statusRecord `json:"requests"`         // most recently updated first, at most --limit
}

// deadLetterRecord is one dead letter of `raprov dlq list`.
type deadLetterRecord struct {
	ID          string    `json:"id"`
	Queue       string    `json:"queue"`
	RequestID   string    `json:"requestId,omitempty"` // the event's subject
	Type        string    `json:"type,omitempty"`
	Undecodable bool      `json:"undecodable,omitempty"` // the body is no event (poison): no requestId or type
	Reason      string    `json:"reason"`
	Detail      string    `json:"detail,omitempty"`
	Received    int       `json:"received"` // deliveries before it was dead-lettered
	At          time.Time `json:"at"`
}

// benchRecord is one row of `raprov bench`'s tables.
type benchRecord struct {
	Section  string `json:"section"` // chain (the runs of the chain) or fleet
	Metric   string `json:"metric"`
	Target   string `json:"target"` // "—" when the row has none
	Measured string `json:"measured"`
	Result   string `json:"result"` // PASS, FAIL or info
}

// versionRecord is `raprov version`, from the build information Go embeds.
type versionRecord struct {
	Version    string `json:"version"`              // module version: a tag, a pseudo-version, or (devel)
	Commit     string `json:"commit,omitempty"`     // vcs.revision
	CommitTime string `json:"commitTime,omitempty"` // vcs.time: the commit's time (Go records no build time)
	Dirty      bool   `json:"dirty"`                // vcs.modified: built with uncommitted changes
	GoVersion  string `json:"goVersion"`
	Platform   string `json:"platform"` // GOOS/GOARCH
}
