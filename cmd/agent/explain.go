package main

import (
	"fmt"
	"io"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/health"
)

func init() {
	register(command{name: "explain", summary: "the full story of one tenant: findings, clocks, probes, remediation", run: runExplain})
	register(command{name: "history", summary: "recent probe attempts of one tenant", run: runHistory})
}

func runExplain(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "explain", "explain TENANT [--json] [--socket PATH]")
	asJSON := fs.Bool("json", false, "print JSON")
	sock := socketFlag(fs)
	tenant, rest := subcommand(args)
	if fs.Parse(rest) != nil {
		return 2
	}
	if tenant == "" && fs.NArg() > 0 {
		tenant = fs.Arg(0)
	}
	if tenant == "" {
		fs.Usage()
		return 2
	}
	ctx, cancel := apiContext()
	defer cancel()
	ex, err := localapi.NewClient(*sock).Explain(ctx, tenant)
	if err != nil {
		return apiFailure(env, err)
	}
	if *asJSON {
		return exitOn(env, printJSON(env.stdout, ex))
	}
	renderExplain(env.stdout, newPainter(env.stdout), ex, time.Now())
	return 0
}

func renderExplain(w io.Writer, p painter, ex localapi.Explanation, now time.Time) {
	t := ex.Tenant
	fmt.Fprintf(w, "%s (%s): %s\n", clean(t.Name), t.ID, p.state(t.State))
	fmt.Fprintf(w, "Service account: %s\n", clean(ex.ServiceUPN))
	if t.Summary != "" {
		fmt.Fprint(w, wrap(t.Summary, "", termWidth))
	}
	if e := ex.Enrollment; e != nil {
		mfa := "without"
		if e.TokenHasMFA {
			mfa = "with"
		}
		fmt.Fprintf(w, "\nEnrolled %s by %s (%s client), token %s an MFA claim; interactive sign-in %s (from %s)\n",
			e.At.UTC().Format(time.RFC3339), e.Method, e.ClientType, mfa, e.InteractiveSignIn.UTC().Format(time.RFC3339), e.SignInSource)
	} else {
		fmt.Fprintln(w, "\nNot enrolled: run `tokenhealth enroll "+t.ID+"`.")
	}
	if len(t.Findings) > 0 {
		fmt.Fprintln(w, "\nFindings:")
		for _, f := range t.Findings {
			when := ""
			if !f.PredictedAt.IsZero() {
				when = fmt.Sprintf(" at %s (%s)", f.PredictedAt.UTC().Format("2006-01-02 15:04 MST"), health.Relative(f.PredictedAt, now))
			}
			fmt.Fprint(w, wrap(fmt.Sprintf("[%s] %s%s: %s", f.Severity, f.Kind, when, f.Summary), "  ", termWidth))
			for _, pol := range f.Policies {
				fmt.Fprint(w, wrap(fmt.Sprintf("policy %q (%s) %s", pol.DisplayName, pol.ID, pol.State), "      ", termWidth))
			}
			for _, ev := range f.Evidence {
				fmt.Fprint(w, wrap("evidence: "+ev, "      ", termWidth))
			}
		}
	}
	if len(ex.Clocks) > 0 {
		fmt.Fprintln(w, "\nClocks:")
		for _, c := range ex.Clocks {
			line := fmt.Sprintf("%-18s", c.Name)
			if !c.Start.IsZero() {
				line += " started " + c.Start.UTC().Format("2006-01-02 15:04")
				if c.Source != "" {
					line += " (" + c.Source + ")"
				}
			}
			if !c.Deadline.IsZero() {
				line += fmt.Sprintf(", runs out %s (%s)", c.Deadline.UTC().Format("2006-01-02 15:04"), health.Relative(c.Deadline, now))
			}
			fmt.Fprint(w, wrap(line, "  ", termWidth))
			if c.Note != "" {
				fmt.Fprint(w, wrap(c.Note, "      ", termWidth))
			}
		}
	}
	if len(ex.Timeline) > 0 {
		fmt.Fprintln(w, "\nRecent probes (newest first):")
		renderProbes(w, ex.Timeline, 10)
	}
	if len(ex.Remediation) > 0 {
		fmt.Fprintln(w, "\nWhat to do:")
		for i, r := range ex.Remediation {
			fmt.Fprint(w, wrap(fmt.Sprintf("%d. %s", i+1, r), "  ", termWidth))
		}
	}
}

func renderProbes(w io.Writer, probes []localapi.ProbeEvent, limit int) {
	for i, pe := range probes {
		if i == limit {
			fmt.Fprintf(w, "  ... %d more (tokenhealth history)\n", len(probes)-limit)
			break
		}
		detail := pe.Cause
		if len(pe.Codes) > 0 {
			detail = fmt.Sprintf("%s AADSTS%v", pe.Cause, pe.Codes)
		}
		if pe.Outcome == "ok" {
			detail = "refreshed"
		}
		fmt.Fprintf(w, "  %s  %-10s %7.0f ms  %s\n", pe.Time.UTC().Format("2006-01-02 15:04:05"), pe.Outcome, pe.LatencyMS, fit(detail, termWidth-45))
	}
}

func runHistory(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "history", "history TENANT [--limit N] [--json] [--socket PATH]")
	asJSON := fs.Bool("json", false, "print JSON")
	limit := fs.Int("limit", 50, "how many attempts")
	sock := socketFlag(fs)
	tenant, rest := subcommand(args)
	if fs.Parse(rest) != nil {
		return 2
	}
	if tenant == "" {
		fs.Usage()
		return 2
	}
	ctx, cancel := apiContext()
	defer cancel()
	h, err := localapi.NewClient(*sock).History(ctx, tenant, *limit)
	if err != nil {
		return apiFailure(env, err)
	}
	if *asJSON {
		return exitOn(env, printJSON(env.stdout, h))
	}
	if len(h.Probes) == 0 {
		fmt.Fprintln(env.stdout, "no probe attempts recorded yet")
		return 0
	}
	renderProbes(env.stdout, h.Probes, *limit)
	return 0
}

func exitOn(env *cliEnv, err error) int {
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	return 0
}
