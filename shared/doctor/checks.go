package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/raprov/raprov/shared/apperr"
	"github.com/raprov/raprov/shared/cloud"
	"github.com/raprov/raprov/shared/permissions"
	"github.com/raprov/raprov/shared/steps"
)

// Graph paths the checks read, relative to the version segment.
const (
	pathSkus         = "/subscribedSkus"
	pathUsers        = "/users"
	pathNumbers      = "/admin/teams/telephoneNumberManagement/numberAssignments"
	pathOrganization = "/organization"
)

// Sizes of the samples read.
const (
	numbersPage = 100 // numbers read from the inventory (one page)
	ownerSample = 50  // resource accounts whose owner attribute is read
	namedMax    = 5   // accounts named in a finding
)

// ---- 1. configuration ----

func (r *run) config() {
	s := r.s
	if s.Err != nil {
		r.configBad = true
		r.add(Result{
			Check: checkConfig, Status: Fail,
			Summary: "the configuration cannot be used: " + s.Err.Error(),
			Action: "fix what the message names (docs/configuration.md): a tenant needs RAPROV_GRAPH_TENANT_ID, " +
				"RAPROV_GRAPH_CLIENT_ID and RAPROV_GRAPH_CLIENT_SECRET or RAPROV_GRAPH_CERTIFICATE_PATH; a simulator --graph-url and --graph-ca",
		})
		return
	}
	name := "simulator"
	var cl cloud.Cloud
	if !s.Simulator {
		var err error
		if cl, err = cloud.Lookup(s.Cloud); err != nil {
			cl = cloud.Cloud{Name: s.Cloud}
		}
		name = cl.Name
	}
	teams := "the app"
	if s.TeamsAuth != "" && s.TeamsAuth != "app" {
		teams = s.TeamsAuth
	}
	res := Result{
		Check:   checkConfig,
		Status:  OK,
		Summary: fmt.Sprintf("cloud %s; %s; tenant %s, app %s", name, s.Credential, s.TenantID, s.ClientID),
		Details: []string{
			"identity platform " + s.AuthorityHost,
			"Graph " + s.GraphBaseURL + " (token scope " + s.GraphScope + ")",
			"Teams admin back end " + s.TeamsBaseURL + " (token scope " + s.TeamsScope + ", called as " + teams + ")",
			fmt.Sprintf("Teams admin list %s, get %s, lookup %s", s.TeamsListPath, s.TeamsGetPath, s.TeamsLookup),
			fmt.Sprintf("license SKU %s; ownership mark in extensionAttribute%d", s.SkuPartNumber, s.OwnerAttribute),
		},
	}
	var warns, actions []string
	if !s.Simulator {
		if h, sh := hostOf(s.GraphBaseURL), hostOf(s.GraphScope); h != "" && !strings.EqualFold(h, sh) {
			warns = append(warns, fmt.Sprintf("the Graph token scope names %s but Graph is %s", sh, h))
			actions = append(actions, "set RAPROV_GRAPH_SCOPE to https://"+h+"/.default (or unset it and set RAPROV_CLOUD)")
		}
		switch cl.Name {
		case cloud.GCCHigh, cloud.DoD, cloud.China:
			// Learn marks every telephone number management page as not
			// available in US Government L4, L5 (DoD) and China.
			warns = append(warns, "telephone number management is not available in this cloud: requests with a number will fail")
			actions = append(actions, "provision without numbers here and assign them in the Teams admin center (docs/permissions.md)")
		}
	}
	if len(warns) > 0 {
		res.Status = Warn
		res.Summary += "; " + strings.Join(warns, "; ")
		res.Action = strings.Join(actions, "; ")
	}
	r.add(res)
}

// hostOf returns the host name of a URL or scope, "" when it has none.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// ---- 2. tokens ----

func (r *run) tokens(ctx context.Context) {
	res := Result{Check: checkTokens, Status: OK}
	var problems, warns, actions, broad []string

	type audience struct {
		label string
		aud   permissions.Audience
		token func(context.Context) (string, error)
	}
	graphToken := func(ctx context.Context) (string, error) { return r.g.AccessToken(ctx, r.s.GraphScope) }
	authorityDown := false // the Graph token request got no answer
	for _, a := range []audience{{"Graph", permissions.Graph, graphToken}, {"Teams admin", permissions.TeamsAdmin, r.t.AccessToken}} {
		tok, err := a.token(ctx)
		if err != nil && a.aud == permissions.TeamsAdmin && authorityDown {
			// The same identity platform did not answer the Graph token
			// request: whatever the Teams adapter makes of it, it is not a
			// refusal of the credentials.
			problems = append(problems, "no Teams admin token: the identity platform could not be reached")
			continue
		}
		if err != nil {
			if a.aud == permissions.Graph && apperr.CodeOf(err) == apperr.Unavailable {
				authorityDown = true
			}
			switch apperr.CodeOf(err) {
			case apperr.Forbidden, apperr.Invalid:
				r.credsBad = true
				actions = appendOnce(actions, "check the tenant id, client id and the secret (or certificate) of the app registration; "+
					"a refused Teams admin scope means the tenant has no Teams service principal")
			case apperr.Unavailable, apperr.Throttled:
				r.unreachable = true
				actions = appendOnce(actions, "check the network path to "+r.s.AuthorityHost)
			}
			problems = append(problems, fmt.Sprintf("no %s token: %v", a.label, err))
			continue
		}
		if a.aud == permissions.Graph {
			r.graphToken = true
		} else {
			r.teamsToken = true
		}
		c, err := DecodeClaims(tok) // only its claims are used
		if err != nil {
			warns = append(warns, fmt.Sprintf("the %s token cannot be read (%v): its grants are unknown", a.label, err))
			continue
		}
		res.Details = append(res.Details, r.describeToken(a.label, a.aud, c))
		if c.TenantID != "" && isGUID(r.s.TenantID) && !strings.EqualFold(c.TenantID, r.s.TenantID) {
			problems = append(problems, fmt.Sprintf("the %s token is for tenant %s, not %s", a.label, c.TenantID, r.s.TenantID))
		}
		// A delegated Teams token names the public client the admin signed
		// in with, which may be another app.
		if c.AppID != "" && r.s.ClientID != "" && !strings.EqualFold(c.AppID, r.s.ClientID) && (a.aud == permissions.Graph || !r.delegated()) {
			problems = append(problems, fmt.Sprintf("the %s token is for app %s, not %s", a.label, c.AppID, r.s.ClientID))
		}
		held := c.Roles
		if a.aud == permissions.TeamsAdmin {
			held = c.Wids
		} else {
			r.roles, r.rolesKnown = c.Roles, true
		}
		for _, gap := range permissions.Missing(a.aud, held) {
			problems = append(problems, "missing "+permissions.Name(gap.Grant))
			res.Details = append(res.Details, fmt.Sprintf("%s is needed for %s", permissions.Name(gap.Grant), strings.Join(gap.Routes, ", ")))
			if a.aud == permissions.Graph {
				actions = appendOnce(actions, "grant the missing Microsoft Graph application permissions with admin consent "+
					"(Entra admin center → App registrations → API permissions)")
			} else if r.delegated() {
				actions = appendOnce(actions, "sign in with raprov login as an admin who holds the missing roles")
			} else {
				actions = appendOnce(actions, "assign the missing roles to the app's service principal "+
					"(Entra admin center → Roles and administrators → role → Add assignments)")
			}
		}
		for _, g := range permissions.Beyond(a.aud, held) {
			if permissions.Broad(g) {
				broad = append(broad, permissions.Name(g))
			}
		}
	}
	if len(broad) > 0 {
		warns = append(warns, "more than raprov needs: "+strings.Join(broad, ", "))
		actions = appendOnce(actions, "remove "+strings.Join(broad, ", ")+
			" (least privilege: docs/permissions.md lists what raprov needs)")
	}

	switch {
	case len(problems) > 0:
		res.Status = Fail
		res.Summary = strings.Join(append(problems, warns...), "; ")
	case len(warns) > 0:
		res.Status = Warn
		res.Summary = "both tokens issued; " + strings.Join(warns, "; ")
	default:
		res.Summary = "both tokens issued; they carry every permission and role raprov needs (docs/permissions.md)"
	}
	if res.Status != OK {
		res.Action = strings.Join(actions, "; ")
		if res.Action == "" {
			res.Action = "see docs/permissions.md"
		} else if slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, "missing ") }) {
			res.Action += "; tokens issued before a change keep the old grants until they expire (up to an hour)"
		}
	}
	r.add(res)
}

// delegated reports whether the back end is called as a signed-in admin.
func (r *run) delegated() bool { return r.s.TeamsAuth != "" && r.s.TeamsAuth != "app" }

// describeToken is one line on what a token carries.
func (r *run) describeToken(label string, aud permissions.Audience, c Claims) string {
	var held []string
	kind := "roles (application permissions)"
	list := c.Roles
	if aud == permissions.TeamsAdmin {
		kind, list = "wids (directory roles)", c.Wids
	}
	for _, g := range list {
		n := permissions.Name(g)
		if aud == permissions.TeamsAdmin && n == g {
			n += " (not a role raprov knows)"
		}
		held = append(held, n)
	}
	if len(held) == 0 {
		held = []string{"none"}
	}
	exp := ""
	if !c.ExpiresAt.IsZero() {
		exp = fmt.Sprintf(", expires in %d min", int(time.Until(c.ExpiresAt).Minutes()))
	}
	return fmt.Sprintf("%s token for %s%s: %s %s", label, strings.Join(c.Audience, " "), exp, kind, strings.Join(held, ", "))
}

func appendOnce(list []string, v string) []string {
	if slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func isGUID(s string) bool { return guidRE.MatchString(s) }

// ---- Graph reads ----

// read sends one Graph GET, noting an unreachable Graph.
func (r *run) read(ctx context.Context, path string, q url.Values) (int, []byte, error) {
	st, body, err := r.g.Read(ctx, path, q)
	if err != nil && apperr.CodeOf(err) == apperr.Unavailable {
		r.unreachable = true
	}
	return st, body, err
}

// request names a read as the report shows it.
func request(path string, q url.Values) string {
	if len(q) == 0 {
		return "GET " + path
	}
	s, err := url.QueryUnescape(strings.ReplaceAll(q.Encode(), "+", "%20"))
	if err != nil {
		s = q.Encode()
	}
	return "GET " + path + "?" + s
}

// answer describes a non-success answer: status and Graph's (or the
// back end's) error code and message.
func answer(status int, body []byte) string {
	s := fmt.Sprintf("HTTP %d", status)
	if d := errorText(body); d != "" {
		s += " " + d
	}
	return s
}

// errorText extracts "code: message" from an error body
// ({"error":{"code","message"}}, an identity-platform
// {"error","error_description"}, or short text).
func errorText(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var v struct {
		Error json.RawMessage `json:"error"`
		Desc  string          `json:"error_description"`
	}
	if json.Unmarshal(body, &v) == nil && len(v.Error) > 0 {
		var e struct{ Code, Message string }
		if json.Unmarshal(v.Error, &e) == nil && (e.Code != "" || e.Message != "") {
			return clip(strings.TrimSpace(e.Code + ": " + e.Message))
		}
		var code string
		if json.Unmarshal(v.Error, &code) == nil {
			return clip(strings.TrimSpace(code + ": " + v.Desc))
		}
	}
	if body[0] == '{' || body[0] == '[' || body[0] == '<' {
		return ""
	}
	return clip(string(body))
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 200
	if r := []rune(s); len(r) > max {
		return string(r[:max]) + "…"
	}
	return s
}

// refusal turns a failed read into a result: no answer, or an error status.
func (r *run) refusal(check, req string, status int, body []byte, err error, what string) Result {
	if err != nil && status == 0 {
		res := Result{Check: check, Status: Fail, Summary: req + ": no answer: " + err.Error()}
		if apperr.CodeOf(err) == apperr.Unavailable {
			res.Action = "check the network path to " + r.s.GraphBaseURL + ", then run raprov doctor again"
		} else {
			res.Action = "run raprov doctor again; if it persists, attach the --capture file to a bug report"
		}
		return res
	}
	res := Result{Check: check, Status: Fail, Summary: req + " answered " + answer(status, body)}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		res.Action = "grant what the tokens check reports missing (" + what + ")"
	case status == http.StatusTooManyRequests || status >= 500:
		res.Status = Warn
		res.Action = "Microsoft is busy or failing: run raprov doctor again later"
	default:
		res.Action = "attach the --capture file to a bug report"
	}
	return res
}

// skipWithoutGraph reports a Graph check that cannot run without a token.
func (r *run) skipWithoutGraph(check string) bool {
	if r.graphToken {
		return false
	}
	r.add(Result{Check: check, Status: Skip, Summary: "not run: no Graph token (see tokens)"})
	return true
}

// ---- 3. license ----

func (r *run) license(ctx context.Context) {
	if r.skipWithoutGraph(checkLicense) {
		return
	}
	q := url.Values{"$select": {"skuId,skuPartNumber,capabilityStatus,consumedUnits,prepaidUnits"}}
	req := request(pathSkus, q)
	st, body, err := r.read(ctx, pathSkus, q)
	if err != nil || st != http.StatusOK {
		r.add(r.refusal(checkLicense, req, st, body, err, permissions.LicenseAssignmentReadAll))
		return
	}
	var page struct {
		Value []struct {
			SkuPartNumber    string `json:"skuPartNumber"`
			CapabilityStatus string `json:"capabilityStatus"`
			ConsumedUnits    int    `json:"consumedUnits"`
			PrepaidUnits     struct {
				Enabled int `json:"enabled"`
			} `json:"prepaidUnits"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		r.add(Result{Check: checkLicense, Status: Fail, Summary: req + " answered 200 with a body that is not a list of SKUs",
			Action: "attach the --capture file to a bug report"})
		return
	}
	var names []string
	for _, sku := range page.Value {
		names = append(names, sku.SkuPartNumber)
		if !strings.EqualFold(sku.SkuPartNumber, r.s.SkuPartNumber) {
			continue
		}
		free := sku.PrepaidUnits.Enabled - sku.ConsumedUnits
		res := Result{
			Check: checkLicense, Status: OK,
			Summary: fmt.Sprintf("%s: %s, %d of %d seats free", sku.SkuPartNumber, sku.CapabilityStatus, max(free, 0), sku.PrepaidUnits.Enabled),
			Details: []string{req + " → 200"},
		}
		switch strings.ToLower(sku.CapabilityStatus) {
		case "enabled":
		case "warning":
			res.Status = Warn
			res.Action = "the subscription is in its grace period: renew it before it is suspended"
		default:
			res.Status = Fail
			res.Action = "the subscription is " + sku.CapabilityStatus + ": licenses cannot be assigned until it is renewed"
		}
		if res.Status == OK && free <= 0 {
			res.Status = Warn
			res.Action = "no free seat: requests wait for licenses up to RAPROV_LICENSE_WAIT; add Teams Phone Resource Account licenses (they are free)"
		}
		r.add(res)
		return
	}
	r.add(Result{
		Check: checkLicense, Status: Fail,
		Summary: fmt.Sprintf("the tenant has no %s subscription (it has: %s)", r.s.SkuPartNumber, strings.Join(names, ", ")),
		Action:  "add Microsoft Teams Phone Resource Account licenses, or set RAPROV_SKU_PART_NUMBER to the SKU you use",
		Details: []string{req + " → 200"},
	})
}

// ---- 4. Teams admin routes ----

func (r *run) teams(ctx context.Context) {
	if !r.teamsToken {
		r.add(Result{Check: checkTeams, Status: Skip, Summary: "not run: no Teams admin token (see tokens)"})
		return
	}
	listReq := "GET " + r.s.TeamsListPath + "?pageSize=1"
	st, list, err := r.t.ListOne(ctx)
	if st == 0 {
		res := Result{Check: checkTeams, Status: Fail, Summary: listReq + ": no answer: " + errString(err)}
		if apperr.CodeOf(err) == apperr.Unavailable {
			r.unreachable = true
			res.Action = "check the network path to " + r.s.TeamsBaseURL + " (RAPROV_TEAMS_ADMIN_BASE_URL)"
		}
		r.add(res)
		return
	}
	details := []string{fmt.Sprintf("%s → %d", listReq, st)}
	if st != http.StatusOK || err != nil {
		res := Result{Check: checkTeams, Status: Fail, Summary: "the list route answered " + teamsAnswer(st, err), Details: details}
		switch {
		case st == http.StatusUnauthorized || st == http.StatusForbidden:
			res.Action = "assign Teams Administrator (and User Administrator) to the app's service principal (docs/permissions.md)"
		case st == http.StatusNotFound || st == http.StatusMethodNotAllowed:
			res.Action = "the inferred list path is wrong for this tenant: find the right one (docs/teams-admin.md, \"Checking it against your tenant\") and set RAPROV_TEAMS_ADMIN_LIST_PATH or RAPROV_TEAMS_ADMIN_BASE_URL"
		case st == http.StatusTooManyRequests || st >= 500:
			res.Status = Warn
			res.Action = "the back end is busy or failing: run raprov doctor again later"
		default:
			res.Action = "attach the --capture file to a bug report"
		}
		r.add(res)
		return
	}
	if len(list) == 0 {
		r.add(Result{
			Check: checkTeams, Status: Warn,
			Summary: "the list route answers (200) but lists no application instance, so the get route could not be checked",
			Action:  "create one resource account in the Teams admin center and run raprov doctor again, or set RAPROV_TEAMS_ADMIN_LOOKUP=list",
			Details: details,
		})
		return
	}
	first := list[0]
	getReq := "GET " + strings.ReplaceAll(r.s.TeamsGetPath, "{objectId}", first.ObjectID)
	gst, inst, gerr := r.t.GetOne(ctx, first.ObjectID)
	if gst == 0 {
		res := Result{Check: checkTeams, Status: Fail, Summary: getReq + ": no answer: " + errString(gerr), Details: details}
		if apperr.CodeOf(gerr) == apperr.Unavailable {
			r.unreachable = true
		}
		r.add(res)
		return
	}
	details = append(details, fmt.Sprintf("%s → %d", getReq, gst))
	same := gst == http.StatusOK && gerr == nil && inst != nil &&
		strings.EqualFold(inst.ObjectID, first.ObjectID) &&
		strings.EqualFold(inst.ApplicationID, first.ApplicationID) &&
		strings.EqualFold(inst.UserPrincipalName, first.UserPrincipalName)
	if same {
		r.add(Result{
			Check: checkTeams, Status: OK,
			Summary: fmt.Sprintf("list %d, get %d: the get route returns the listed instance %s", st, gst, first.UserPrincipalName),
			Details: details,
		})
		return
	}
	what := "the get route answered " + teamsAnswer(gst, gerr)
	if gerr == nil && inst != nil {
		what = fmt.Sprintf("the get route returned another object (%s, %s) than the list (%s, %s)",
			inst.ObjectID, inst.UserPrincipalName, first.ObjectID, first.UserPrincipalName)
	}
	res := Result{Check: checkTeams, Status: Fail, Summary: fmt.Sprintf("list %d, but %s", st, what), Details: details,
		Action: "set RAPROV_TEAMS_ADMIN_LOOKUP=list (raprov then finds instances through the list route), or find the right get path " +
			"(docs/teams-admin.md) and set RAPROV_TEAMS_ADMIN_GET_PATH"}
	if strings.EqualFold(r.s.TeamsLookup, "list") {
		res.Status = Warn
		res.Action = "none needed while RAPROV_TEAMS_ADMIN_LOOKUP=list: raprov does not use the get route"
	}
	r.add(res)
}

// teamsAnswer describes a back-end answer: the status and, from the
// adapter's error, what the back end said ("HTTP 403: Access Denied.").
func teamsAnswer(status int, err error) string {
	s := fmt.Sprint(status)
	if err == nil {
		return s
	}
	msg := err.Error()
	if _, said, ok := strings.Cut(msg, fmt.Sprintf("HTTP %d: ", status)); ok {
		return s + " " + said
	}
	if status == http.StatusOK {
		return s + " (" + msg + ")"
	}
	return s
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// ---- 5. telephone number inventory ----

func (r *run) numbers(ctx context.Context) {
	if r.skipWithoutGraph(checkNumbers) {
		return
	}
	q := url.Values{"$top": {fmt.Sprint(numbersPage)}}
	req := request(pathNumbers, q)
	st, body, err := r.read(ctx, pathNumbers, q)
	if err != nil || st != http.StatusOK {
		r.add(r.refusal(checkNumbers, req, st, body, err, permissions.TeamsTelephoneNumberReadWriteAll))
		return
	}
	var page struct {
		Value    json.RawMessage `json:"value"`
		NextLink string          `json:"@odata.nextLink"`
	}
	var numbers []struct {
		AssignmentStatus string   `json:"assignmentStatus"`
		Capabilities     []string `json:"capabilities"`
	}
	err = json.Unmarshal(body, &page)
	if err == nil {
		// Learn's example shows "value" as one object; accept both.
		if v := bytes.TrimSpace(page.Value); len(v) > 0 && v[0] == '{' {
			page.Value = append(append([]byte{'['}, v...), ']')
		}
		if len(page.Value) > 0 && !bytes.Equal(bytes.TrimSpace(page.Value), []byte("null")) {
			err = json.Unmarshal(page.Value, &numbers)
		}
	}
	if err != nil {
		r.add(Result{Check: checkNumbers, Status: Fail, Summary: req + " answered 200 with a body that is not a list of numbers",
			Action: "attach the --capture file to a bug report"})
		return
	}
	free := 0
	for _, n := range numbers {
		if strings.EqualFold(n.AssignmentStatus, "unassigned") && slices.ContainsFunc(n.Capabilities, func(c string) bool {
			return strings.EqualFold(c, "voiceApplicationAssignment")
		}) {
			free++
		}
	}
	more := ""
	if page.NextLink != "" {
		more = " (more beyond this page)"
	}
	r.add(Result{
		Check: checkNumbers, Status: OK,
		Summary: fmt.Sprintf("the inventory answers: %d numbers on the first page%s, %d unassigned and usable by resource accounts", len(numbers), more, free),
		Details: []string{req + " → 200"},
	})
}

// ---- 6. ownership attribute ----

func (r *run) owner(ctx context.Context) {
	if r.skipWithoutGraph(checkOwner) {
		return
	}
	attr := fmt.Sprintf("extensionAttribute%d", r.s.OwnerAttribute)
	q := url.Values{
		"$filter": {"department eq '" + strings.ReplaceAll(steps.ResourceAccountDepartment, "'", "''") + "'"},
		"$select": {"id,userPrincipalName,onPremisesExtensionAttributes"},
		"$top":    {fmt.Sprint(ownerSample)},
	}
	req := request(pathUsers, q)
	st, body, err := r.read(ctx, pathUsers, q)
	if err != nil || st != http.StatusOK {
		res := r.refusal(checkOwner, req, st, body, err, permissions.UserReadWriteAll)
		if st == http.StatusBadRequest {
			res.Status = Warn
			res.Action = "Graph refused the sample query; check by hand that no account uses " + attr + " for anything else (docs/ownership.md)"
		}
		r.add(res)
		return
	}
	var page struct {
		Value []struct {
			UserPrincipalName string         `json:"userPrincipalName"`
			Attributes        map[string]any `json:"onPremisesExtensionAttributes"`
		} `json:"value"`
		NextLink string `json:"@odata.nextLink"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		r.add(Result{Check: checkOwner, Status: Fail, Summary: req + " answered 200 with a body that is not a list of users",
			Action: "attach the --capture file to a bug report"})
		return
	}
	prefix := steps.OwnerMark("")
	var marked int
	var foreign []string
	for _, u := range page.Value {
		v := ""
		for k, val := range u.Attributes {
			if s, ok := val.(string); ok && strings.EqualFold(k, attr) {
				v = s
			}
		}
		switch {
		case v == "":
		case strings.HasPrefix(v, prefix):
			marked++
		default:
			foreign = append(foreign, u.UserPrincipalName)
		}
	}
	sample := fmt.Sprintf("%d resource accounts", len(page.Value))
	if page.NextLink != "" {
		sample = fmt.Sprintf("the first %d resource accounts", len(page.Value))
	}
	details := []string{req + " → 200"}
	if len(foreign) == 0 {
		r.add(Result{
			Check: checkOwner, Status: OK,
			Summary: fmt.Sprintf("%s: of %s, %d carry a raprov mark, none another value", attr, sample, marked),
			Details: details,
		})
		return
	}
	named := foreign[:min(len(foreign), namedMax)]
	for _, upn := range named {
		details = append(details, upn+" holds a value in "+attr+" that is not a raprov mark")
	}
	if len(foreign) > len(named) {
		details = append(details, fmt.Sprintf("and %d more", len(foreign)-len(named)))
	}
	r.add(Result{
		Check: checkOwner, Status: Warn,
		Summary: fmt.Sprintf("%s holds values that are not raprov marks on %d of %s: the tenant uses it for something else",
			attr, len(foreign), sample),
		Action:  "pick an extension attribute no account uses and set RAPROV_GRAPH_OWNER_ATTRIBUTE (1–15) before the first run (docs/ownership.md)",
		Details: details,
	})
}

// ---- 7. verified domains ----

func (r *run) domains(ctx context.Context) {
	if r.skipWithoutGraph(checkDomains) {
		return
	}
	route := "GET " + pathOrganization
	if !r.rolesKnown || !permissions.CanCall(route, r.roles) {
		res := Result{Check: checkDomains, Status: Skip,
			Summary: "not read: GET /organization needs Organization.Read.All (or Directory.Read.All), which raprov's least-privilege set does not include"}
		if len(r.s.VerifiedDomains) == 0 {
			res.Action = "set RAPROV_VERIFIED_DOMAINS to the tenant's verified domains, so intake refuses other domains before any write"
		}
		r.add(res)
		return
	}
	q := url.Values{"$select": {"verifiedDomains"}}
	req := request(pathOrganization, q)
	st, body, err := r.read(ctx, pathOrganization, q)
	if err != nil || st != http.StatusOK {
		res := r.refusal(checkDomains, req, st, body, err, permissions.OrganizationReadAll)
		if res.Status == Fail && st != 0 && st != http.StatusUnauthorized && st != http.StatusForbidden {
			res.Status = Warn // informational: raprov does not depend on this read
		}
		r.add(res)
		return
	}
	var page struct {
		Value []struct {
			VerifiedDomains []struct {
				Name string `json:"name"`
			} `json:"verifiedDomains"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		r.add(Result{Check: checkDomains, Status: Warn, Summary: req + " answered 200 with a body that is not an organization list"})
		return
	}
	var verified []string
	for _, o := range page.Value {
		for _, d := range o.VerifiedDomains {
			verified = append(verified, d.Name)
		}
	}
	res := Result{Check: checkDomains, Status: OK, Summary: "verified: " + strings.Join(verified, ", "), Details: []string{req + " → 200"}}
	var unknown []string
	for _, d := range r.s.VerifiedDomains {
		if !slices.ContainsFunc(verified, func(v string) bool { return strings.EqualFold(v, d) }) {
			unknown = append(unknown, d)
		}
	}
	switch {
	case len(unknown) > 0:
		res.Status = Warn
		res.Summary += "; RAPROV_VERIFIED_DOMAINS names domains the tenant has not verified: " + strings.Join(unknown, ", ")
		res.Action = "remove them from RAPROV_VERIFIED_DOMAINS: Graph refuses accounts in them (domain_not_verified)"
	case len(r.s.VerifiedDomains) == 0:
		res.Action = "optional: set RAPROV_VERIFIED_DOMAINS=" + strings.Join(verified, ",") + " so intake refuses other domains before any write"
	}
	r.add(res)
}
