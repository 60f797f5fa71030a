package policy

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// DriftInput compares a stored snapshot of a tenant's policies with the
// current one, both evaluated for the same service account.
type DriftInput struct {
	TenantID, TenantName string
	Previous, Current    []Policy
	// Locations are the current named locations; PreviousLocations those of
	// the snapshot (nil = the same as Locations).
	Locations, PreviousLocations []NamedLocation
	Subject                      Subject
	Now                          time.Time
}

// Drift returns one policy_drift finding per policy whose change newly
// covers the account with a breaking control (or makes an existing one
// stricter), with a field-level diff and the policy's modifiedDateTime.
func Drift(in DriftInput) []health.Finding {
	prevLocs := in.PreviousLocations
	if prevLocs == nil {
		prevLocs = in.Locations
	}
	cur := Evaluate(in.Current, in.Locations, in.Subject)
	prevEvals := Evaluate(in.Previous, prevLocs, in.Subject)
	prevByID := make(map[string]*Evaluation, len(prevEvals))
	for i := range prevEvals {
		prevByID[strings.ToLower(prevEvals[i].Policy.ID)] = &prevEvals[i]
	}
	var out []health.Finding
	for i := range cur {
		ev := &cur[i]
		prev := prevByID[strings.ToLower(ev.Policy.ID)]
		sev, what := driftSeverity(prev, ev)
		if sev == "" {
			continue
		}
		f := health.Finding{TenantID: in.TenantID, TenantName: in.TenantName, Kind: health.KindPolicyDrift,
			Severity: sev, Cause: causeLabel(ev.Causes), DetectedAt: in.Now,
			Policies: []health.PolicyRef{ev.Policy}}
		f.Summary = fmt.Sprintf("Policy '%s' changed: %s", Sanitize(ev.Policy.DisplayName), what)
		f.Evidence = append(f.Evidence, driftWhen(ev.Def)...)
		if prev == nil {
			f.Evidence = append(f.Evidence, "new policy (not in the stored snapshot)")
		} else {
			d := DiffPolicies(prev.Def, ev.Def)
			if len(d) == 0 {
				d = []string{"the policy itself is unchanged: the change is in the named locations it uses or in the account's memberships"}
			}
			f.Evidence = append(f.Evidence, d...)
		}
		f.Evidence = append(f.Evidence, "now: "+string(ev.Impact)+" with "+strings.Join(ev.Controls, "; "))
		f.Evidence = append(f.Evidence, ev.Reasons...)
		f.Remediation = ev.Remediation
		out = append(out, f)
	}
	return sanitizeFindings(out)
}

// driftSeverity decides whether the change matters, and how much.
func driftSeverity(prev, cur *Evaluation) (health.Severity, string) {
	prevImpact := ImpactNone
	var prevSIF int64
	if prev != nil {
		prevImpact, prevSIF = prev.Impact, prev.SignInFrequencySeconds
	}
	switch {
	case cur.Impact == ImpactBreaksNow || cur.Impact == ImpactBreaksEveryRefresh:
		if prevImpact == cur.Impact {
			return "", ""
		}
		return health.SeverityCritical, "it now breaks the delegated token at its next refresh (" + string(cur.Impact) + ", was " + string(prevImpact) + ")"
	case cur.Impact == ImpactBreaksAfter:
		switch {
		case prevImpact == ImpactBreaksNow || prevImpact == ImpactBreaksEveryRefresh:
			return "", ""
		case prevImpact != ImpactBreaksAfter:
			return health.SeverityWarning, fmt.Sprintf("it now limits the token to a sign-in every %s (was %s)", humanDuration(time.Duration(cur.SignInFrequencySeconds)*time.Second), prevImpact)
		case cur.SignInFrequencySeconds < prevSIF:
			return health.SeverityWarning, fmt.Sprintf("sign-in frequency shortened from %s to %s",
				humanDuration(time.Duration(prevSIF)*time.Second), humanDuration(time.Duration(cur.SignInFrequencySeconds)*time.Second))
		}
	case cur.Impact == ImpactReportOnlyWouldBreak:
		if prevImpact == ImpactNone || prevImpact == ImpactUnknown {
			return health.SeverityWarning, "it would break the delegated token once enabled (report-only, " + string(cur.ImpactIfApplies) + ")"
		}
	}
	return "", ""
}

func driftWhen(p *Policy) []string {
	if p == nil || p.ModifiedDateTime == nil {
		return []string{"the policy carries no modifiedDateTime; who changed it is in the directory audit log (category Policy, activity \"Update conditional access policy\")"}
	}
	return []string{"modified " + stamp(*p.ModifiedDateTime) + "; who changed it is in the directory audit log (category Policy, activity \"Update conditional access policy\")"}
}

// ignoredDiffFields change without changing what the policy does.
var ignoredDiffFields = map[string]bool{"modifieddatetime": true, "createddatetime": true}

// DiffPolicies lists the fields that differ as "path: old -> new", sorted
// by path. Metadata fields (@odata.*, timestamps) are ignored. Keys match
// case-insensitively, so a PowerShell (PascalCase) snapshot compares equal
// to a Graph one; null, empty arrays and absent fields are all "absent".
func DiffPolicies(a, b *Policy) []string {
	fa, fb := map[string]leaf{}, map[string]leaf{}
	flatten("", "", policyJSON(a), fa)
	flatten("", "", policyJSON(b), fb)
	paths := map[string]string{}
	for k, l := range fa {
		paths[k] = l.path
	}
	for k, l := range fb {
		paths[k] = l.path
	}
	var keys []string
	for k := range paths {
		if fa[k].val != fb[k].val {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, fmt.Sprintf("%s: %s -> %s", paths[k], orAbsent(fa[k].val), orAbsent(fb[k].val)))
	}
	return out
}

type leaf struct{ path, val string }

func orAbsent(v string) string {
	if v == "" {
		return "(absent)"
	}
	return v
}

func policyJSON(p *Policy) any {
	if p == nil {
		return nil
	}
	raw := []byte(p.Raw)
	if len(raw) == 0 {
		raw, _ = json.Marshal(p)
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	return v
}

// flatten records leaves (and arrays as a whole) by lower-cased dotted
// path, remembering the path as written for display.
func flatten(key, path string, v any, out map[string]leaf) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			lk := strings.ToLower(k)
			if strings.HasPrefix(lk, "@odata") || (key == "" && ignoredDiffFields[lk]) {
				continue
			}
			nk, np := lk, k
			if key != "" {
				nk, np = key+"."+lk, path+"."+k
			}
			flatten(nk, np, val, out)
		}
	case nil:
	case []any:
		if len(x) == 0 {
			return
		}
		b, _ := json.Marshal(x)
		out[key] = leaf{path, clip(Sanitize(string(b)), 200)}
	default:
		b, _ := json.Marshal(x)
		out[key] = leaf{path, clip(Sanitize(string(b)), 200)}
	}
}

// clip shortens s to about n bytes without splitting a character.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
