package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/internal/transport"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

func init() {
	register(command{name: "enroll", summary: "sign in a tenant's service account and store its canary token", run: runEnroll})
}

// enrollUsage also says who runs the sign-in: a running daemon (found on
// the configuration's global.socket) does, since it holds the state file.
const enrollUsage = "enroll TENANT [--auth-code [--listen 127.0.0.1:PORT]] [--config PATH]\n\n" +
	"When the daemon answers on the configuration's socket it runs the sign-in and stores the token\n" +
	"(needs root or the service user; with --listen the daemon receives the redirect on that address).\n" +
	"Otherwise the command opens the state file itself."

func runEnroll(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "enroll", enrollUsage)
	cfgPath := fs.String("config", config.DefaultPath, "configuration file")
	authCode := fs.Bool("auth-code", false, "use the authorization code flow with PKCE (for tenants that block the device code flow)")
	listen := fs.String("listen", "", "with --auth-code: receive the browser's redirect on this loopback address instead of pasting it")
	pos, ok := parseInterspersed(fs, args)
	if !ok {
		return 2
	}
	if len(pos) != 1 {
		fs.Usage()
		return 2
	}
	if *listen != "" && !*authCode {
		return fail(env, 2, "--listen only applies to --auth-code")
	}
	if code, done := enrollThroughDaemon(env, *cfgPath, pos[0], *authCode, *listen); done {
		return code
	}
	ps, code := openProbeSetup(env, *cfgPath, pos[0])
	if ps == nil {
		return code
	}
	defer ps.db.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, probe.EnrollTimeout)
	defer cancel()

	en := &probe.Enroller{Store: ps.db, HTTP: ps.http, Clock: clock.Real{}}
	var (
		rec probe.Enrollment
		err error
	)
	useAuthCode := *authCode || ps.target.ClientType == probe.ClientConfidential
	if useAuthCode {
		if !*authCode {
			fmt.Fprintln(env.stdout, "The client app is confidential, which cannot use the device code flow: using the authorization code flow.")
		}
		rec, err = en.AuthCode(ctx, ps.target, probe.AuthCodeOptions{Out: env.stdout, In: env.stdin, Listen: *listen})
	} else {
		rec, err = en.DeviceCode(ctx, ps.target, env.stdout)
	}
	if err != nil {
		// A device code sign-in refused by policy most often means the
		// tenant blocks that flow: the hint lets the diagnosis say so.
		d := probe.Hints{DeviceCodeSession: !useAuthCode}.DiagnoseError(err)
		if !d.Recognized() {
			return fail(env, 1, "enrollment failed: %s", probe.RedactCredentials(err.Error()))
		}
		fmt.Fprintf(env.stderr, "tokenhealth: enrollment of %s (%s) failed\n", ps.target.DisplayName(), ps.target.TenantID)
		printDiagnosis(env.stderr, d, probe.RedactCredentials(err.Error()))
		return 1
	}
	printEnrollment(env, ps, rec)

	// Prove the stored token works the way the daemon will use it.
	prober, err := probe.NewProber(probe.ProberOptions{Store: ps.db, HTTP: ps.http, Timeout: ps.timeout})
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	res := prober.Probe(ctx, ps.target)
	if res.Outcome != probe.OutcomeOK {
		fmt.Fprintln(env.stdout)
		printResult(env, ps, res)
		return exitForOutcome(res)
	}
	fmt.Fprintf(env.stdout, "Verified: the refresh token redeems (%s).\n", res.Latency.Round(time.Millisecond))
	return 0
}

func printEnrollment(env *cliEnv, ps *probeSetup, rec probe.Enrollment) {
	printEnrolled(env, enrolledSummary{
		name: ps.target.DisplayName(), tenantID: ps.target.TenantID, account: rec.Username,
		method: string(rec.Method), clientType: string(rec.ClientType), signIn: rec.InteractiveSignIn,
		signInSource: rec.InteractiveSignInSource, mfa: rec.TokenHasMFA, scopes: rec.GrantedScopes,
	})
}

// enrolledSummary is what both enrollment paths (local and through the
// daemon) report of the stored enrollment.
type enrolledSummary struct {
	name, tenantID, account, method, clientType, signInSource string
	signIn                                                    time.Time
	mfa                                                       bool
	scopes                                                    []string
}

// printEnrolled renders an enrollment; tenant-controlled strings (the
// tenant's name, the account) are cleaned for the terminal.
func printEnrolled(env *cliEnv, e enrolledSummary) {
	method := map[string]string{string(probe.AuthFlowDeviceCode): "device code", string(probe.AuthFlowAuthCode): "authorization code with PKCE"}[e.method]
	source := map[string]string{
		probe.SignInSourceAuthTime:   "the id_token's auth_time",
		probe.SignInSourceEnrollment: "the enrollment time; the id_token carried no auth_time",
	}[e.signInSource]
	mfa := "no"
	if e.mfa {
		mfa = "yes"
	}
	fmt.Fprintf(env.stdout, "\nEnrolled %s (%s) as %s by %s, %s client.\n", clean(e.name), e.tenantID, clean(e.account), orDefault(method, e.method), e.clientType)
	fmt.Fprintf(env.stdout, "  Interactive sign-in: %s (from %s)\n", e.signIn.Format(time.RFC3339), orDefault(source, e.signInSource))
	fmt.Fprintf(env.stdout, "  MFA claim in the token: %s\n", mfa)
	fmt.Fprintf(env.stdout, "  Granted scopes: %s\n", strings.Join(e.scopes, " "))
}

// parseInterspersed accepts flags before and after positional arguments.
func parseInterspersed(fs interface {
	Parse([]string) error
	NArg() int
	Arg(int) string
	Args() []string
}, args []string) ([]string, bool) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, false
		}
		if fs.NArg() == 0 {
			return pos, true
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// probeSetup is what enroll and check need: the tenant's target, the
// state file and the HTTP client, built from the configuration.
type probeSetup struct {
	target  probe.Target
	db      *store.DB
	http    *http.Client
	timeout time.Duration
}

// connectToEnv names the variable that sends every outgoing connection to
// one address while keeping the production host names (and TLS checks
// against them): how the demo and tests reach the simulated tenants.
const connectToEnv = "TOKENHEALTH_CONNECT_TO"

// stateLockTimeout is how long the CLI waits for the state file's lock.
const stateLockTimeout = 500 * time.Millisecond

// openProbeSetup loads the configuration, finds the tenant (by id or name)
// and opens the state file. On failure it prints why and returns nil and
// the exit status.
func openProbeSetup(env *cliEnv, cfgPath, tenantArg string) (*probeSetup, int) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		reportConfigError(env.stderr, err)
		return nil, 1
	}
	t := findTenant(cfg, tenantArg)
	if t == nil {
		return nil, fail(env, 1, "tenant %q is not in the configuration %s (give its id or name; 'tokenhealth config show' lists them)", tenantArg, cfgPath)
	}
	target := probe.TargetFor(&cfg.Global, t)
	if err := target.Validate(); err != nil {
		return nil, fail(env, 1, "%v", err)
	}
	topts := transport.Options{CABundleFile: cfg.Global.CABundleFile, ProxyURL: cfg.Global.ProxyURL, MaxConcurrency: 2}
	if addr := os.Getenv(connectToEnv); addr != "" {
		topts.DialContext = transport.RedirectDialer(addr)
		fmt.Fprintf(env.stderr, "tokenhealth: %s=%s: every connection goes to %s (simulator and demos only)\n", connectToEnv, addr, addr)
	}
	hc, err := transport.New(topts)
	if err != nil {
		return nil, fail(env, 1, "%v", err)
	}
	statePath := filepath.Join(cfg.Global.StateDir, "state.db")
	db, err := store.Open(statePath, store.Options{KeyFile: cfg.Global.StateKeyFile, Timeout: stateLockTimeout})
	if errors.Is(err, store.ErrLocked) {
		return nil, fail(env, 1, "the tokenhealth daemon holds %s; stop it (systemctl stop tokenhealth) or use the daemon", statePath)
	}
	if err != nil {
		return nil, fail(env, 1, "%v", err)
	}
	return &probeSetup{target: target, db: db, http: hc, timeout: cfg.Global.ProbeTimeout.D()}, 0
}

// findTenant matches the tenant id (case-insensitive) first, then the name.
func findTenant(cfg *config.Config, arg string) *config.Tenant {
	for i := range cfg.Tenants {
		if strings.EqualFold(cfg.Tenants[i].ID, arg) {
			return &cfg.Tenants[i]
		}
	}
	for i := range cfg.Tenants {
		if strings.EqualFold(cfg.Tenants[i].Name, arg) {
			return &cfg.Tenants[i]
		}
	}
	return nil
}
