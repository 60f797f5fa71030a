package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// enrollThroughDaemon lets a running daemon run the sign-in: it holds the
// state file, so the CLI could not store the token itself. The daemon
// streams the instruction while it waits for the operator; for a pasted
// authorization code redirect the CLI reads the URL and hands it over.
// done is false when no daemon answers, and the CLI enrolls by itself.
func enrollThroughDaemon(env *cliEnv, cfgPath, tenant string, authCode bool, listen string) (code int, done bool) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return 0, false // openProbeSetup reports it
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, probe.EnrollTimeout+probeWaitMargin)
	defer cancel()

	c := localapi.NewClient(cfg.Global.Socket)
	req := localapi.EnrollRequest{Listen: listen}
	if authCode {
		req.Flow = localapi.FlowAuthCode
	}
	out, err := c.Enroll(ctx, tenant, req, func(ev localapi.EnrollEvent) {
		switch ev.Type {
		case localapi.EnrollStarted:
			if ev.Flow == localapi.FlowAuthCode && !authCode {
				fmt.Fprintln(env.stdout, "The client app is confidential, which cannot use the device code flow: using the authorization code flow.")
			}
			if ev.PasteRedirect {
				go forwardPastedRedirects(ctx, env, c, ev.EnrollmentID)
			}
		case localapi.EnrollMessage:
			fmt.Fprint(env.stdout, ev.Text)
			if !strings.HasSuffix(ev.Text, "\n") {
				fmt.Fprintln(env.stdout)
			}
		}
	})
	var down *localapi.ErrDaemonDown
	if errors.As(err, &down) {
		return 0, false
	}
	if err != nil {
		return enrollFailure(env, tenant, err), true
	}
	return printDaemonEnrollment(env, out), true
}

// probeWaitMargin covers the daemon's first probe after the sign-in.
const probeWaitMargin = 2 * time.Minute

// forwardPastedRedirects sends every non-empty line the operator types to
// the daemon's pending sign-in; the daemon says through the stream when a
// line was not the right redirect, and the flow ends on the right one.
func forwardPastedRedirects(ctx context.Context, env *cliEnv, c *localapi.Client, enrollmentID string) {
	sc := bufio.NewScanner(env.stdin)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if err := c.EnrollRedirect(ctx, enrollmentID, line); err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(env.stderr, "tokenhealth: %v\n", err)
			}
			return
		}
	}
}

func enrollFailure(env *cliEnv, tenant string, err error) int {
	var ef *localapi.EnrollFailure
	if errors.As(err, &ef) && ef.Diagnosis != nil {
		fmt.Fprintf(env.stderr, "tokenhealth: enrollment of %s failed (the daemon ran the sign-in)\n", clean(tenant))
		printDiagnosis(env.stderr, *ef.Diagnosis, ef.Error())
		return 1
	}
	var apiErr *localapi.APIError
	if errors.As(err, &apiErr) {
		if apiErr.Status == http.StatusNotFound {
			// Added to the file but not yet to the running daemon.
			return fail(env, 1, "enrollment refused by the daemon: %s; if you just added it, run 'tokenhealth reload' first", apiErr.Message)
		}
		return fail(env, 1, "enrollment refused by the daemon: %s", apiErr.Message)
	}
	return fail(env, 1, "enrollment failed: %s", probe.RedactCredentials(err.Error()))
}

// printDaemonEnrollment shows what was stored and the daemon's first probe
// with the new token; the exit status follows that probe like `check`.
func printDaemonEnrollment(env *cliEnv, out localapi.EnrollOutcome) int {
	e := out.Enrollment
	printEnrolled(env, enrolledSummary{
		name: out.Name, tenantID: out.TenantID, account: e.Account, method: e.Method, clientType: e.ClientType,
		signIn: e.InteractiveSignIn, signInSource: e.SignInSource, mfa: e.TokenHasMFA, scopes: e.GrantedScopes,
	})
	pe := out.Probe
	if pe == nil {
		fmt.Fprintln(env.stdout, "The daemon is probing the new token; 'tokenhealth status' shows the result.")
		return 0
	}
	if pe.Outcome == string(probe.OutcomeOK) {
		fmt.Fprintf(env.stdout, "Verified by the daemon: the refresh token redeems (%.0f ms). Tenant state: %s.\n", pe.LatencyMS, out.Tenant.State)
		return 0
	}
	fmt.Fprintf(env.stdout, "\nThe daemon's first probe with the new token: %s\n", pe.Outcome)
	fmt.Fprint(env.stdout, wrap(fmt.Sprintf("cause %s AADSTS%v: %s", pe.Cause, pe.Codes, pe.Message), "  ", termWidth))
	if pe.Outcome == string(probe.OutcomeDefinitive) {
		return 2
	}
	return 1
}
