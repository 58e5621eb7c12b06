package graph

import (
	"fmt"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// DefaultOwnerAttribute is the extensionAttribute that holds the ownership
// mark unless Config.OwnerAttribute names another.
const DefaultOwnerAttribute = 15

// The ownership mark (steps.OwnerMark) lives in one of the user's
// onPremisesExtensionAttributes. Microsoft documents that for a cloud-only
// user these "can be set during creation or update" and hold up to 1,024
// characters (onPremisesExtensionAttributes resource type), so the mark goes
// into the create call itself: an account raprov made never exists without
// it, and no extra write is spent. The other candidates fail one of those
// tests: employeeId holds 16 characters, open extensions and schema or
// directory extensions need calls (or an app registration change) of their
// own, and department/companyName are shown to people and edited by them.
// An on-premises-synced account cannot carry it, but raprov only continues
// accounts it created in the cloud.
type ownerAttribute struct {
	name string // extensionAttributeN
	get  func(models.OnPremisesExtensionAttributesable) *string
	set  func(models.OnPremisesExtensionAttributesable, *string)
}

type extAttrs = models.OnPremisesExtensionAttributesable

// ownerAttributes maps 1–15 to their accessors.
var ownerAttributes = map[int]ownerAttribute{
	1:  {get: extAttrs.GetExtensionAttribute1, set: extAttrs.SetExtensionAttribute1},
	2:  {get: extAttrs.GetExtensionAttribute2, set: extAttrs.SetExtensionAttribute2},
	3:  {get: extAttrs.GetExtensionAttribute3, set: extAttrs.SetExtensionAttribute3},
	4:  {get: extAttrs.GetExtensionAttribute4, set: extAttrs.SetExtensionAttribute4},
	5:  {get: extAttrs.GetExtensionAttribute5, set: extAttrs.SetExtensionAttribute5},
	6:  {get: extAttrs.GetExtensionAttribute6, set: extAttrs.SetExtensionAttribute6},
	7:  {get: extAttrs.GetExtensionAttribute7, set: extAttrs.SetExtensionAttribute7},
	8:  {get: extAttrs.GetExtensionAttribute8, set: extAttrs.SetExtensionAttribute8},
	9:  {get: extAttrs.GetExtensionAttribute9, set: extAttrs.SetExtensionAttribute9},
	10: {get: extAttrs.GetExtensionAttribute10, set: extAttrs.SetExtensionAttribute10},
	11: {get: extAttrs.GetExtensionAttribute11, set: extAttrs.SetExtensionAttribute11},
	12: {get: extAttrs.GetExtensionAttribute12, set: extAttrs.SetExtensionAttribute12},
	13: {get: extAttrs.GetExtensionAttribute13, set: extAttrs.SetExtensionAttribute13},
	14: {get: extAttrs.GetExtensionAttribute14, set: extAttrs.SetExtensionAttribute14},
	15: {get: extAttrs.GetExtensionAttribute15, set: extAttrs.SetExtensionAttribute15},
}

func init() {
	for n, a := range ownerAttributes {
		a.name = fmt.Sprintf("extensionAttribute%d", n)
		ownerAttributes[n] = a
	}
}

// ownerMark returns the mark stored on u, or "".
func (a ownerAttribute) ownerMark(u models.Userable) string {
	ext := u.GetOnPremisesExtensionAttributes()
	if ext == nil || a.get == nil {
		return ""
	}
	return deref(a.get(ext))
}

// setOwnerMark writes mark into u's extension attributes.
func (a ownerAttribute) setOwnerMark(u models.Userable, mark string) {
	ext := models.NewOnPremisesExtensionAttributes()
	a.set(ext, &mark)
	u.SetOnPremisesExtensionAttributes(ext)
}
