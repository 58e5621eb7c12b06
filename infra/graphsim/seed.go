package graphsim

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/raprov/raprov/infra/graphsim/teamssim"
)

// Well-known SKUs of the default seed (Microsoft's product names and service
// plan identifiers reference).
const (
	VirtualUserSkuID         = "440eaaa8-b3e0-484b-a8be-62870b9ba70a"
	VirtualUserSkuPartNumber = "PHONESYSTEM_VIRTUALUSER"
	VirtualUserPlanID        = "f47330e9-c134-43b3-9993-e7f004506889"
	VirtualUserPlanName      = "MCOEV_VIRTUALUSER"

	EnterprisePackSkuID = "6fd2c87f-b296-42f0-b197-1e91e994b900"
	PhoneSystemSkuID    = "e43b5b99-8dfb-405f-9987-dc307f34bcbd"
)

// ResourceAccountDepartment is the department Teams gives resource accounts.
const ResourceAccountDepartment = "Microsoft Communication Application Instance"

// Seed is the simulator's initial directory. Its JSON form is the seed file
// format (see docs/graphsim.md).
type Seed struct {
	// VerifiedDomains are the tenant's verified domains; a new user's
	// userPrincipalName must use one of them.
	VerifiedDomains []string `json:"verifiedDomains"`
	// Skus are the tenant's subscriptions.
	Skus []SeedSku `json:"skus"`
	// Users exist from the start (never subject to the replication delay
	// unless their createdDateTime is recent).
	Users []SeedUser `json:"users"`
	// Teams is the Teams side: phone number inventory, application
	// instances, auto attendants and call queues.
	Teams teamssim.Seed `json:"teams"`
}

// SeedSku is one subscribedSku.
type SeedSku struct {
	SkuID            string `json:"skuId"`
	SkuPartNumber    string `json:"skuPartNumber"`
	AppliesTo        string `json:"appliesTo,omitempty"`        // default "User"
	CapabilityStatus string `json:"capabilityStatus,omitempty"` // default "Enabled"
	// Enabled, Suspended, Warning and LockedOut are prepaidUnits.
	Enabled   int `json:"enabled"`
	Suspended int `json:"suspended,omitempty"`
	Warning   int `json:"warning,omitempty"`
	LockedOut int `json:"lockedOut,omitempty"`
	// ConsumedUnits are units used by users that are not in the seed; the
	// seed's own users add theirs.
	ConsumedUnits int           `json:"consumedUnits,omitempty"`
	ServicePlans  []ServicePlan `json:"servicePlans,omitempty"`
}

// SeedUser is one existing user (a person or a resource account).
type SeedUser struct {
	ID                string `json:"id,omitempty"` // generated when empty
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName"`
	MailNickname      string `json:"mailNickname,omitempty"`   // default: the UPN's alias
	AccountEnabled    *bool  `json:"accountEnabled,omitempty"` // default true
	UsageLocation     string `json:"usageLocation,omitempty"`
	Department        string `json:"department,omitempty"`
	// Licenses are skuPartNumbers or skuIds of the seed's SKUs.
	Licenses []string `json:"licenses,omitempty"`
	// CreatedDateTime defaults to a year before the simulator starts.
	CreatedDateTime time.Time `json:"createdDateTime,omitzero"`
	// ExtensionAttributes are onPremisesExtensionAttributes by name
	// (extensionAttribute1–15).
	ExtensionAttributes map[string]string `json:"onPremisesExtensionAttributes,omitempty"`
}

// extensionAttributes returns the seeded extension attributes as a JSON
// object value.
func (u SeedUser) extensionAttributes() map[string]any {
	attrs := make(map[string]any, len(u.ExtensionAttributes))
	for k, v := range u.ExtensionAttributes {
		attrs[k] = v
	}
	return attrs
}

// DefaultSeed is a realistic small tenant: contoso.com and
// contoso.onmicrosoft.com; 50 Teams Phone Resource Account licenses, Office
// 365 E3 and Teams Phone Standard; four licensed people holding numbers, one
// unlicensed person without a usage location, and the three resource
// accounts of teamssim's default seed, whose Teams inventory it includes.
func DefaultSeed() Seed {
	people := []string{"ENTERPRISEPACK", "MCOEV"}
	ra := []string{VirtualUserSkuPartNumber}
	return Seed{
		VerifiedDomains: []string{"contoso.com", "contoso.onmicrosoft.com"},
		Skus: []SeedSku{
			{
				SkuID: VirtualUserSkuID, SkuPartNumber: VirtualUserSkuPartNumber, Enabled: 50,
				ServicePlans: []ServicePlan{{ServicePlanID: VirtualUserPlanID, ServicePlanName: VirtualUserPlanName}},
			},
			{
				SkuID: EnterprisePackSkuID, SkuPartNumber: "ENTERPRISEPACK", Enabled: 25, ConsumedUnits: 17,
				ServicePlans: []ServicePlan{
					{ServicePlanID: "0feaeb32-d00e-4d66-bd5a-43b5b83db82c", ServicePlanName: "MCOSTANDARD"},
					{ServicePlanID: "efb87545-963c-4e0d-99df-69c6916d9eb0", ServicePlanName: "EXCHANGE_S_ENTERPRISE"},
					{ServicePlanID: "57ff2da0-773e-42df-b2af-ffb7a2317929", ServicePlanName: "TEAMS1"},
				},
			},
			{
				SkuID: PhoneSystemSkuID, SkuPartNumber: "MCOEV", Enabled: 20, ConsumedUnits: 12,
				ServicePlans: []ServicePlan{{ServicePlanID: "4828c8ec-dc2e-4779-b502-87ac9ce28ab7", ServicePlanName: "MCOEV"}},
			},
		},
		Users: []SeedUser{
			// People holding the user numbers of teamssim's default seed.
			{ID: "2d4f6a8c-0e1b-4c3d-8e5f-7a9b1c3d5e01", UserPrincipalName: "AdeleV@contoso.com", DisplayName: "Adele Vance", UsageLocation: "US", Department: "Retail", Licenses: people},
			{ID: "4f6a8c0e-2b3d-4e5f-9a7b-1c3d5e7f9a02", UserPrincipalName: "AlexW@contoso.com", DisplayName: "Alex Wilber", UsageLocation: "US", Department: "Marketing", Licenses: people},
			{ID: "7b9d1f3a-5c7e-4a9b-8d1f-3e5a7c9e1b03", UserPrincipalName: "o'brien@contoso.com", DisplayName: "Megan O'Brien", MailNickname: "obrien", UsageLocation: "GB", Department: "Sales", Licenses: people},
			{ID: "1e3a5c7e-9b1d-4f3a-a5c7-9e1b3d5f7a04", UserPrincipalName: "LeeG@contoso.com", DisplayName: "Lee Gu", UsageLocation: "FR", Department: "Operations", Licenses: people},
			{ID: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c05", UserPrincipalName: "PattiF@contoso.onmicrosoft.com", DisplayName: "Patti Fernandez"},
			// Resource accounts of teamssim's default seed.
			resourceAccount(teamssim.SeedReceptionAccountID, "ra-reception@contoso.com", "Reception", "US", ra),
			resourceAccount(teamssim.SeedSupportAccountID, "ra-support@contoso.com", "Support", "US", ra),
			resourceAccount(teamssim.SeedSalesUKAccountID, "ra-sales-uk@contoso.com", "Sales UK", "GB", ra),
		},
		Teams: defaultTeamsSeed(),
	}
}

func resourceAccount(id, upn, name, usageLocation string, licenses []string) SeedUser {
	disabled := false
	return SeedUser{
		ID: id, UserPrincipalName: upn, DisplayName: name, AccountEnabled: &disabled,
		UsageLocation: usageLocation, Department: ResourceAccountDepartment, Licenses: licenses,
	}
}

// LoadSeed reads a seed file (JSON, the form of Seed).
func LoadSeed(path string) (Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, fmt.Errorf("read seed: %w", err)
	}
	var s Seed
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Seed{}, fmt.Errorf("parse seed %s: %w", path, err)
	}
	if err := s.validate(); err != nil {
		return Seed{}, fmt.Errorf("seed %s: %w", path, err)
	}
	return s, nil
}

func (s Seed) empty() bool {
	return len(s.VerifiedDomains) == 0 && len(s.Skus) == 0 && len(s.Users) == 0
}

// validate checks the seed's internal consistency.
func (s Seed) validate() error {
	if len(s.VerifiedDomains) == 0 {
		return fmt.Errorf("no verifiedDomains")
	}
	skus := map[string]bool{}
	for i, k := range s.Skus {
		if _, err := uuid.Parse(k.SkuID); err != nil {
			return fmt.Errorf("skus[%d]: skuId %q is not a GUID", i, k.SkuID)
		}
		if k.SkuPartNumber == "" {
			return fmt.Errorf("skus[%d]: skuPartNumber is empty", i)
		}
		if k.Enabled < 0 || k.Suspended < 0 || k.Warning < 0 || k.LockedOut < 0 || k.ConsumedUnits < 0 {
			return fmt.Errorf("skus[%d]: unit counts must not be negative", i)
		}
		if skus[strings.ToLower(k.SkuID)] || skus[strings.ToLower(k.SkuPartNumber)] {
			return fmt.Errorf("skus[%d]: duplicate sku %s", i, k.SkuPartNumber)
		}
		skus[strings.ToLower(k.SkuID)] = true
		skus[strings.ToLower(k.SkuPartNumber)] = true
	}
	upns := map[string]bool{}
	for i, u := range s.Users {
		if u.ID != "" {
			if _, err := uuid.Parse(u.ID); err != nil {
				return fmt.Errorf("users[%d]: id %q is not a GUID", i, u.ID)
			}
		}
		if _, domain, ok := strings.Cut(u.UserPrincipalName, "@"); !ok || domain == "" {
			return fmt.Errorf("users[%d]: userPrincipalName %q is not alias@domain", i, u.UserPrincipalName)
		}
		if upns[strings.ToLower(u.UserPrincipalName)] {
			return fmt.Errorf("users[%d]: duplicate userPrincipalName %s", i, u.UserPrincipalName)
		}
		upns[strings.ToLower(u.UserPrincipalName)] = true
		if u.DisplayName == "" {
			return fmt.Errorf("users[%d]: displayName is empty", i)
		}
		for _, l := range u.Licenses {
			if !skus[strings.ToLower(l)] {
				return fmt.Errorf("users[%d]: license %q is not a seeded sku", i, l)
			}
		}
		if _, gerr := extensionAttributes(u.extensionAttributes(), nil); gerr != nil {
			return fmt.Errorf("users[%d]: onPremisesExtensionAttributes: %s", i, gerr.message)
		}
	}
	return nil
}

// SetFreeUnits sets the enabled units of the SKU with the given part number
// so that free of them are left once the seed's users hold theirs.
func (s *Seed) SetFreeUnits(skuPartNumber string, free int) {
	for i := range s.Skus {
		sku := &s.Skus[i]
		if !strings.EqualFold(sku.SkuPartNumber, skuPartNumber) {
			continue
		}
		used := sku.ConsumedUnits
		for _, u := range s.Users {
			for _, l := range u.Licenses {
				if strings.EqualFold(l, sku.SkuID) || strings.EqualFold(l, sku.SkuPartNumber) {
					used++
				}
			}
		}
		sku.Enabled = used + free
	}
}
