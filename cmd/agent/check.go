package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

func init() {
	register(command{name: "check", summary: "probe a tenant's token now and explain the result", run: runCheck})
}

const checkUsage = "check TENANT [--json] [--config PATH]"

// checkJSON is the stable --json shape of `tokenhealth check`.
type checkJSON struct {
	TenantID          string           `json:"tenantId"`
	Name              string           `json:"name"`
	Time              time.Time        `json:"time"`
	Outcome           string           `json:"outcome"`
	NotEnrolled       bool             `json:"notEnrolled"`
	LatencyMS         float64          `json:"latencyMs"`
	TokenSource       string           `json:"tokenSource,omitempty"`
	AccessTokenExpiry time.Time        `json:"accessTokenExpiry,omitzero"`
	Message           string           `json:"message"`
	Diagnosis         *probe.Diagnosis `json:"diagnosis,omitempty"`
	Clocks            probe.Clocks     `json:"clocks"`
}

// runCheck exits 0 when the token redeemed, 1 for a transient failure or a
// tenant not enrolled yet, 2 when the token is failing (the same codes as
// `tokenhealth status`).
func runCheck(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "check", checkUsage)
	cfgPath := fs.String("config", config.DefaultPath, "configuration file")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	pos, ok := parseInterspersed(fs, args)
	if !ok {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	if code, done := checkThroughDaemon(env, *cfgPath, pos[0], *asJSON); done {
		return code
	}
	ps, code := openProbeSetup(env, *cfgPath, pos[0])
	if ps == nil {
		return code
	}
	defer ps.db.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	prober, err := probe.NewProber(probe.ProberOptions{Store: ps.db, HTTP: ps.http, Timeout: ps.timeout})
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	res := prober.Probe(ctx, ps.target)
	if *asJSON {
		out := checkJSON{TenantID: res.TenantID, Name: ps.target.DisplayName(), Time: res.Time, Outcome: string(res.Outcome),
			NotEnrolled: res.NotEnrolled, LatencyMS: float64(res.Latency.Microseconds()) / 1000, TokenSource: res.TokenSource,
			AccessTokenExpiry: res.AccessTokenExpiry, Message: res.Message, Clocks: res.Clocks}
		if res.Failed() && !res.NotEnrolled {
			d := res.Diagnosis
			out.Diagnosis = &d
		}
		if err := printJSON(env.stdout, out); err != nil {
			return fail(env, 1, "%v", err)
		}
		return exitForOutcome(res)
	}
	printResult(env, ps, res)
	return exitForOutcome(res)
}

func exitForOutcome(res probe.Result) int {
	switch {
	case res.Outcome == probe.OutcomeOK:
		return 0
	case res.Outcome == probe.OutcomeDefinitive:
		return 2
	}
	return 1
}

// printResult renders one probe result for a person.
func printResult(env *cliEnv, ps *probeSetup, res probe.Result) {
	w := env.stdout
	name := fmt.Sprintf("%s (%s)", ps.target.DisplayName(), ps.target.TenantID)
	switch {
	case res.NotEnrolled:
		fmt.Fprintf(w, "%s: not enrolled. Run 'tokenhealth enroll %s' first.\n", name, ps.target.TenantID)
		return
	case res.Outcome == probe.OutcomeOK:
		fmt.Fprintf(w, "%s: OK. The refresh token was redeemed at the identity provider in %s.\n", name, res.Latency.Round(time.Millisecond))
		fmt.Fprintf(w, "  New access token valid until %s.\n", res.AccessTokenExpiry.Local().Format(time.RFC3339))
	default:
		verdict := "FAILING"
		if res.Outcome == probe.OutcomeTransient {
			verdict = "TRANSIENT FAILURE (says nothing about the token; the daemon retries)"
		}
		fmt.Fprintf(w, "%s: %s\n", name, verdict)
		printDiagnosis(w, res.Diagnosis, res.Message)
	}
	printClocks(env, res.Clocks)
}

func printClocks(env *cliEnv, c probe.Clocks) {
	w := env.stdout
	if !c.InteractiveSignIn.IsZero() {
		fmt.Fprintf(w, "  Sign-in frequency clock: interactive sign-in %s (from %s), %s, %s client, MFA claim %v.\n",
			c.InteractiveSignIn.Local().Format(time.RFC3339), c.InteractiveSignInSource, c.AuthFlow, c.ClientType, c.TokenHasMFA)
	}
	if !c.LastRedemption.IsZero() {
		fmt.Fprintf(w, "  Inactivity clock: last successful redemption %s.\n", c.LastRedemption.Local().Format(time.RFC3339))
	}
}

// printDiagnosis renders a diagnosis: cause and codes, the explanation, what
// to do, the values the error carried and Microsoft's reference page.
func printDiagnosis(w io.Writer, d probe.Diagnosis, fallback string) {
	codes := make([]string, len(d.Codes))
	for i, c := range d.Codes {
		codes[i] = fmt.Sprintf("AADSTS%d", c)
	}
	fmt.Fprintf(w, "  Cause: %s", d.Cause)
	if len(codes) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(codes, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, wrap(orDefault(d.Explanation, fallback), "  ", 100))
	if d.Remediation != "" {
		fmt.Fprintln(w, "  What to do:")
		fmt.Fprint(w, wrap(d.Remediation, "    ", 100))
	}
	if len(d.Values) > 0 {
		keys := make([]string, 0, len(d.Values))
		for k := range d.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintln(w, "  Details:")
		for _, k := range keys {
			fmt.Fprintf(w, "    %-20s %s\n", k, clean(d.Values[k]))
		}
	}
	if d.LookupURL != "" {
		fmt.Fprintf(w, "  Reference: %s\n", d.LookupURL)
	}
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// checkThroughDaemon asks a running daemon to probe now: it holds the state
// file, and its scheduler records the attempt like any other. done is false
// when no daemon answers, and the CLI then probes by itself.
func checkThroughDaemon(env *cliEnv, cfgPath, tenant string, asJSON bool) (code int, done bool) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return 0, false // openProbeSetup reports it
	}
	ctx, cancel := apiContext()
	defer cancel()
	res, err := localapi.NewClient(cfg.Global.Socket).Check(ctx, tenant)
	var down *localapi.ErrDaemonDown
	if errors.As(err, &down) {
		return 0, false
	}
	if err != nil {
		return apiFailure(env, err), true
	}
	if asJSON {
		return exitOn(env, printJSON(env.stdout, res)), true
	}
	pe := res.Probe
	fmt.Fprintf(env.stdout, "%s (%s): %s in %.0f ms at %s (probed by the daemon)\n", clean(res.Tenant.Name), res.Tenant.ID,
		pe.Outcome, pe.LatencyMS, pe.Time.UTC().Format(time.RFC3339))
	if pe.Outcome != "ok" {
		fmt.Fprint(env.stdout, wrap(fmt.Sprintf("cause %s AADSTS%v: %s", pe.Cause, pe.Codes, pe.Message), "  ", termWidth))
	}
	fmt.Fprintf(env.stdout, "tenant state: %s\n", res.Tenant.State)
	switch pe.Outcome {
	case "ok":
		return 0, true
	case "definitive":
		return 2, true
	}
	return 1, true
}
