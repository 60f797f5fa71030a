package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// GraphPoliciesURL is the v1.0 collection of Conditional Access policies.
const GraphPoliciesURL = "https://graph.microsoft.com/v1.0/identity/conditionalAccess/policies"

// Remediation texts shared by the evaluator and the predictions.
const (
	RemediationRememberMFA = "Set \"remember multifactor authentication on trusted devices\" to 365 days (Users > All users > Per-user MFA > Service settings)"
	// RemediationRememberMFAWithSIF is the seed procedure's second step next
	// to a sign-in frequency policy, with Microsoft's caveat.
	RemediationRememberMFAWithSIF = RemediationRememberMFA + "; Microsoft documents it as a browser cookie that is not compatible with sign-in frequency, so the exclusion above is the fix that matters"
	RemediationReenroll           = "Re-enroll the token after the change: the current refresh token is already rejected"
	RemediationUseAuthCode        = "Or re-enroll with the authorization code flow (PKCE) instead of the device code flow: a device-code session stays protocol-tracked and every refresh is blocked"
	RemediationMFAClaim           = "Or re-enroll with MFA so the refresh token carries the MFA claim"
)

// accountLabel names the account in instructions.
func accountLabel(s *Subject) string {
	switch {
	case s.UPN != "":
		return s.UPN
	case s.UserID != "":
		return s.UserID
	}
	return "the service account"
}

// remediationFor writes the concrete steps for a policy that breaks (or,
// once enabled or once its unknown condition resolves, would break) the token.
func remediationFor(ev *Evaluation, s *Subject, tmpl *exclusionTemplate) []string {
	if !ev.Impact.Breaking() && ev.Impact != ImpactReportOnlyWouldBreak &&
		!(ev.Impact == ImpactUnknown && ev.ImpactIfApplies.Breaking()) {
		return nil
	}
	p := ev.Def
	var out []string
	prefix := ""
	switch ev.Impact {
	case ImpactReportOnlyWouldBreak:
		prefix = "Before this report-only policy is enabled: "
	case ImpactUnknown:
		prefix = "If this policy applies (see reasons): "
	}
	out = make([]string, 0, 4)
	out = append(out, prefix+"exclude "+accountLabel(s)+tmpl.portalSuffix)
	if req, err := tmpl.request(s.UserID); err == nil {
		out = append(out, req)
	}
	for _, c := range ev.Causes {
		switch c {
		case CauseSignInFrequency, CauseSIFEveryTime:
			if !containsString(out, RemediationRememberMFAWithSIF) {
				out = append(out, RemediationRememberMFAWithSIF)
			}
		case CauseMFA, CauseAuthStrength:
			if !containsString(out, RemediationMFAClaim) {
				out = append(out, RemediationMFAClaim)
			}
		}
	}
	if isDeviceCodeBlock(p) && s.AuthFlow == FlowDeviceCode {
		out = append(out, RemediationUseAuthCode)
	}
	if ev.Impact == ImpactBreaksNow || ev.Impact == ImpactBreaksEveryRefresh {
		out = append(out, RemediationReenroll)
	}
	return out
}

// PortalExcludePath is where an administrator excludes a user by hand.
func PortalExcludePath(policyName string) string {
	return "Entra admin center > Protection > Conditional Access > Policies > " + policyName + " > Users > Exclude"
}

// ExclusionRequest renders the Graph PATCH that adds userID to the policy's
// conditions.users.excludeUsers. The whole users object is sent, with every
// existing inclusion and exclusion kept, so the request is correct whether
// Graph merges or replaces the complex property.
func ExclusionRequest(p *Policy, userID string) (string, error) {
	r, err := newExclusionTemplate(p).request(userID)
	return strings.TrimPrefix(r, "Equivalent Graph request: "), err
}

// ExclusionPatchBody returns {"conditions":{"users":{...}}} with userID
// appended to excludeUsers (once).
func ExclusionPatchBody(p *Policy, userID string) ([]byte, error) {
	return newExclusionTemplate(p).body(userID)
}

// exclusionTemplate is the PATCH body prepared once per policy: the JSON
// text before and after the slot where the new user id goes, so rendering
// it per evaluation is a concatenation rather than a JSON round trip.
type exclusionTemplate struct {
	policyID, policyName string
	portalSuffix         string // " from policy 'X': <portal path>"
	before, after        []byte // around the new id (including its comma)
	unchanged            []byte // body when the user is already excluded
	existing             map[string]bool
}

const exclusionSlot = `\u0000tokenhealth-new-exclusion\u0000` // how encoding/json writes the placeholder

func newExclusionTemplate(p *Policy) *exclusionTemplate {
	t := &exclusionTemplate{policyID: p.ID, policyName: p.DisplayName, existing: map[string]bool{},
		portalSuffix: " from policy '" + p.DisplayName + "': " + PortalExcludePath(p.DisplayName)}
	users := rawUsers(p.Raw)
	if users == nil {
		users = map[string]any{}
		if p.Conditions != nil && p.Conditions.Users != nil {
			b, _ := json.Marshal(p.Conditions.Users)
			_ = json.Unmarshal(b, &users)
		}
	}
	key := "excludeUsers"
	for k := range users {
		if strings.EqualFold(k, "excludeUsers") {
			key = k
		}
	}
	excl, _ := users[key].([]any)
	for _, e := range excl {
		if s, ok := e.(string); ok {
			t.existing[strings.ToLower(s)] = true
		}
	}
	users[key] = excl
	if excl == nil {
		users[key] = []any{}
	}
	t.unchanged, _ = json.Marshal(map[string]any{"conditions": map[string]any{"users": users}})
	users[key] = append(append([]any(nil), excl...), "\x00tokenhealth-new-exclusion\x00")
	withSlot, _ := json.Marshal(map[string]any{"conditions": map[string]any{"users": users}})
	slot := []byte(`"` + exclusionSlot + `"`)
	i := bytes.Index(withSlot, slot)
	if i < 0 { // cannot happen: the slot value is unique by construction
		return t
	}
	t.before, t.after = withSlot[:i], withSlot[i+len(slot):]
	return t
}

func (t *exclusionTemplate) body(userID string) ([]byte, error) {
	if userID == "" {
		return nil, fmt.Errorf("the service account's object id is not known")
	}
	if t.existing[strings.ToLower(userID)] || t.before == nil {
		return t.unchanged, nil
	}
	q, _ := json.Marshal(userID)
	out := make([]byte, 0, len(t.before)+len(q)+len(t.after))
	out = append(append(append(out, t.before...), q...), t.after...)
	return out, nil
}

// request renders "Equivalent Graph request: PATCH <url> <body>".
func (t *exclusionTemplate) request(userID string) (string, error) {
	if t.policyID == "" {
		return "", fmt.Errorf("policy %q has no id", t.policyName)
	}
	body, err := t.body(userID)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(requestPrefix) + len(GraphPoliciesURL) + len(t.policyID) + len(body) + 2)
	b.WriteString(requestPrefix)
	b.WriteString(GraphPoliciesURL)
	b.WriteByte('/')
	b.WriteString(t.policyID)
	b.WriteByte(' ')
	b.Write(body)
	return b.String(), nil
}

const requestPrefix = "Equivalent Graph request: PATCH "

// rawUsers extracts conditions.users from the policy as loaded, keeping
// fields this package does not model. Keys are matched case-insensitively.
func rawUsers(raw json.RawMessage) map[string]any {
	if len(raw) == 0 {
		return nil
	}
	var top map[string]any
	if json.Unmarshal(raw, &top) != nil {
		return nil
	}
	cond, _ := getFold(top, "conditions").(map[string]any)
	users, _ := getFold(cond, "users").(map[string]any)
	if users == nil {
		return nil
	}
	// PowerShell exports spell properties in PascalCase and add
	// AdditionalProperties; Graph expects its own camelCase names.
	out := make(map[string]any, len(users))
	for k, v := range users {
		if k == "" || strings.HasPrefix(k, "@odata") || strings.EqualFold(k, "AdditionalProperties") {
			continue
		}
		out[strings.ToLower(k[:1])+k[1:]] = v
	}
	return out
}

func getFold(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

func isDeviceCodeBlock(p *Policy) bool {
	if p.Conditions == nil || p.Conditions.AuthenticationFlows == nil {
		return false
	}
	for _, m := range splitFlags(p.Conditions.AuthenticationFlows.TransferMethods) {
		if strings.EqualFold(m, "deviceCodeFlow") {
			return true
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
