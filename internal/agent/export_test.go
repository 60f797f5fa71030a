package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/policy"
)

// SecondOpinion runs the What If comparison for a tenant with the given
// local evaluations (tests flip them to provoke a disagreement).
func (a *Agent) SecondOpinion(ctx context.Context, tenantID string, mutate func([]policy.Evaluation)) ([]health.Finding, error) {
	a.mu.Lock()
	tr := a.tenants[tenantID]
	if tr == nil {
		a.mu.Unlock()
		return nil, fmt.Errorf("no tenant %s", tenantID)
	}
	r, err := a.readerLocked(tr)
	subj, evals, name := tr.subject, append([]policy.Evaluation(nil), tr.evaluations...), tr.cfg.Name
	a.mu.Unlock()
	if err != nil {
		return nil, err
	}
	mutate(evals)
	return a.secondOpinion(ctx, r, tenantID, name, subj, evals, time.Now()), nil
}
