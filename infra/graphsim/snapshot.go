package graphsim

import (
	"cmp"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/raprov/raprov/infra/graphsim/odata"
	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

// Snapshot is the part of the simulator's state that provisioning changes
// and deprovisioning must undo, normalised so that two snapshots compare
// equal when the tenant is the same: no timestamps, operation history,
// tokens or creation order; ids lower-cased; every list sorted. Compare a
// snapshot taken before a provision with one taken after the matching
// deprovision with Diff.
type Snapshot struct {
	Users []SnapshotUser `json:"users"` // by id
	// ConsumedUnits is each subscribed sku's consumedUnits, by skuPartNumber.
	ConsumedUnits        map[string]int           `json:"consumedUnits"`
	Numbers              []SnapshotNumber         `json:"numbers"`              // by telephoneNumber
	ApplicationInstances []teamssim.AppInstance   `json:"applicationInstances"` // by objectId
	Associations         []teamssim.Association   `json:"associations"`         // by objectId
	Configurations       []teamssim.Configuration `json:"configurations"`       // by id
}

// SnapshotUser is a directory user as Snapshot compares it.
type SnapshotUser struct {
	ID                string   `json:"id"`
	UserPrincipalName string   `json:"userPrincipalName"`
	DisplayName       string   `json:"displayName"`
	Department        string   `json:"department,omitempty"`
	UsageLocation     string   `json:"usageLocation,omitempty"`
	AccountEnabled    bool     `json:"accountEnabled"`
	SkuIDs            []string `json:"skuIds"` // assigned licenses, sorted
}

// SnapshotNumber is a number of the inventory and its assignment.
type SnapshotNumber struct {
	TelephoneNumber    string `json:"telephoneNumber"`
	ActivationState    string `json:"activationState"`
	AssignmentStatus   string `json:"assignmentStatus"`
	AssignmentTargetID string `json:"assignmentTargetId,omitempty"`
	AssignmentCategory string `json:"assignmentCategory,omitempty"`
	LocationID         string `json:"locationId,omitempty"`
}

// Snapshot returns the normalised form of st.
func (st State) Snapshot() Snapshot {
	out := Snapshot{
		Users:                make([]SnapshotUser, 0, len(st.Users)),
		ConsumedUnits:        make(map[string]int, len(st.Skus)),
		Numbers:              make([]SnapshotNumber, 0, len(st.Teams.Numbers)),
		ApplicationInstances: make([]teamssim.AppInstance, 0, len(st.Teams.ApplicationInstances)),
		Associations:         make([]teamssim.Association, 0, len(st.Teams.Associations)),
		Configurations:       slices.Clone(st.Teams.Configurations),
	}
	for _, u := range st.Users {
		su := SnapshotUser{
			ID: strings.ToLower(u.ID), UserPrincipalName: strings.ToLower(u.UserPrincipalName),
			DisplayName: u.DisplayName, Department: u.Department, UsageLocation: u.UsageLocation,
			AccountEnabled: u.AccountEnabled, SkuIDs: []string{},
		}
		for _, l := range u.AssignedLicenses {
			su.SkuIDs = append(su.SkuIDs, strings.ToLower(l.SkuID))
		}
		slices.Sort(su.SkuIDs)
		out.Users = append(out.Users, su)
	}
	slices.SortFunc(out.Users, func(a, b SnapshotUser) int { return strings.Compare(a.ID, b.ID) })
	for _, s := range st.Skus {
		out.ConsumedUnits[s.SkuPartNumber] = s.ConsumedUnits
	}
	for _, n := range st.Teams.Numbers {
		out.Numbers = append(out.Numbers, SnapshotNumber{
			TelephoneNumber: n.TelephoneNumber, ActivationState: n.ActivationState,
			AssignmentStatus: n.AssignmentStatus, AssignmentTargetID: strings.ToLower(n.AssignmentTargetID),
			AssignmentCategory: n.AssignmentCategory, LocationID: n.LocationID,
		})
	}
	slices.SortFunc(out.Numbers, func(a, b SnapshotNumber) int { return strings.Compare(a.TelephoneNumber, b.TelephoneNumber) })
	for _, a := range st.Teams.ApplicationInstances {
		a.ObjectID, a.ApplicationID = strings.ToLower(a.ObjectID), strings.ToLower(a.ApplicationID)
		a.UserPrincipalName = strings.ToLower(a.UserPrincipalName)
		out.ApplicationInstances = append(out.ApplicationInstances, a)
	}
	slices.SortFunc(out.ApplicationInstances, func(a, b teamssim.AppInstance) int { return strings.Compare(a.ObjectID, b.ObjectID) })
	for _, a := range st.Teams.Associations {
		a.ObjectID, a.ConfigurationID = strings.ToLower(a.ObjectID), strings.ToLower(a.ConfigurationID)
		out.Associations = append(out.Associations, a)
	}
	slices.SortFunc(out.Associations, func(a, b teamssim.Association) int { return strings.Compare(a.ObjectID, b.ObjectID) })
	slices.SortFunc(out.Configurations, func(a, b teamssim.Configuration) int {
		return strings.Compare(strings.ToLower(a.ID), strings.ToLower(b.ID))
	})
	return out
}

// Snapshot returns the normalised form of the current state.
func (s *Server) Snapshot() Snapshot { return s.State().Snapshot() }

// Diff lists how after differs from a, one line per user, sku, number,
// instance, association or configuration that was added, removed or
// changed; nil when they are equal.
func (a Snapshot) Diff(after Snapshot) []string {
	var out []string
	out = diffKeyed(out, "user", a.Users, after.Users, func(u SnapshotUser) string { return u.ID })
	out = diffKeyed(out, "number", a.Numbers, after.Numbers, func(n SnapshotNumber) string { return n.TelephoneNumber })
	out = diffKeyed(out, "application instance", a.ApplicationInstances, after.ApplicationInstances,
		func(i teamssim.AppInstance) string { return i.ObjectID })
	out = diffKeyed(out, "association", a.Associations, after.Associations,
		func(i teamssim.Association) string { return i.ObjectID })
	out = diffKeyed(out, "configuration", a.Configurations, after.Configurations,
		func(c teamssim.Configuration) string { return strings.ToLower(c.ID) })
	skus := make([]string, 0, len(a.ConsumedUnits))
	for k := range a.ConsumedUnits {
		skus = append(skus, k)
	}
	for k := range after.ConsumedUnits {
		if _, ok := a.ConsumedUnits[k]; !ok {
			skus = append(skus, k)
		}
	}
	slices.Sort(skus)
	for _, k := range skus {
		before, had := a.ConsumedUnits[k]
		now, has := after.ConsumedUnits[k]
		if had != has || before != now {
			out = append(out, fmt.Sprintf("sku %s: consumedUnits %d → %d", k, before, now))
		}
	}
	return out
}

// diffKeyed appends to out a line for each element of a or b, matched by
// key, that is in only one of them or differs.
func diffKeyed[T any](out []string, kind string, a, b []T, key func(T) string) []string {
	index := func(s []T) map[string]T {
		m := make(map[string]T, len(s))
		for _, v := range s {
			m[key(v)] = v
		}
		return m
	}
	am, bm := index(a), index(b)
	keys := make([]string, 0, len(am)+len(bm))
	for k := range am {
		keys = append(keys, k)
	}
	for k := range bm {
		if _, ok := am[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, cmp.Compare[string])
	for _, k := range keys {
		before, had := am[k]
		now, has := bm[k]
		switch {
		case !has:
			out = append(out, fmt.Sprintf("%s %s removed: %+v", kind, k, before))
		case !had:
			out = append(out, fmt.Sprintf("%s %s added: %+v", kind, k, now))
		case !reflect.DeepEqual(before, now):
			out = append(out, fmt.Sprintf("%s %s changed: %+v → %+v", kind, k, before, now))
		}
	}
	return out
}

// adminSnapshot serves GET /_sim/snapshot: the normalised state (Snapshot).
func (s *Server) adminSnapshot(w http.ResponseWriter, _ *http.Request) {
	odata.WriteJSON(w, http.StatusOK, s.Snapshot())
}
