package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// WhatIfResult is one whatIfAnalysisResult of
// POST /identity/conditionalAccess/evaluate: the policy (id, displayName,
// state, ...) plus Microsoft's verdict for the described sign-in.
type WhatIfResult struct {
	ID            string `json:"id"`
	DisplayName   string `json:"displayName"`
	State         string `json:"state"`
	PolicyApplies bool   `json:"policyApplies"`
	// AnalysisReasons is a flags enum ("users,location"); notSet when the
	// policy applies.
	AnalysisReasons string `json:"analysisReasons"`
}

// LoadWhatIf decodes an evaluate response ({"value":[...]} or a bare array).
func LoadWhatIf(b []byte) ([]WhatIfResult, error) {
	text, err := DecodeText(b)
	if err != nil {
		return nil, err
	}
	text = bytes.TrimSpace(text)
	var out []WhatIfResult
	if len(text) > 0 && text[0] == '[' {
		err = json.Unmarshal(text, &out)
	} else {
		var page struct {
			Value *[]WhatIfResult `json:"value"`
		}
		err = json.Unmarshal(text, &page)
		if err == nil && page.Value == nil {
			err = fmt.Errorf(`no "value" array`)
		}
		if page.Value != nil {
			out = *page.Value
		}
	}
	if err != nil {
		return nil, fmt.Errorf("What If response: %w", err)
	}
	return out, nil
}

// CompareWhatIf reports, as whatif_disagreement findings, every enabled or
// report-only policy where Microsoft's What If and the local evaluator give
// opposite answers. A local "unknown" is never a disagreement: What If then
// answers the question the local data could not, and the evidence of the
// other findings should be read with it. Results whose reasons include
// notEnoughInformation, invalidPolicy or policyNotEnabled are not compared.
func CompareWhatIf(tenantID, tenantName string, evals []Evaluation, whatIf []WhatIfResult, now time.Time) []health.Finding {
	byID := make(map[string]*WhatIfResult, len(whatIf))
	for i := range whatIf {
		byID[strings.ToLower(whatIf[i].ID)] = &whatIf[i]
	}
	var out []health.Finding
	for i := range evals {
		ev := &evals[i]
		w := byID[strings.ToLower(ev.Policy.ID)]
		if w == nil || ev.Applies == Unknown || strings.EqualFold(ev.Policy.State, StateDisabled) || !comparable(w) {
			continue
		}
		if (ev.Applies == True) == w.PolicyApplies {
			continue
		}
		sev := health.SeverityInfo
		if ev.ImpactIfApplies.Breaking() {
			sev = health.SeverityWarning
		}
		msWord, localWord := "does not apply", "applies"
		if w.PolicyApplies {
			msWord, localWord = "applies", "does not apply"
		}
		f := health.Finding{TenantID: tenantID, TenantName: tenantName, Kind: health.KindWhatIfDisagreement,
			Severity: sev, DetectedAt: now, Policies: []health.PolicyRef{ev.Policy},
			Summary: fmt.Sprintf("What If says policy '%s' %s to the service account; the local evaluation says it %s", ev.Policy.DisplayName, msWord, localWord)}
		if !w.PolicyApplies {
			f.Evidence = append(f.Evidence, "What If analysis reasons: "+w.AnalysisReasons)
		}
		f.Evidence = append(f.Evidence, "local evaluation ("+string(ev.Impact)+" if enforced: "+string(ev.ImpactIfApplies)+"):")
		f.Evidence = append(f.Evidence, ev.Reasons...)
		f.Remediation = []string{"Check the conditions named above in the tenant (membership, named locations, client app types); What If reflects Entra's own view, the local evaluation the data the agent could read"}
		out = append(out, f)
	}
	return sanitizeFindings(out)
}

func comparable(w *WhatIfResult) bool {
	for _, r := range splitFlags(w.AnalysisReasons) {
		switch strings.ToLower(r) {
		case "notenoughinformation", "invalidpolicy", "policynotenabled", "invalidcondition", "unknownfuturevalue":
			return false
		}
	}
	return true
}
