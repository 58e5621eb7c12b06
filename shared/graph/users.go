package graph

import (
	"cmp"
	"context"
	"crypto/rand"
	"log/slog"
	"math/big"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/raprov/raprov/events"
	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/steps"
)

// userFields is the $select of every user read: exactly what steps.Account
// holds. Selecting also lowers a read's cost by one resource unit.
var userFields = []string{
	"id", "userPrincipalName", "displayName", "department",
	"usageLocation", "accountEnabled", "assignedLicenses", "onPremisesExtensionAttributes",
	"onPremisesSyncEnabled",
}

// FindByUPN returns the user with the given userPrincipalName, or nil.
func (c *Client) FindByUPN(ctx context.Context, upn string) (*steps.Account, error) {
	ctx, rec := withRecorder(ctx)
	top := int32(1)
	filter := "userPrincipalName eq " + quote(upn)
	resp, err := c.usersBuilder().Get(ctx, &users.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UsersRequestBuilderGetQueryParameters{
			Filter: &filter,
			Select: userFields,
			Top:    &top,
		},
	})
	if err != nil {
		return nil, mapError("find user by UPN", err, rec)
	}
	for _, u := range resp.GetValue() {
		// The filter is exact but case-insensitive, as UPNs are.
		if a := c.account(u); strings.EqualFold(a.UserPrincipalName, upn) {
			return &a, nil
		}
	}
	return nil, nil
}

// Get returns the user with the given object id.
func (c *Client) Get(ctx context.Context, id string) (steps.Account, error) {
	if id == "" {
		return steps.Account{}, apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: get user: empty object id")
	}
	ctx, rec := withRecorder(ctx)
	u, err := c.usersBuilder().ByUserId(id).Get(ctx, &users.UserItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.UserItemRequestBuilderGetQueryParameters{Select: userFields},
	})
	if err != nil {
		return steps.Account{}, mapError("get user", err, rec)
	}
	if u == nil {
		return steps.Account{}, &apperr.Error{Code: apperr.Internal, Message: "graph: get user: empty response"}
	}
	return c.account(u), nil
}

// Create creates a sign-in-blocked user with usageLocation and department
// set in the same call, and a random password that is discarded: resource
// accounts never sign in.
func (c *Client) Create(ctx context.Context, a steps.NewAccount) (steps.Account, error) {
	if a.UserPrincipalName == "" || a.DisplayName == "" {
		return steps.Account{}, apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: create user: userPrincipalName and displayName are required")
	}
	nickname := a.MailNickname
	if nickname == "" {
		nickname, _, _ = strings.Cut(a.UserPrincipalName, "@")
	}
	department := a.Department // the resource-account department when empty
	if department == "" {
		department = steps.ResourceAccountDepartment
	}
	password := newPassword()
	pp := models.NewPasswordProfile()
	pp.SetPassword(&password)
	pp.SetForceChangePasswordNextSignIn(ptr(false))

	u := models.NewUser()
	u.SetAccountEnabled(ptr(false))
	u.SetUserPrincipalName(&a.UserPrincipalName)
	u.SetDisplayName(&a.DisplayName)
	u.SetMailNickname(&nickname)
	u.SetDepartment(&department)
	u.SetPasswordProfile(pp)
	if a.UsageLocation != "" {
		u.SetUsageLocation(ptr(strings.ToUpper(a.UsageLocation)))
	}
	if a.OwnerMark != "" {
		c.owner.setOwnerMark(u, a.OwnerMark)
	}

	ctx, rec := withRecorder(ctx)
	created, err := c.usersBuilder().Post(ctx, u, nil)
	if err != nil {
		return steps.Account{}, mapError("create user", err, rec)
	}
	if created == nil {
		return steps.Account{}, &apperr.Error{Code: apperr.Internal, Message: "graph: create user: empty response"}
	}
	// Graph answers with the default property set, which leaves out
	// department, usageLocation and accountEnabled: they are as sent.
	acc := c.account(created)
	acc.Department = cmp.Or(acc.Department, department)
	acc.UsageLocation = cmp.Or(acc.UsageLocation, deref(u.GetUsageLocation()))
	acc.AccountEnabled = false
	acc.OwnerMark = cmp.Or(acc.OwnerMark, a.OwnerMark)
	c.log.InfoContext(ctx, "graph: user created", slog.String("id", acc.ID), slog.String("upn", acc.UserPrincipalName))
	return acc, nil
}

// SetUsageLocation sets the user's usageLocation (PATCH /users/{id}).
func (c *Client) SetUsageLocation(ctx context.Context, id, usageLocation string) error {
	if id == "" || usageLocation == "" {
		return apperr.New(apperr.Invalid, events.ReasonInvalidRequest, "graph: set usage location: object id and usage location are required")
	}
	u := models.NewUser()
	u.SetUsageLocation(ptr(strings.ToUpper(usageLocation)))
	ctx, rec := withRecorder(ctx)
	if _, err := c.usersBuilder().ByUserId(id).Patch(ctx, u, nil); err != nil {
		return mapError("set usage location", err, rec)
	}
	return nil
}

// account converts a Graph user to the port's type.
func (c *Client) account(u models.Userable) steps.Account {
	a := steps.Account{
		ID:                deref(u.GetId()),
		UserPrincipalName: deref(u.GetUserPrincipalName()),
		DisplayName:       deref(u.GetDisplayName()),
		Department:        deref(u.GetDepartment()),
		UsageLocation:     deref(u.GetUsageLocation()),
		AccountEnabled:    deref(u.GetAccountEnabled()),
		OwnerMark:         c.owner.ownerMark(u),
		OnPremisesSynced:  deref(u.GetOnPremisesSyncEnabled()),
	}
	for _, l := range u.GetAssignedLicenses() {
		if id := l.GetSkuId(); id != nil {
			a.AssignedSkuIDs = append(a.AssignedSkuIDs, id.String())
		}
	}
	return a
}

// quote returns s as an OData string literal: in single quotes, with every
// quote inside doubled. The SDK percent-encodes the query but does not
// escape OData literals.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Password alphabet: Entra requires three of the four classes; newPassword
// uses all four. The symbols avoid quotes, backslashes and spaces.
const (
	lowers  = "abcdefghijkmnopqrstuvwxyz"
	uppers  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	digits  = "23456789"
	symbols = "!#$%&*+-.:=?@^_~"
)

// newPassword returns a 32-character password from crypto/rand with at
// least one character of each class. It is sent once in the create call and
// never logged or returned.
func newPassword() string {
	const n = 32
	classes := []string{lowers, uppers, digits, symbols}
	all := strings.Join(classes, "")
	b := make([]byte, n)
	for i := range b {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		b[i] = set[randIndex(len(set))]
	}
	// Shuffle so the guaranteed characters are not always first.
	for i := n - 1; i > 0; i-- {
		j := randIndex(i + 1)
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

// randIndex returns a uniform random int in [0, n) from crypto/rand.
func randIndex(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		// crypto/rand.Reader does not fail on supported platforms.
		panic("graph: crypto/rand: " + err.Error())
	}
	return int(v.Int64())
}

func ptr[T any](v T) *T { return &v }
