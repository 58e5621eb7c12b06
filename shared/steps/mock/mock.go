// Package mock has hand-written test doubles of the step ports: each method
// calls the matching XxxFn field, which a test sets for the calls it expects.
// Calling a method whose field is nil panics, so unexpected calls fail the test.
package mock

import (
	"context"
	"sync"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/steps"
)

var (
	_ steps.Licenses   = (*Licenses)(nil)
	_ steps.Accounts   = (*Accounts)(nil)
	_ steps.Numbers    = (*Numbers)(nil)
	_ steps.TeamsAdmin = (*TeamsAdmin)(nil)
	_ steps.Claims     = (*Claims)(nil)
	_ steps.Notifier   = (*Notifier)(nil)
)

// Licenses is a steps.Licenses double.
type Licenses struct {
	SkuFn           func(ctx context.Context, partNumber string) (steps.Sku, error)
	AssignLicenseFn func(ctx context.Context, userID, skuID string) error
}

func (m *Licenses) Sku(ctx context.Context, partNumber string) (steps.Sku, error) {
	return m.SkuFn(ctx, partNumber)
}

func (m *Licenses) AssignLicense(ctx context.Context, userID, skuID string) error {
	return m.AssignLicenseFn(ctx, userID, skuID)
}

// Accounts is a steps.Accounts double.
type Accounts struct {
	FindByUPNFn        func(ctx context.Context, upn string) (*steps.Account, error)
	GetFn              func(ctx context.Context, id string) (steps.Account, error)
	CreateFn           func(ctx context.Context, a steps.NewAccount) (steps.Account, error)
	SetUsageLocationFn func(ctx context.Context, id, usageLocation string) error
}

func (m *Accounts) FindByUPN(ctx context.Context, upn string) (*steps.Account, error) {
	return m.FindByUPNFn(ctx, upn)
}

func (m *Accounts) Get(ctx context.Context, id string) (steps.Account, error) {
	return m.GetFn(ctx, id)
}

func (m *Accounts) Create(ctx context.Context, a steps.NewAccount) (steps.Account, error) {
	return m.CreateFn(ctx, a)
}

func (m *Accounts) SetUsageLocation(ctx context.Context, id, usageLocation string) error {
	return m.SetUsageLocationFn(ctx, id, usageLocation)
}

// Numbers is a steps.Numbers double.
type Numbers struct {
	LookupFn    func(ctx context.Context, e164 string) (*steps.NumberAssignment, error)
	AssignFn    func(ctx context.Context, req steps.AssignNumberRequest) (string, error)
	OperationFn func(ctx context.Context, id string) (steps.Operation, error)
	// AssignedToFn may be nil: no numbers are assigned to anyone.
	AssignedToFn func(ctx context.Context, objectID string) ([]steps.NumberAssignment, error)
	// InventoryFn may be nil: the inventory is empty.
	InventoryFn func(ctx context.Context) ([]steps.NumberAssignment, error)
}

func (m *Numbers) Lookup(ctx context.Context, e164 string) (*steps.NumberAssignment, error) {
	return m.LookupFn(ctx, e164)
}

func (m *Numbers) Assign(ctx context.Context, req steps.AssignNumberRequest) (string, error) {
	return m.AssignFn(ctx, req)
}

func (m *Numbers) Operation(ctx context.Context, id string) (steps.Operation, error) {
	return m.OperationFn(ctx, id)
}

func (m *Numbers) AssignedTo(ctx context.Context, objectID string) ([]steps.NumberAssignment, error) {
	if m.AssignedToFn == nil {
		return nil, nil
	}
	return m.AssignedToFn(ctx, objectID)
}

// TeamsAdmin is a steps.TeamsAdmin double.
type TeamsAdmin struct {
	ApplicationInstanceFn func(ctx context.Context, objectID string) (*steps.ApplicationInstance, error)
	BindFn                func(ctx context.Context, objectID, applicationID string) error
	AssociateFn           func(ctx context.Context, a steps.Association) error
	// ReadyFn may be nil: the back end is ready.
	ReadyFn func(ctx context.Context) error
}

func (m *TeamsAdmin) ApplicationInstance(ctx context.Context, objectID string) (*steps.ApplicationInstance, error) {
	return m.ApplicationInstanceFn(ctx, objectID)
}

func (m *TeamsAdmin) Bind(ctx context.Context, objectID, applicationID string) error {
	return m.BindFn(ctx, objectID, applicationID)
}

func (m *TeamsAdmin) Associate(ctx context.Context, a steps.Association) error {
	return m.AssociateFn(ctx, a)
}

// Claims is a steps.Claims double.
type Claims struct {
	ClaimFn func(ctx context.Context, requestID, eventID, fingerprint string) (holder, holderFingerprint string, err error)
}

func (m *Claims) Claim(ctx context.Context, requestID, eventID, fingerprint string) (string, string, error) {
	return m.ClaimFn(ctx, requestID, eventID, fingerprint)
}

// Notifier is a steps.Notifier double.
type Notifier struct {
	NotifyFn func(ctx context.Context, url string, final events.Event) error
}

func (m *Notifier) Notify(ctx context.Context, url string, final events.Event) error {
	return m.NotifyFn(ctx, url, final)
}

func (m *TeamsAdmin) Ready(ctx context.Context) error {
	if m.ReadyFn == nil {
		return nil
	}
	return m.ReadyFn(ctx)
}

func (m *Numbers) Inventory(ctx context.Context) ([]steps.NumberAssignment, error) {
	if m.InventoryFn == nil {
		return nil, nil
	}
	return m.InventoryFn(ctx)
}

// NumberHolds is a steps.NumberHolds double keeping holds in a map; the zero
// value is ready.
type NumberHolds struct {
	mu    sync.Mutex
	holds map[string]string
	// Err, when set, is returned by every call.
	Err error
}

var _ steps.NumberHolds = (*NumberHolds)(nil)

func (m *NumberHolds) Hold(_ context.Context, e164, requestID string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return "", m.Err
	}
	if m.holds == nil {
		m.holds = map[string]string{}
	}
	if h, ok := m.holds[e164]; ok {
		return h, nil
	}
	m.holds[e164] = requestID
	return requestID, nil
}

func (m *NumberHolds) Release(_ context.Context, e164, requestID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Err != nil {
		return m.Err
	}
	if m.holds[e164] == requestID {
		delete(m.holds, e164)
	}
	return nil
}

// Holder returns who holds e164, or "".
func (m *NumberHolds) Holder(e164 string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.holds[e164]
}
