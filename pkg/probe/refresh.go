package probe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/internal/transport"
)

// DefaultProbeTimeout bounds one attempt when ProberOptions does not say.
const DefaultProbeTimeout = 30 * time.Second

// ProberOptions configure NewProber.
type ProberOptions struct {
	Store StateStore
	// HTTP is the process-wide pooled client (internal/transport).
	HTTP *http.Client
	// Clock dates attempts and clocks; default the wall clock.
	Clock clock.Clock
	// Timeout bounds one attempt; default DefaultProbeTimeout.
	Timeout time.Duration
	// MaxClients bounds the MSAL clients kept between attempts; default
	// DefaultMaxClients.
	MaxClients int
	Logger     *slog.Logger
}

// Prober redeems tenants' refresh tokens, one attempt per call, and
// records every attempt. It is safe for concurrent use across tenants;
// the scheduler never runs two attempts of one tenant at once.
type Prober struct {
	opts ProberOptions

	// msalHTTP is opts.HTTP with the authority discovery GETs cached
	// (transport.CacheDiscovery): clients are rebuilt far more often than
	// those documents change.
	msalHTTP *http.Client

	mu      sync.Mutex
	clients *clientLRU // by lower-case tenant id
}

// NewProber returns a Prober.
func NewProber(opts ProberOptions) (*Prober, error) {
	if opts.Store == nil || opts.HTTP == nil {
		return nil, errors.New("probe: a state store and an HTTP client are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultProbeTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxClients <= 0 {
		opts.MaxClients = DefaultMaxClients
	}
	msalHTTP := *opts.HTTP
	msalHTTP.Transport = transport.CacheDiscovery(opts.HTTP.Transport, transport.DiscoveryOptions{Now: opts.Clock.Now})
	return &Prober{opts: opts, msalHTTP: &msalHTTP, clients: newClientLRU(opts.MaxClients)}, nil
}

// client returns the tenant's MSAL client, rebuilding it when the target
// changed (a config reload with a new secret, client or authority).
func (p *Prober) client(t Target) (*Client, error) {
	id := strings.ToLower(t.TenantID)
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.clients.get(id); c != nil && sameTarget(c.target, t) {
		return c, nil
	}
	c, err := NewClient(t, p.opts.Store, p.msalHTTP)
	if err != nil {
		return nil, err
	}
	p.clients.put(id, c)
	return c, nil
}

// Forget drops the tenant's client (the tenant left the configuration).
func (p *Prober) Forget(tenantID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clients.remove(strings.ToLower(tenantID))
}

// Clocks returns the tenant's clocks as recorded in the store.
func (p *Prober) Clocks(tenantID string) (Clocks, error) {
	return LoadClocks(p.opts.Store, strings.ToLower(tenantID))
}

// Probe makes one forced refresh-token redemption for t under the probe
// timeout, with no retry, records it, and returns the result.
func (p *Prober) Probe(ctx context.Context, t Target) Result {
	tenant := strings.ToLower(t.TenantID)
	res := Result{TenantID: tenant, Time: p.opts.Clock.Now().UTC()}
	enr, enrolled, err := LoadEnrollment(p.opts.Store, tenant)
	if err != nil {
		return p.localFailure(res, err)
	}
	ps, err := LoadProbeState(p.opts.Store, tenant)
	if err != nil {
		return p.localFailure(res, err)
	}
	c, err := p.client(t)
	if err != nil {
		return p.localFailure(res, err)
	}
	actx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()

	// The account lookup loads the cache the way the redemption needs it
	// (access tokens hidden), so MSAL decodes the tenant's cache once per
	// probe, not once for the lookup and again for the redemption.
	acct, err := c.account(withForcedRedemption(actx), enr.HomeAccountID)
	if errors.Is(err, ErrNotEnrolled) || (err == nil && !enrolled) {
		res.NotEnrolled = true
		res.Outcome = OutcomeTransient
		res.Message = "not enrolled: run 'tokenhealth enroll " + tenant + "'"
		res.Clocks = clocksFrom(enr, enrolled, ps)
		return res
	}
	if err != nil {
		return p.localFailure(res, err)
	}

	started := time.Now() // latency is wall time even on a virtual clock
	ar, err := c.redeem(actx, acct)
	res.Latency = time.Since(started)
	if ctx.Err() != nil {
		// Our caller stopped (shutdown), not the probe deadline: the
		// attempt proves nothing and is not recorded.
		res.Abandoned = true
		res.Outcome = OutcomeTransient
		res.Message = "abandoned at shutdown"
		return res
	}
	ps.LastAttempt = res.Time
	if err == nil {
		p.judgeSuccess(&res, ar, &ps)
	} else {
		p.judgeFailure(&res, err, enr, &ps)
	}
	ps.LastOutcome = string(res.Outcome)
	ps.LastCause = res.Diagnosis.Cause
	res.Clocks = clocksFrom(enr, enrolled, ps)
	res.RecordErr = p.record(tenant, res, ps)
	return res
}

// judgeSuccess accepts the result only if it came from the identity
// provider: a cached token would prove nothing about the refresh token.
func (p *Prober) judgeSuccess(res *Result, ar public.AuthResult, ps *ProbeState) {
	res.AccessTokenExpiry = onAgentClock(ar.ExpiresOn, res.Time)
	if ar.Metadata.TokenSource != public.TokenSourceIdentityProvider {
		res.TokenSource = TokenSourceCache
		res.Outcome = OutcomeTransient
		res.Diagnosis = Diagnosis{Cause: CauseOther, Codes: []int{}, Values: map[string]string{}}
		res.Message = "MSAL answered from its cache; the refresh token was not redeemed, so this attempt proves nothing"
		return
	}
	res.TokenSource = TokenSourceIdP
	res.Outcome = OutcomeOK
	res.Message = "refresh token redeemed"
	ps.LastRedemption = res.Time
	ps.SIFIssuedAt = time.Time{}
}

func (p *Prober) judgeFailure(res *Result, err error, enr Enrollment, ps *ProbeState) {
	d := Hints{DeviceCodeSession: enr.Method == AuthFlowDeviceCode}.DiagnoseError(err)
	if !d.Transient && !d.Definitive {
		if ue, ok := noResponse(err); ok {
			// The exchange never completed (reset, HTTP/2 stream error,
			// TLS failure): whatever the text, the token was not judged.
			d.Cause, d.Transient = CauseTransient, true
			d.Explanation = "The token request did not complete: " + RedactCredentials(ue.Err.Error()) + ". This says nothing about the token; the next probe retries."
			host := ue.URL
			if u, perr := url.Parse(ue.URL); perr == nil {
				host = u.Host
			}
			d.Remediation = "None for the token. If it persists, check the network path (proxy, firewall, TLS inspection) to " + host + "."
		}
	}
	res.Diagnosis = d
	res.Outcome = outcomeOf(d)
	res.Message = d.Explanation
	if res.Message == "" {
		res.Message = RedactCredentials(err.Error())
	}
	if d.Cause == CauseSignInFrequency {
		if at, perr := time.Parse(time.RFC3339Nano, d.Values[ValueIssuedAt]); perr == nil {
			ps.SIFIssuedAt = at.UTC()
		}
	}
}

// noResponse finds the *url.Error net/http returns when a request got no
// response at all.
func noResponse(err error) (*url.Error, bool) {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue, true
	}
	return nil, false
}

// localFailure is a failure on this side (state file, configuration): it
// says nothing about the token, so it is transient and carries the error.
func (p *Prober) localFailure(res Result, err error) Result {
	res.Outcome = OutcomeTransient
	res.Local = true
	res.Diagnosis = Diagnosis{Cause: CauseOther, Codes: []int{}, Values: map[string]string{}}
	res.Message = "local: " + RedactCredentials(err.Error())
	p.opts.Logger.Error("probe could not run", "tenant", res.TenantID, "err", res.Message)
	return res
}

// record persists the attempt and the probe state in one transaction, so
// they are never out of step, and through the group commit, so concurrent
// probes share one fsync (one wait per probe, not one per write).
func (p *Prober) record(tenant string, res Result, ps ProbeState) error {
	attempt := res.Attempt()
	err := p.opts.Store.Batch(func(tx *store.Tx) error {
		if err := tx.AppendProbe(tenant, attempt); err != nil {
			return fmt.Errorf("record probe attempt: %w", err)
		}
		if err := tx.PutJSON(store.BucketTenants, probeStateKey(tenant), ps); err != nil {
			return fmt.Errorf("record probe state: %w", err)
		}
		return nil
	})
	if err != nil {
		p.opts.Logger.Error("record probe", "tenant", tenant, "err", err)
		return err
	}
	return nil
}

// sameTarget reports whether two targets would build the same MSAL client.
func sameTarget(a, b Target) bool {
	if a.TenantID != b.TenantID || a.ClientAppID != b.ClientAppID || a.ClientType != b.ClientType ||
		a.AuthorityHost != b.AuthorityHost || a.Credential.Secret.Reveal() != b.Credential.Secret.Reveal() ||
		a.Credential.CertificateFile != b.Credential.CertificateFile || a.Credential.KeyFile != b.Credential.KeyFile ||
		len(a.Scopes) != len(b.Scopes) {
		return false
	}
	for i := range a.Scopes {
		if a.Scopes[i] != b.Scopes[i] {
			return false
		}
	}
	return true
}

// onAgentClock moves a time MSAL computed from the wall clock onto the
// agent's clock, taking "now" as the attempt's start. In production the two
// clocks are the same; on a virtual clock the expiry stays meaningful.
func onAgentClock(wall time.Time, agentNow time.Time) time.Time {
	return agentNow.Add(time.Until(wall)).UTC().Truncate(time.Second)
}
