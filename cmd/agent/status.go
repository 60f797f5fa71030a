package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func init() {
	register(command{name: "status", summary: "show every tenant's token health (exit 0 healthy, 1 warning, 2 failing)", run: runStatus})
}

func runStatus(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "status", "status [--json] [--socket PATH]")
	asJSON := fs.Bool("json", false, "print the stable JSON schema instead of a table")
	sock := socketFlag(fs)
	if fs.Parse(args) != nil {
		return 2
	}
	ctx, cancel := apiContext()
	defer cancel()
	st, err := localapi.NewClient(*sock).Status(ctx)
	if err != nil {
		return apiFailure(env, err)
	}
	if *asJSON {
		if err := printJSON(env.stdout, st); err != nil {
			return fail(env, 1, "%v", err)
		}
	} else {
		renderStatus(env.stdout, newPainter(env.stdout), st, time.Now())
	}
	states := make([]health.State, 0, len(st.Tenants))
	for _, t := range st.Tenants {
		states = append(states, t.State)
	}
	return health.ExitCode(states)
}

// renderStatus prints the aligned table, worst tenants first as the daemon
// sorted them; it fits termWidth columns.
func renderStatus(w io.Writer, p painter, st localapi.StatusResponse, now time.Time) {
	fmt.Fprintf(w, "%-30s %-11s %-13s %-13s %s\n", "TENANT", "STATE", "LAST REFRESH", "BREAKS IN", "CAUSE / POLICY")
	for _, t := range st.Tenants {
		breaks := "-"
		if !t.PredictedBreak.IsZero() {
			breaks = health.Relative(t.PredictedBreak, now)
			if t.PredictedBreak.Before(now) {
				breaks = "broken"
			}
		}
		refreshed := "-"
		if !t.LastRefresh.IsZero() {
			refreshed = health.Relative(t.LastRefresh, now)
		}
		cause := t.Cause
		if len(t.Policies) > 0 {
			cause += ": " + t.Policies[0].DisplayName
		}
		fmt.Fprintf(w, "%-30s %s %-13s %-13s %s\n", fit(t.Name, 30), p.padState(t.State, 11),
			fit(refreshed, 13), fit(breaks, 13), fit(cause, termWidth-72))
	}
	counts := map[health.State]int{}
	for _, t := range st.Tenants {
		counts[t.State]++
	}
	fmt.Fprintf(w, "\n%d tenants:", len(st.Tenants))
	for _, s := range health.States {
		if counts[s] > 0 {
			fmt.Fprintf(w, " %d %s", counts[s], s)
		}
	}
	fmt.Fprintln(w)
	if st.Agent.IdPUnreachable {
		fmt.Fprintln(w, "The identity provider is unreachable: tenant failures are not verdicts until it answers again.")
	}
	if st.Agent.ConfigError != "" {
		fmt.Fprintln(w, "Config reload refused; still running on the previous config:")
		fmt.Fprint(w, wrap(st.Agent.ConfigError, "  ", termWidth))
	}
	for _, pr := range st.Agent.Problems {
		fmt.Fprint(w, wrap("agent: "+pr, "", termWidth))
	}
}
