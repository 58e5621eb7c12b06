package teamssim_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nyaruka/phonenumbers"

	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

func TestDefaultSeed(t *testing.T) {
	seed := teamssim.DefaultSeed()

	instances := map[string]teamssim.AppInstance{}
	for _, a := range seed.ApplicationInstances {
		instances[a.ObjectID] = a
	}
	seen := map[string]bool{}
	perCountry := map[string]int{}
	var callingPlan, voiceApp, userOnly, userAssigned, raAssigned, otherTypes int
	for _, n := range seed.Numbers {
		if seen[n.TelephoneNumber] {
			t.Errorf("%s appears twice", n.TelephoneNumber)
		}
		seen[n.TelephoneNumber] = true
		p, err := phonenumbers.Parse(n.TelephoneNumber, "")
		if err != nil || !phonenumbers.IsValidNumber(p) || phonenumbers.Format(p, phonenumbers.E164) != n.TelephoneNumber {
			t.Errorf("%s is not a valid E.164 number (%v)", n.TelephoneNumber, err)
			continue
		}
		if n.IsoCountryCode != "" && phonenumbers.GetRegionCodeForNumber(p) != n.IsoCountryCode {
			t.Errorf("%s is in region %s, seeded as %s", n.TelephoneNumber, phonenumbers.GetRegionCodeForNumber(p), n.IsoCountryCode)
		}
		if n.NumberType != teamssim.NumberTypeCallingPlan {
			otherTypes++
			continue
		}
		callingPlan++
		perCountry[n.IsoCountryCode]++
		switch {
		case n.HasCapability(teamssim.CapabilityVoiceApplicationAssignment):
			voiceApp++
		case n.HasCapability(teamssim.CapabilityUserAssignment):
			userOnly++
		}
		switch n.AssignmentStatus {
		case teamssim.StatusUserAssigned:
			userAssigned++
		case teamssim.StatusVoiceApplicationAssigned:
			raAssigned++
			if _, ok := instances[n.AssignmentTargetID]; !ok {
				t.Errorf("%s is assigned to %s, which is not a seeded application instance", n.TelephoneNumber, n.AssignmentTargetID)
			}
		}
	}
	if callingPlan < 40 || voiceApp <= callingPlan/2 || userOnly == 0 || userAssigned == 0 || raAssigned == 0 {
		t.Errorf("calling plan %d (voice app %d, user only %d), user assigned %d, resource account assigned %d",
			callingPlan, voiceApp, userOnly, userAssigned, raAssigned)
	}
	if otherTypes < 2 || otherTypes > 3 {
		t.Errorf("%d direct routing / operator connect numbers, want 2–3", otherTypes)
	}
	for _, c := range []string{"US", "CA", "GB", "DE", "FR", "AU", "NL"} {
		if perCountry[c] == 0 {
			t.Errorf("no Calling Plan number in %s", c)
		}
	}

	types := map[string]int{}
	configs := map[string]teamssim.Configuration{}
	for _, c := range seed.Configurations {
		types[c.Type]++
		configs[c.ID] = c
	}
	if diff := cmp.Diff(map[string]int{"AutoAttendant": 2, "CallQueue": 2}, types); diff != "" {
		t.Errorf("configurations (-want +got):\n%s", diff)
	}
	for _, a := range seed.Associations {
		if _, ok := instances[a.ObjectID]; !ok || configs[a.ConfigurationID].Type != a.ConfigurationType {
			t.Errorf("association %+v does not link a seeded instance to a seeded configuration of its type", a)
		}
	}

	// DefaultSeed returns fresh slices each time.
	seed.Numbers[0].Capabilities[0] = "changed"
	if teamssim.DefaultSeed().Numbers[0].Capabilities[0] == "changed" {
		t.Error("DefaultSeed shares slices between calls")
	}
}

// A seed file uses Graph's property names and round-trips through JSON.
func TestSeedJSON(t *testing.T) {
	want := teamssim.DefaultSeed()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var got teamssim.Seed
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("seed JSON round trip (-want +got):\n%s", diff)
	}

	sim := teamssim.New(teamssim.Config{Seed: got})
	mux := http.NewServeMux()
	sim.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL + tnm + "/numberAssignments?$top=1000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Value []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Value) != len(want.Numbers) {
		t.Errorf("listed %d numbers, want %d", len(page.Value), len(want.Numbers))
	}
}
