package teamssim

import (
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// tenantID is the simulated tenant's id. Graph's numberAssignment ids are
// base64url("<guid>|<telephoneNumber>") (decoded from the Learn examples); the
// simulator derives them the same way from this constant.
const tenantID = "5f0c8bd0-6e3a-4b8e-9a4c-2d1f7a9e3b61"

// Graph and Teams admin back end paths served by a Sim.
const (
	tnmPath          = "/v1.0/admin/teams/telephoneNumberManagement"
	appInstancesPath = "/Teams.PlatformService/v2/ApplicationInstances"
	// syncSegment follows the object id in the bind (Sync) request:
	// POST {appInstancesPath}/{objectId}/sync?applicationId=… . The object
	// id in the path and applicationId in the query are what the Teams
	// module's generated code shows; the segment and the verb are inferred.
	syncSegment      = "sync"
	associationsPath = "/Teams.VoiceApps/applicationinstanceassociations"
)

// Sim is the simulated Teams telephone number and application-instance state of
// one tenant. It is safe for concurrent use.
type Sim struct {
	dir       Directory
	delay     time.Duration
	now       func() time.Time
	knobsFunc func() Knobs

	knobsMu sync.Mutex
	knobs   Knobs // used when knobsFunc is nil

	mu        sync.Mutex
	numbers   map[string]*numberRec // by telephoneNumber (E.164 with +)
	order     []string              // telephoneNumbers, sorted
	byID      map[string]string     // numberAssignment id → telephoneNumber
	byTarget  map[string]string     // lower-cased assignment target id → telephoneNumber, for assigned numbers
	ops       map[string]*operation
	opOrder   []*operation // every operation, in creation order
	pending   []*operation // operations not yet completed, in creation order
	instances map[string]AppInstance
	configs   map[string]Configuration
	assocs    map[string]Association // by application instance object id
}

// numberRec is a Number plus what is needed to restore its activation state
// when the operations pending on it complete.
type numberRec struct {
	Number
	settled string // activationState once no operation is pending
	pending int    // operations started and not completed
	// orphaned says the number's assignment target was deleted while the
	// number was still assigned to it: operations started from then on
	// (seq ≥ orphanedSeq) fail (Sim.UserDeleted).
	orphaned    bool
	orphanedSeq int
}

type emptyDirectory struct{}

func (emptyDirectory) User(string) (DirUser, bool) { return DirUser{}, false }

// New returns a Sim holding cfg.Seed.
func New(cfg Config) *Sim {
	s := &Sim{
		dir:       cfg.Directory,
		delay:     cfg.OperationStepDelay,
		now:       cfg.Now,
		knobsFunc: cfg.KnobsFunc,
		knobs:     cfg.Knobs,
		numbers:   map[string]*numberRec{},
		byID:      map[string]string{},
		byTarget:  map[string]string{},
		ops:       map[string]*operation{},
		instances: map[string]AppInstance{},
		configs:   map[string]Configuration{},
		assocs:    map[string]Association{},
	}
	if s.dir == nil {
		s.dir = emptyDirectory{}
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.AddNumbers(cfg.Seed.Numbers...)
	for _, a := range cfg.Seed.ApplicationInstances {
		s.instances[strings.ToLower(a.ObjectID)] = a
	}
	for _, c := range cfg.Seed.Configurations {
		s.configs[strings.ToLower(c.ID)] = c
	}
	for _, a := range cfg.Seed.Associations {
		s.assocs[strings.ToLower(a.ObjectID)] = a
	}
	return s
}

// Register mounts the Graph telephone number management endpoints and the
// Teams admin back end endpoints on mux.
func (s *Sim) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+tnmPath+"/numberAssignments", s.listNumbers)
	mux.HandleFunc("GET "+tnmPath+"/numberAssignments/{id}", s.getNumber)
	mux.HandleFunc("POST "+tnmPath+"/numberAssignments/assignNumber", s.assignNumber)
	mux.HandleFunc("POST "+tnmPath+"/numberAssignments/unassignNumber", s.unassignNumber)
	mux.HandleFunc("GET "+tnmPath+"/operations/{id}", s.getOperation)
	// The Location header names an operation with OData key syntax,
	// operations('<id>'), which is a single path segment.
	mux.HandleFunc("GET "+tnmPath+"/{segment}", s.getOperationByKey)

	mux.HandleFunc("GET "+appInstancesPath, s.listAppInstances)
	mux.HandleFunc("GET "+appInstancesPath+"/{objectId}", s.getAppInstance)
	mux.HandleFunc("POST "+appInstancesPath+"/{objectId}/"+syncSegment, s.syncAppInstance)
	// The shape raprov once sent (a POST of {objectId, applicationId} to
	// the collection) is refused, so a client that regresses to it fails.
	mux.HandleFunc("POST "+appInstancesPath, s.refuseCollectionBind)
	mux.HandleFunc("POST "+associationsPath, s.associate)
	mux.HandleFunc("GET "+associationsPath+"/{objectId}", s.getAssociation)
	mux.HandleFunc("DELETE "+associationsPath+"/{objectId}", s.removeAssociation)
}

// SetKnobs replaces the knobs. It has no effect when Config.KnobsFunc is
// set.
func (s *Sim) SetKnobs(k Knobs) {
	s.knobsMu.Lock()
	defer s.knobsMu.Unlock()
	s.knobs = k
}

// currentKnobs returns the knobs in force.
func (s *Sim) currentKnobs() Knobs {
	if s.knobsFunc != nil {
		return s.knobsFunc()
	}
	s.knobsMu.Lock()
	defer s.knobsMu.Unlock()
	return s.knobs
}

// AddNumbers adds numbers to the inventory, replacing any with the same
// telephoneNumber. Empty activationState, assignmentStatus and numberSource
// default to activated, unassigned and online.
func (s *Sim) AddNumbers(numbers ...Number) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range numbers {
		n = cloneNumber(n)
		n.TelephoneNumber = normalizeTel(n.TelephoneNumber)
		if n.ID == "" {
			n.ID = numberID(n.TelephoneNumber)
		}
		if n.ActivationState == "" {
			n.ActivationState = ActivationActivated
		}
		if n.AssignmentStatus == "" {
			n.AssignmentStatus = StatusUnassigned
		}
		if n.NumberSource == "" {
			n.NumberSource = "online"
		}
		rec := &numberRec{Number: n, settled: n.ActivationState}
		if old, ok := s.numbers[n.TelephoneNumber]; ok {
			delete(s.byID, old.ID)
			s.unindexTargetLocked(old)
			rec.pending = old.pending
			if rec.pending > 0 {
				rec.ActivationState = ActivationAssignmentPending
			}
		} else {
			i, _ := slices.BinarySearch(s.order, n.TelephoneNumber)
			s.order = slices.Insert(s.order, i, n.TelephoneNumber)
		}
		s.numbers[n.TelephoneNumber] = rec
		s.byID[n.ID] = n.TelephoneNumber
		s.indexTargetLocked(rec)
	}
}

// SetAssignmentFailure makes later assignments of telephoneNumber fail with
// statusDetail; an empty statusDetail clears the failure. Unknown numbers are
// ignored.
func (s *Sim) SetAssignmentFailure(telephoneNumber, statusDetail string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.numbers[normalizeTel(telephoneNumber)]; ok {
		rec.FailWith = statusDetail
	}
}

// State returns a deep copy of the simulator's state after bringing every
// operation up to date with the clock.
func (s *Sim) State() State {
	s.advance()
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	st := State{
		Numbers:              make([]Number, 0, len(s.order)),
		Operations:           make([]OperationState, 0, len(s.opOrder)),
		ApplicationInstances: make([]AppInstance, 0, len(s.instances)),
		Configurations:       make([]Configuration, 0, len(s.configs)),
		Associations:         make([]Association, 0, len(s.assocs)),
	}
	for _, tel := range s.order {
		st.Numbers = append(st.Numbers, cloneNumber(s.numbers[tel].Number))
	}
	for _, op := range s.opOrder {
		st.Operations = append(st.Operations, OperationState{
			ID:                 op.id,
			Action:             op.action,
			CreatedDateTime:    op.created,
			Status:             s.statusAt(op, now),
			StatusDetail:       op.detail,
			TelephoneNumber:    op.telephoneNumber,
			NumberType:         op.numberType,
			AssignmentTargetID: op.targetID,
		})
	}
	for _, a := range s.instances {
		st.ApplicationInstances = append(st.ApplicationInstances, a)
	}
	slices.SortFunc(st.ApplicationInstances, func(a, b AppInstance) int { return strings.Compare(a.ObjectID, b.ObjectID) })
	for _, c := range s.configs {
		st.Configurations = append(st.Configurations, c)
	}
	slices.SortFunc(st.Configurations, func(a, b Configuration) int { return strings.Compare(a.ID, b.ID) })
	for _, a := range s.assocs {
		st.Associations = append(st.Associations, a)
	}
	slices.SortFunc(st.Associations, func(a, b Association) int { return strings.Compare(a.ObjectID, b.ObjectID) })
	return st
}

func cloneNumber(n Number) Number {
	n.Capabilities = slices.Clone(n.Capabilities)
	n.ReverseNumberLookupOptions = slices.Clone(n.ReverseNumberLookupOptions)
	n.SupportedCustomerActions = slices.Clone(n.SupportedCustomerActions)
	return n
}

// normalizeTel returns the number with a leading '+': Graph records numbers
// that way "regardless of whether it was originally assigned with one".
func normalizeTel(s string) string {
	s = strings.TrimSpace(s)
	if s != "" && !strings.HasPrefix(s, "+") {
		s = "+" + s
	}
	return s
}

func numberID(tel string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tenantID + "|" + tel))
}

// baseURL is the scheme and host the request was sent to, for links in
// responses.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// setAssignmentLocked changes rec's assignment and keeps byTarget in step.
func (s *Sim) setAssignmentLocked(rec *numberRec, status, targetID string) {
	s.unindexTargetLocked(rec)
	rec.AssignmentStatus, rec.AssignmentTargetID = status, targetID
	s.indexTargetLocked(rec)
}

func (s *Sim) indexTargetLocked(rec *numberRec) {
	if rec.AssignmentStatus != StatusUnassigned && rec.AssignmentTargetID != "" {
		s.byTarget[strings.ToLower(rec.AssignmentTargetID)] = rec.TelephoneNumber
	}
}

func (s *Sim) unindexTargetLocked(rec *numberRec) {
	key := strings.ToLower(rec.AssignmentTargetID)
	if tel, ok := s.byTarget[key]; ok && tel == rec.TelephoneNumber {
		delete(s.byTarget, key)
	}
}
