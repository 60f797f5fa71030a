package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/policy"
)

const policiesLiveUsage = "policies TENANT [--json] [--socket PATH]"

// policiesLive shows the daemon's evaluation of the tenant's live
// Conditional Access policies from its last policy pass: the same table as
// `policies analyze`, breaking policies first, then what could not be read.
func policiesLive(env *cliEnv, tenant string, args []string) int {
	fs := newFlagSet(env, "policies", policiesLiveUsage)
	sock := socketFlag(fs)
	asJSON := fs.Bool("json", false, "print the daemon's answer as JSON")
	pos, ok := parseInterspersed(fs, args)
	if !ok {
		return 2
	}
	if len(pos) > 0 {
		return fail(env, 2, "policies: unexpected argument %q (usage: tokenhealth %s)", clean(pos[0]), policiesLiveUsage)
	}
	ctx, cancel := apiContext()
	defer cancel()
	res, err := localapi.NewClient(*sock).Policies(ctx, tenant)
	if err != nil {
		return apiFailure(env, err)
	}
	if *asJSON {
		return exitOn(env, printJSON(env.stdout, res))
	}
	renderLivePolicies(env.stdout, res, time.Now())
	return 0
}

// renderLivePolicies prints the evaluation like renderAnalysis does for
// exported files, from the API's shape.
func renderLivePolicies(w io.Writer, res localapi.PoliciesResponse, now time.Time) {
	if res.ReadAt.IsZero() {
		fmt.Fprintf(w, "Tenant %s: the daemon has not read its policies yet.\n", res.TenantID)
	} else {
		fmt.Fprintf(w, "Tenant %s: %d policies, read %s (%s).\n", res.TenantID, len(res.Policies),
			notify.AbsoluteUTC(res.ReadAt), notify.Relative(now, res.ReadAt))
	}
	if len(res.Policies) > 0 {
		nameWidth := termWidth - colImpact - colApplies - colSIF - colState - 4*2
		fmt.Fprintf(w, "\n%-*s  %-*s  %-*s  %-*s  %s\n", colImpact, "IMPACT", colApplies, "APPLIES", colSIF, "SIF", colState, "STATE", "POLICY")
		for _, p := range res.Policies {
			fmt.Fprintf(w, "%-*s  %-*s  %-*s  %-*s  %s\n", colImpact, fit(p.Impact, colImpact), colApplies, appliesLabel(p.Applies),
				colSIF, liveSIF(p), colState, fit(shortState(p.State), colState), fit(policy.Sanitize(p.DisplayName), nameWidth))
		}
	}
	for _, p := range res.Policies {
		if p.Impact == string(policy.ImpactNone) {
			continue
		}
		fmt.Fprintf(w, "\n%s [%s] %s\n", fit(policy.Sanitize(p.DisplayName), termWidth-40), p.Impact, p.ID)
		for _, r := range p.Reasons {
			fmt.Fprint(w, wrapItem("    - ", policy.Sanitize(r)))
		}
		for _, r := range strings.Split(p.Remediation, "\n") {
			switch {
			case strings.TrimSpace(r) == "":
			case strings.HasPrefix(r, "Equivalent Graph request:"):
				fmt.Fprintf(w, "    > %s\n", policy.Sanitize(r)) // one line, to copy
			default:
				fmt.Fprint(w, wrapItem("    > ", policy.Sanitize(r)))
			}
		}
	}
	if len(res.Problems) > 0 {
		fmt.Fprintln(w, "\nProblems reading the tenant (the evaluation may be incomplete):")
		for _, pr := range res.Problems {
			fmt.Fprint(w, wrapItem("  ! ", clean(pr)))
		}
	}
}

func appliesLabel(b *bool) string {
	switch {
	case b == nil:
		return "unknown"
	case *b:
		return "true"
	}
	return "false"
}

// liveSIF is the sign-in frequency column; the API carries the seconds
// only for policies whose impact depends on it.
func liveSIF(p localapi.PolicyEvaluation) string {
	switch {
	case p.Impact == string(policy.ImpactBreaksEveryRefresh):
		return "every"
	case p.SignInFrequencySeconds > 0:
		return policySIF(p.SignInFrequencySeconds)
	}
	return "-"
}
