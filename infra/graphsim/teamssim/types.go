package teamssim

import "time"

// Teams application ids of resource accounts.
const (
	AutoAttendantAppID = "ce933385-9390-45d1-9512-c8d228074e07"
	CallQueueAppID     = "11cd3e2e-fccb-42ad-ad00-878b93575e07"
)

// Configuration types accepted by the association endpoint.
const (
	ConfigurationAutoAttendant = "AutoAttendant"
	ConfigurationCallQueue     = "CallQueue"
)

// Values of numberAssignment enums (CSDL namespace
// microsoft.graph.teamsAdministration) that the simulator sets itself.
const (
	NumberTypeCallingPlan     = "callingPlan"
	NumberTypeDirectRouting   = "directRouting"
	NumberTypeOperatorConnect = "operatorConnect"

	ActivationActivated         = "activated"
	ActivationAssignmentPending = "assignmentPending"
	// ActivationUpdatePending marks a number still assigned to a target
	// that was deleted (Sim.UserDeleted): stuck, as Microsoft's guide warns.
	ActivationUpdatePending = "updatePending"

	StatusUnassigned               = "unassigned"
	StatusUserAssigned             = "userAssigned"
	StatusVoiceApplicationAssigned = "voiceApplicationAssigned"

	CapabilityUserAssignment             = "userAssignment"
	CapabilityVoiceApplicationAssignment = "voiceApplicationAssignment"
	CapabilityConferenceAssignment       = "conferenceAssignment"
)

// Statuses of a telephone number long-running operation
// (graph.longRunningOperationStatus).
const (
	OperationNotStarted = "notStarted"
	OperationRunning    = "running"
	OperationSucceeded  = "succeeded"
	OperationFailed     = "failed"
)

// DirUser is what the simulator needs to know about a directory user.
type DirUser struct {
	ID                string
	UserPrincipalName string
	DisplayName       string
	UsageLocation     string
	Licensed          bool // has at least one assigned license
	// CreatedDateTime is when the directory created the user; zero means
	// long ago. Teams learns of the user Knobs.TeamsSyncDelay later.
	CreatedDateTime time.Time
	// LicensedDateTime is when the user last went from no license to
	// licensed; zero means long ago. Teams learns of the license
	// Knobs.TeamsSyncDelay later.
	LicensedDateTime time.Time
}

// Directory looks users up by object id. Implementations honour the simulated
// replication delay (a user just created is not found yet) and must not call
// back into the Sim.
type Directory interface {
	User(id string) (DirUser, bool)
}

// Number is a numberAssignment of the tenant's inventory. The JSON tags are
// Graph's property names, so a seed file reads like a Graph response; FailWith
// is a simulator knob that never appears in Graph responses.
type Number struct {
	ID                         string   `json:"id,omitempty"` // derived from TelephoneNumber when empty
	TelephoneNumber            string   `json:"telephoneNumber"`
	OperatorID                 string   `json:"operatorId,omitempty"`
	NumberType                 string   `json:"numberType"`
	ActivationState            string   `json:"activationState,omitempty"`  // default activated
	AssignmentStatus           string   `json:"assignmentStatus,omitempty"` // default unassigned
	AssignmentTargetID         string   `json:"assignmentTargetId,omitempty"`
	AssignmentCategory         string   `json:"assignmentCategory,omitempty"`
	Capabilities               []string `json:"capabilities"`
	IsoCountryCode             string   `json:"isoCountryCode,omitempty"`
	City                       string   `json:"city,omitempty"`
	CivicAddressID             string   `json:"civicAddressId,omitempty"`
	LocationID                 string   `json:"locationId,omitempty"`
	NetworkSiteID              string   `json:"networkSiteId,omitempty"`
	NumberSource               string   `json:"numberSource,omitempty"` // default online
	PortInStatus               string   `json:"portInStatus,omitempty"`
	ReverseNumberLookupOptions []string `json:"reverseNumberLookupOptions,omitempty"`
	SupportedCustomerActions   []string `json:"supportedCustomerActions,omitempty"`

	// FailWith, when set, makes every assignment or unassignment of this
	// number that passes the other rules fail asynchronously with this
	// statusDetail.
	FailWith string `json:"failWith,omitempty"`
}

// HasCapability reports whether the number has capability c.
func (n Number) HasCapability(c string) bool {
	for _, have := range n.Capabilities {
		if have == c {
			return true
		}
	}
	return false
}

// AppInstance is a Teams application instance: a directory user bound to the
// auto attendant or call queue application.
type AppInstance struct {
	ObjectID          string `json:"objectId"`
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	ApplicationID     string `json:"applicationId"`
}

// Configuration is an existing auto attendant or call queue.
type Configuration struct {
	ID   string `json:"id"`
	Type string `json:"type"` // ConfigurationAutoAttendant or ConfigurationCallQueue
	Name string `json:"name"`
}

// Association links an application instance to a configuration.
type Association struct {
	ObjectID          string `json:"objectId"`
	ConfigurationID   string `json:"configurationId"`
	ConfigurationType string `json:"configurationType"`
	// CallPriority (1–5) as the association request gave it; 0 means none
	// was given and reads show DefaultCallPriority.
	CallPriority int `json:"callPriority,omitempty"`
}

// Seed is the initial state of a Sim.
type Seed struct {
	Numbers              []Number        `json:"numbers"`
	ApplicationInstances []AppInstance   `json:"applicationInstances"`
	Configurations       []Configuration `json:"configurations"`
	Associations         []Association   `json:"associations,omitempty"`
}

// Config configures a Sim.
type Config struct {
	// Directory resolves assignment targets and users to bind. Nil means an
	// empty directory.
	Directory Directory
	Seed      Seed
	// OperationStepDelay is how long each transition of an operation takes
	// (notStarted → running → succeeded/failed). Zero completes an operation
	// on the next read.
	OperationStepDelay time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Knobs are the initial run-time knobs; SetKnobs changes them.
	Knobs Knobs
	// KnobsFunc, when set, is called whenever a knob is needed and
	// overrides Knobs and SetKnobs: the Graph simulator passes its own
	// run-time knobs this way. It must not call back into the Sim.
	KnobsFunc func() Knobs
}

// Knobs change a Sim's behaviour at run time.
type Knobs struct {
	// TeamsSyncDelay is how long Teams takes to learn of what the directory
	// knows: a user is unknown to Teams until TeamsSyncDelay after its
	// DirUser.CreatedDateTime, and unlicensed until TeamsSyncDelay after its
	// DirUser.LicensedDateTime. Microsoft documents minutes up to 24 hours.
	// Until then binding the user and reading its instance answer 404, an
	// association naming it answers 404, and an assignment to it fails when
	// its operation completes. Zero: Teams knows at once.
	TeamsSyncDelay time.Duration
	// WrapOperations serves GET …/operations/{id} as {"value": {…}}, the
	// form of Learn's example, instead of the bare entity.
	WrapOperations bool
}

// OperationState is an operation as State reports it.
type OperationState struct {
	ID                 string    `json:"id"`
	Action             string    `json:"action"` // assignNumber or unassignNumber
	CreatedDateTime    time.Time `json:"createdDateTime"`
	Status             string    `json:"status"`
	StatusDetail       string    `json:"statusDetail,omitempty"`
	TelephoneNumber    string    `json:"telephoneNumber"`
	NumberType         string    `json:"numberType"`
	AssignmentTargetID string    `json:"assignmentTargetId,omitempty"`
}

// State is a deep copy of a Sim's state, each slice in a stable order.
type State struct {
	Numbers              []Number         `json:"numbers"`
	Operations           []OperationState `json:"operations"`
	ApplicationInstances []AppInstance    `json:"applicationInstances"`
	Configurations       []Configuration  `json:"configurations"`
	Associations         []Association    `json:"associations"`
}
