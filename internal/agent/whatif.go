package agent

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/graph"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/policy"
)

// whatIfRequest is the body of POST /identity/conditionalAccess/evaluate
// (Microsoft's What If) describing a refresh of the canary: the service
// account, Microsoft Graph as the resource, a desktop client on a Linux
// server, the egress address and the flow the session began with.
func whatIfRequest(s policy.Subject) ([]byte, error) {
	conditions := map[string]any{
		"clientAppType":  policy.ClientAppTypeMobileDesktop,
		"devicePlatform": policy.PlatformLinux,
	}
	if s.IP != "" {
		conditions["ipAddress"] = s.IP
	}
	if s.Country != "" {
		conditions["country"] = s.Country
	}
	if s.AuthFlow == policy.FlowDeviceCode {
		conditions["authenticationFlow"] = map[string]string{"transferMethod": "deviceCodeFlow"}
	}
	return json.Marshal(map[string]any{
		"signInIdentity": map[string]string{"@odata.type": "#microsoft.graph.userSignIn", "userId": s.UserID},
		"signInContext": map[string]any{"@odata.type": "#microsoft.graph.applicationContext",
			"includeApplications": []string{policy.MicrosoftGraphAppID}},
		"signInConditions":    conditions,
		"appliedPoliciesOnly": false,
	})
}

// secondOpinion asks Microsoft's What If about the same refresh and turns
// disagreements with the local evaluation into findings. Its request
// shape changed in 2025 and it is not offered everywhere, so any failure
// only leaves the local evaluation standing (and is logged).
func (a *Agent) secondOpinion(ctx context.Context, r *graph.Reader, tenantID, name string, s policy.Subject, evals []policy.Evaluation, now time.Time) []health.Finding {
	if s.UserID == "" || len(evals) == 0 {
		return nil
	}
	body, err := whatIfRequest(s)
	if err != nil {
		return nil
	}
	raw, err := r.WhatIf(ctx, body)
	if err != nil {
		var ge *graph.Error
		if errors.As(err, &ge) && ge.Throttled {
			a.m.graphThrottled.WithLabelValues("whatif").Inc()
		}
		a.log.Debug("What If second opinion unavailable", "tenant", tenantID, "err", err)
		return nil
	}
	results, err := policy.LoadWhatIf(listJSON(raw))
	if err != nil {
		a.log.Warn("What If answer not understood", "tenant", tenantID, "err", err)
		return nil
	}
	return policy.CompareWhatIf(tenantID, name, evals, results, now)
}
