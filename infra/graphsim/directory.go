package graphsim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim/odata"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

// ServicePlan is a service plan of a subscribedSku or licenseDetails.
type ServicePlan struct {
	ServicePlanID      string `json:"servicePlanId"`
	ServicePlanName    string `json:"servicePlanName"`
	ProvisioningStatus string `json:"provisioningStatus,omitempty"` // default "Success"
	AppliesTo          string `json:"appliesTo,omitempty"`          // default "User"
}

// PrepaidUnits is a subscribedSku's licenseUnitsDetail.
type PrepaidUnits struct {
	Enabled   int `json:"enabled"`
	Suspended int `json:"suspended"`
	Warning   int `json:"warning"`
	LockedOut int `json:"lockedOut"`
}

// Sku is a subscribedSku, in Graph's JSON shape.
type Sku struct {
	ID               string        `json:"id"`
	AccountID        string        `json:"accountId"`
	AccountName      string        `json:"accountName"`
	SkuID            string        `json:"skuId"`
	SkuPartNumber    string        `json:"skuPartNumber"`
	AppliesTo        string        `json:"appliesTo"`
	CapabilityStatus string        `json:"capabilityStatus"`
	ConsumedUnits    int           `json:"consumedUnits"`
	PrepaidUnits     PrepaidUnits  `json:"prepaidUnits"`
	ServicePlans     []ServicePlan `json:"servicePlans"`
	SubscriptionIDs  []string      `json:"subscriptionIds"`
}

// AssignedLicense is one entry of a user's assignedLicenses.
type AssignedLicense struct {
	SkuID         string   `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

// User is a directory user as the simulator stores it. Passwords are never
// stored.
type User struct {
	ID                string            `json:"id"`
	UserPrincipalName string            `json:"userPrincipalName"`
	DisplayName       string            `json:"displayName"`
	MailNickname      string            `json:"mailNickname"`
	AccountEnabled    bool              `json:"accountEnabled"`
	UsageLocation     string            `json:"usageLocation,omitempty"`
	Department        string            `json:"department,omitempty"`
	AssignedLicenses  []AssignedLicense `json:"assignedLicenses"`
	CreatedDateTime   time.Time         `json:"createdDateTime"`
	// LicensedDateTime is when the user last went from no license to
	// licensed (zero: never, or seeded); Teams learns of it late.
	LicensedDateTime time.Time `json:"licensedDateTime,omitzero"`
	// Other holds the other writable user properties a client set, as sent.
	Other map[string]any `json:"other,omitempty"`
}

func (u *User) clone() User {
	c := *u
	c.AssignedLicenses = make([]AssignedLicense, len(u.AssignedLicenses))
	for i, l := range u.AssignedLicenses {
		c.AssignedLicenses[i] = AssignedLicense{SkuID: l.SkuID, DisabledPlans: slices.Clone(l.DisabledPlans)}
	}
	c.Other = maps.Clone(u.Other)
	return c
}

func (u *User) hasLicense(skuID string) bool {
	return slices.ContainsFunc(u.AssignedLicenses, func(l AssignedLicense) bool { return strings.EqualFold(l.SkuID, skuID) })
}

// graphError is a Graph error response.
type graphError struct {
	status  int
	code    string
	message string
	details []odata.Detail
}

func (e *graphError) Error() string { return e.code + ": " + e.message }

func (e *graphError) write(w http.ResponseWriter, r *http.Request) {
	odata.WriteError(w, r, e.status, e.code, e.message, e.details...)
}

func badRequest(message string, details ...odata.Detail) *graphError {
	return &graphError{status: http.StatusBadRequest, code: "Request_BadRequest", message: message, details: details}
}

func invalidValue(property string) *graphError {
	msg := fmt.Sprintf("Invalid value specified for property '%s' of resource 'User'.", property)
	return badRequest(msg, odata.Detail{Code: "InvalidValue", Target: property, Message: msg})
}

func notFound(key string) *graphError {
	return &graphError{
		status:  http.StatusNotFound,
		code:    "Request_ResourceNotFound",
		message: fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key),
	}
}

type skuState struct {
	Sku
	baseline int // consumed units of users outside the directory
}

// directory is the tenant's users and subscriptions.
type directory struct {
	tenantID string
	domains  []string
	// replicationDelay returns the current replication delay knob.
	replicationDelay func() time.Duration
	// now is the simulator's clock, for the Teams side's look-ups.
	now func() time.Time

	mu    sync.Mutex
	users map[string]*User // by lower-case id
	upns  map[string]*User // by lower-case userPrincipalName
	order []*User          // creation order
	skus  []*skuState
}

var _ teamssim.Directory = (*directory)(nil)

func newDirectory(tenantID string, seed Seed, replicationDelay func() time.Duration, clock func() time.Time) *directory {
	now := clock()
	d := &directory{
		tenantID:         tenantID,
		domains:          slices.Clone(seed.VerifiedDomains),
		replicationDelay: replicationDelay,
		now:              clock,
		users:            map[string]*User{},
		upns:             map[string]*User{},
	}
	for _, k := range seed.Skus {
		s := &skuState{baseline: k.ConsumedUnits}
		s.SkuID = strings.ToLower(k.SkuID)
		s.SkuPartNumber = k.SkuPartNumber
		s.AccountID = tenantID
		s.AccountName = accountName(seed.VerifiedDomains)
		s.ID = tenantID + "_" + s.SkuID
		s.AppliesTo = cmpOr(k.AppliesTo, "User")
		s.CapabilityStatus = cmpOr(k.CapabilityStatus, "Enabled")
		s.PrepaidUnits = PrepaidUnits{Enabled: k.Enabled, Suspended: k.Suspended, Warning: k.Warning, LockedOut: k.LockedOut}
		s.SubscriptionIDs = []string{uuid.NewSHA1(uuid.NameSpaceOID, []byte(tenantID+s.SkuID)).String()}
		for _, p := range k.ServicePlans {
			p.ServicePlanID = strings.ToLower(p.ServicePlanID)
			p.ProvisioningStatus = cmpOr(p.ProvisioningStatus, "Success")
			p.AppliesTo = cmpOr(p.AppliesTo, "User")
			s.ServicePlans = append(s.ServicePlans, p)
		}
		d.skus = append(d.skus, s)
	}
	for _, su := range seed.Users {
		u := &User{
			ID:                strings.ToLower(cmpOr(su.ID, uuid.NewString())),
			UserPrincipalName: su.UserPrincipalName,
			DisplayName:       su.DisplayName,
			MailNickname:      su.MailNickname,
			AccountEnabled:    su.AccountEnabled == nil || *su.AccountEnabled,
			UsageLocation:     su.UsageLocation,
			Department:        su.Department,
			AssignedLicenses:  []AssignedLicense{},
			CreatedDateTime:   su.CreatedDateTime.UTC(),
		}
		if len(su.ExtensionAttributes) > 0 {
			ext, _ := extensionAttributes(su.extensionAttributes(), nil) // checked by Seed.validate
			u.Other = map[string]any{"onPremisesExtensionAttributes": ext}
		}
		if u.MailNickname == "" {
			u.MailNickname, _, _ = strings.Cut(su.UserPrincipalName, "@")
		}
		if u.CreatedDateTime.IsZero() {
			u.CreatedDateTime = now.AddDate(-1, 0, 0).UTC().Truncate(time.Second)
		}
		for _, l := range su.Licenses {
			if s := d.findSku(l); s != nil {
				u.AssignedLicenses = append(u.AssignedLicenses, AssignedLicense{SkuID: s.SkuID, DisabledPlans: []string{}})
			}
		}
		d.insert(u)
	}
	d.recount()
	return d
}

func accountName(domains []string) string {
	for _, d := range domains {
		if name, ok := strings.CutSuffix(strings.ToLower(d), ".onmicrosoft.com"); ok {
			return name
		}
	}
	if len(domains) > 0 {
		name, _, _ := strings.Cut(domains[0], ".")
		return name
	}
	return ""
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (d *directory) insert(u *User) {
	d.users[u.ID] = u
	d.upns[strings.ToLower(u.UserPrincipalName)] = u
	d.order = append(d.order, u)
}

// findSku finds a sku by skuId or skuPartNumber. Callers hold mu or are
// constructing d.
func (d *directory) findSku(key string) *skuState {
	for _, s := range d.skus {
		if strings.EqualFold(s.SkuID, key) || strings.EqualFold(s.SkuPartNumber, key) {
			return s
		}
	}
	return nil
}

// recount recomputes every sku's consumedUnits from scratch. Callers hold
// mu or are constructing d; changes to one user use recharge instead.
func (d *directory) recount() {
	for _, s := range d.skus {
		s.ConsumedUnits = s.baseline
	}
	for _, u := range d.order {
		for _, l := range u.AssignedLicenses {
			if s := d.findSku(l.SkuID); s != nil {
				s.ConsumedUnits++
			}
		}
	}
}

// recharge moves one user's consumed units from the licenses it held to
// those it holds now, keeping consumedUnits what recount would compute
// without walking every user. Callers hold mu.
func (d *directory) recharge(held, holds []AssignedLicense) {
	for _, l := range held {
		if s := d.findSkuID(l.SkuID); s != nil {
			s.ConsumedUnits--
		}
	}
	for _, l := range holds {
		if s := d.findSkuID(l.SkuID); s != nil {
			s.ConsumedUnits++
		}
	}
}

// visible reports whether u has replicated, i.e. was created at least the
// replication delay ago.
func (d *directory) visible(u *User, now time.Time) bool {
	return now.Sub(u.CreatedDateTime) >= d.replicationDelay()
}

// lookup finds a visible user by id or userPrincipalName. Callers hold mu.
func (d *directory) lookup(key string, now time.Time) (*User, *graphError) {
	k := strings.ToLower(key)
	u, ok := d.users[k]
	if !ok {
		u, ok = d.upns[k]
	}
	if !ok || !d.visible(u, now) {
		return nil, notFound(key)
	}
	return u, nil
}

// User implements teamssim.Directory.
func (d *directory) User(id string) (teamssim.DirUser, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, gerr := d.lookup(id, d.now())
	if gerr != nil {
		return teamssim.DirUser{}, false
	}
	return teamssim.DirUser{
		ID:                u.ID,
		UserPrincipalName: u.UserPrincipalName,
		DisplayName:       u.DisplayName,
		UsageLocation:     u.UsageLocation,
		Licensed:          len(u.AssignedLicenses) > 0,
		CreatedDateTime:   u.CreatedDateTime,
		LicensedDateTime:  u.LicensedDateTime,
	}, true
}

func (d *directory) get(key string, now time.Time) (User, *graphError) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, gerr := d.lookup(key, now)
	if gerr != nil {
		return User{}, gerr
	}
	return u.clone(), nil
}

// list returns the visible users matching match, in creation order.
func (d *directory) list(now time.Time, match func(*User) bool) []User {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []User
	for _, u := range d.order {
		if d.visible(u, now) && match(u) {
			out = append(out, u.clone())
		}
	}
	return out
}

// listPinned is list for a filter that names the user by id (byID) or by
// userPrincipalName: the user is looked up instead of every user scanned.
func (d *directory) listPinned(now time.Time, byID bool, key string, match func(*User) bool) []User {
	d.mu.Lock()
	defer d.mu.Unlock()
	index := d.upns
	if byID {
		index = d.users
	}
	u, ok := index[strings.ToLower(key)]
	if !ok || !d.visible(u, now) || !match(u) {
		return nil
	}
	return []User{u.clone()}
}

func (d *directory) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.order)
}

func (d *directory) verified(domain string) bool {
	return slices.ContainsFunc(d.domains, func(v string) bool { return strings.EqualFold(v, domain) })
}

// create adds u (already validated) unless its userPrincipalName is taken.
// Replication does not hide a user from the uniqueness check.
func (d *directory) create(u *User) *graphError {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, taken := d.upns[strings.ToLower(u.UserPrincipalName)]; taken {
		return upnConflict()
	}
	d.insert(u)
	return nil
}

func upnConflict() *graphError {
	return badRequest("Another object with the same value for property userPrincipalName already exists.",
		odata.Detail{Code: "ObjectConflict", Target: "userPrincipalName"})
}

// update applies fn to the visible user key under the lock. fn returns an
// error to leave the user unchanged; it works on a copy.
func (d *directory) update(key string, now time.Time, fn func(u *User) *graphError) (User, *graphError) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, gerr := d.lookup(key, now)
	if gerr != nil {
		return User{}, gerr
	}
	c := u.clone()
	if gerr := fn(&c); gerr != nil {
		return User{}, gerr
	}
	if !strings.EqualFold(c.UserPrincipalName, u.UserPrincipalName) {
		if _, taken := d.upns[strings.ToLower(c.UserPrincipalName)]; taken {
			return User{}, upnConflict()
		}
		delete(d.upns, strings.ToLower(u.UserPrincipalName))
		d.upns[strings.ToLower(c.UserPrincipalName)] = u
	}
	*u = c
	return u.clone(), nil
}

// assignLicense applies Graph's assignLicense rules: every sku must exist,
// adding needs a usage location and a free unit (an already assigned sku
// only has its disabled plans replaced), removing needs the license to be
// assigned. Nothing changes unless every rule passes.
func (d *directory) assignLicense(key string, now time.Time, add []AssignedLicense, remove []string) (User, *graphError) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, gerr := d.lookup(key, now)
	if gerr != nil {
		return User{}, gerr
	}
	for _, l := range add {
		if s := d.findSkuID(l.SkuID); s == nil {
			return User{}, invalidLicense(l.SkuID)
		}
	}
	for _, id := range remove {
		if s := d.findSkuID(id); s == nil {
			return User{}, invalidLicense(id)
		}
	}
	if len(add) > 0 && u.UsageLocation == "" {
		return User{}, badRequest("License assignment cannot be done for user with invalid usage location.")
	}
	for _, id := range remove {
		if !u.hasLicense(id) {
			return User{}, badRequest("User does not have a corresponding license.")
		}
	}
	for _, l := range add {
		if u.hasLicense(l.SkuID) || slices.ContainsFunc(remove, func(id string) bool { return strings.EqualFold(id, l.SkuID) }) {
			continue
		}
		if s := d.findSkuID(l.SkuID); s.available() < 1 {
			return User{}, badRequest(fmt.Sprintf("Subscription with SKU %s does not have any available licenses.", s.SkuID))
		}
	}
	held := slices.Clone(u.AssignedLicenses)
	u.AssignedLicenses = slices.DeleteFunc(u.AssignedLicenses, func(l AssignedLicense) bool {
		return slices.ContainsFunc(remove, func(id string) bool { return strings.EqualFold(id, l.SkuID) })
	})
	for _, l := range add {
		disabled := slices.Clone(l.DisabledPlans)
		if disabled == nil {
			disabled = []string{}
		}
		i := slices.IndexFunc(u.AssignedLicenses, func(have AssignedLicense) bool { return strings.EqualFold(have.SkuID, l.SkuID) })
		if i >= 0 {
			u.AssignedLicenses[i].DisabledPlans = disabled
			continue
		}
		u.AssignedLicenses = append(u.AssignedLicenses, AssignedLicense{SkuID: strings.ToLower(l.SkuID), DisabledPlans: disabled})
	}
	d.recharge(held, u.AssignedLicenses)
	if len(held) == 0 && len(u.AssignedLicenses) > 0 {
		u.LicensedDateTime = now.UTC()
	}
	return u.clone(), nil
}

func invalidLicense(skuID string) *graphError {
	return badRequest(fmt.Sprintf("License %s does not correspond to a valid company License.", skuID))
}

func (d *directory) findSkuID(id string) *skuState {
	for _, s := range d.skus {
		if strings.EqualFold(s.SkuID, id) {
			return s
		}
	}
	return nil
}

// available is the number of units that can still be assigned: prepaid
// enabled (and, in the Warning grace period, warning) units not consumed.
func (s *skuState) available() int {
	switch s.CapabilityStatus {
	case "Enabled", "Warning":
		return s.PrepaidUnits.Enabled + s.PrepaidUnits.Warning - s.ConsumedUnits
	default:
		return 0
	}
}

func (s *skuState) clone() Sku {
	c := s.Sku
	c.ServicePlans = slices.Clone(s.ServicePlans)
	c.SubscriptionIDs = slices.Clone(s.SubscriptionIDs)
	return c
}

func (d *directory) subscribedSkus() []Sku {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Sku, len(d.skus))
	for i, s := range d.skus {
		out[i] = s.clone()
	}
	return out
}

// skuByID returns a subscribedSku by its id ({accountId}_{skuId}).
func (d *directory) skuByID(id string) (Sku, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.skus {
		if strings.EqualFold(s.ID, id) {
			return s.clone(), true
		}
	}
	return Sku{}, false
}

// licenseDetail is Graph's licenseDetails resource.
type licenseDetail struct {
	ID            string        `json:"id"`
	SkuID         string        `json:"skuId"`
	SkuPartNumber string        `json:"skuPartNumber"`
	ServicePlans  []ServicePlan `json:"servicePlans"`
}

func (d *directory) licenseDetails(key string, now time.Time) ([]licenseDetail, *graphError) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, gerr := d.lookup(key, now)
	if gerr != nil {
		return nil, gerr
	}
	out := []licenseDetail{}
	for _, l := range u.AssignedLicenses {
		s := d.findSkuID(l.SkuID)
		if s == nil {
			continue
		}
		plans := make([]ServicePlan, len(s.ServicePlans))
		for i, p := range s.ServicePlans {
			if slices.Contains(l.DisabledPlans, p.ServicePlanID) {
				p.ProvisioningStatus = "Disabled"
			}
			plans[i] = p
		}
		out = append(out, licenseDetail{
			ID:            licenseDetailID(u.ID, s.SkuID),
			SkuID:         s.SkuID,
			SkuPartNumber: s.SkuPartNumber,
			ServicePlans:  plans,
		})
	}
	return out, nil
}

// licenseDetailID derives a stable opaque id, as Graph's are opaque strings.
func licenseDetailID(userID, skuID string) string {
	return strings.ReplaceAll(uuid.NewSHA1(uuid.NameSpaceOID, []byte(userID+skuID)).String(), "-", "")
}

// addLicenses adds units to a sku's prepaid enabled units (negative units
// remove some).
func (d *directory) addLicenses(skuPartNumber string, units int) (Sku, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.findSku(skuPartNumber)
	if s == nil {
		return Sku{}, fmt.Errorf("no sku %q", skuPartNumber)
	}
	if s.PrepaidUnits.Enabled+units < 0 {
		return Sku{}, fmt.Errorf("sku %s has %d enabled units, cannot remove %d", s.SkuPartNumber, s.PrepaidUnits.Enabled, -units)
	}
	s.PrepaidUnits.Enabled += units
	return s.clone(), nil
}

// snapshot returns deep copies of every user and sku.
func (d *directory) snapshot() ([]User, []Sku) {
	d.mu.Lock()
	defer d.mu.Unlock()
	users := make([]User, len(d.order))
	for i, u := range d.order {
		users[i] = u.clone()
	}
	skus := make([]Sku, len(d.skus))
	for i, s := range d.skus {
		skus[i] = s.clone()
	}
	return users, skus
}

// remove deletes the visible user key, freeing its licenses, and returns
// its object id.
func (d *directory) remove(key string, now time.Time) (string, *graphError) {
	d.mu.Lock()
	defer d.mu.Unlock()
	u, gerr := d.lookup(key, now)
	if gerr != nil {
		return "", gerr
	}
	delete(d.users, u.ID)
	delete(d.upns, strings.ToLower(u.UserPrincipalName))
	d.order = slices.DeleteFunc(d.order, func(o *User) bool { return o == u })
	d.recharge(u.AssignedLicenses, nil)
	return u.ID, nil
}
