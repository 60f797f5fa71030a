package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// enrollments tracks the sign-ins the daemon runs for the CLI: at most one
// per tenant, each findable by its id for the pasted redirect URL.
type enrollments struct {
	mu       sync.Mutex
	byID     map[string]*pendingEnrollment
	byTenant map[string]string
}

type pendingEnrollment struct {
	id       string
	tenantID string
	// paste feeds the authorization code flow the redirect URL the
	// operator pasted; nil for the device code flow or a loopback listener.
	paste *io.PipeWriter
}

func (e *enrollments) begin(tenantID string, paste *io.PipeWriter) (*pendingEnrollment, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.byID == nil {
		e.byID, e.byTenant = map[string]*pendingEnrollment{}, map[string]string{}
	}
	if _, busy := e.byTenant[tenantID]; busy {
		return nil, fmt.Errorf("an enrollment of tenant %s is already in progress; finish or cancel it first: %w", tenantID, localapi.ErrConflict)
	}
	p := &pendingEnrollment{id: hex.EncodeToString(raw[:]), tenantID: tenantID, paste: paste}
	e.byID[p.id], e.byTenant[tenantID] = p, p.id
	return p, nil
}

func (e *enrollments) end(p *pendingEnrollment) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.byID, p.id)
	delete(e.byTenant, p.tenantID)
}

func (e *enrollments) find(id string) *pendingEnrollment {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.byID[id]
}

// eventWriter turns the enroller's instruction text into stream events.
type eventWriter func(localapi.EnrollEvent)

func (w eventWriter) Write(b []byte) (int, error) {
	w(localapi.EnrollEvent{Type: localapi.EnrollMessage, Text: string(b)})
	return len(b), nil
}

// chooseFlow validates the requested flow against the tenant's client type.
func chooseFlow(req localapi.EnrollRequest, ct probe.ClientType) (string, error) {
	flow := req.Flow
	if flow == "" {
		flow = localapi.FlowDeviceCode
		if ct == probe.ClientConfidential {
			flow = localapi.FlowAuthCode // the device code flow needs a public client
		}
	}
	switch flow {
	case localapi.FlowDeviceCode:
		if ct != probe.ClientPublic {
			return "", fmt.Errorf("%w: flow %q needs a public client; a confidential client enrolls with %q", localapi.ErrBadRequest, flow, localapi.FlowAuthCode)
		}
		if req.Listen != "" {
			return "", fmt.Errorf("%w: listen %q only applies to flow %q", localapi.ErrBadRequest, req.Listen, localapi.FlowAuthCode)
		}
	case localapi.FlowAuthCode:
	default:
		return "", fmt.Errorf("%w: flow %q: must be %q or %q", localapi.ErrBadRequest, flow, localapi.FlowDeviceCode, localapi.FlowAuthCode)
	}
	return flow, nil
}

// Enroll runs the sign-in against the daemon's own state file and HTTP
// client, then resets the tenant's failure state and probes it at once.
func (a *Agent) Enroll(ctx context.Context, key string, req localapi.EnrollRequest, progress func(localapi.EnrollEvent)) (localapi.EnrollOutcome, error) {
	a.mu.Lock()
	id, tr, err := a.lookupLocked(key)
	var target probe.Target
	if err == nil {
		target = tr.target
	}
	a.mu.Unlock()
	if err != nil {
		return localapi.EnrollOutcome{}, err
	}
	flow, err := chooseFlow(req, target.ClientType)
	if err != nil {
		return localapi.EnrollOutcome{}, err
	}
	var (
		pasteR *io.PipeReader
		pasteW *io.PipeWriter
	)
	if flow == localapi.FlowAuthCode && req.Listen == "" {
		pasteR, pasteW = io.Pipe()
		defer pasteW.CloseWithError(errors.New("the enrollment has ended"))
	}
	p, err := a.enroll.begin(id, pasteW)
	if err != nil {
		return localapi.EnrollOutcome{}, err
	}
	defer a.enroll.end(p)

	ctx, cancel := context.WithTimeout(ctx, probe.EnrollTimeout)
	defer cancel()
	progress(localapi.EnrollEvent{Type: localapi.EnrollStarted, EnrollmentID: p.id, Flow: flow, PasteRedirect: pasteW != nil})
	a.log.Info("enrollment started", "tenant", id, "flow", flow)

	en := &probe.Enroller{Store: a.db, HTTP: a.http, Clock: a.clock}
	out := eventWriter(progress)
	var rec probe.Enrollment
	if flow == localapi.FlowDeviceCode {
		rec, err = en.DeviceCode(ctx, target, out)
	} else {
		rec, err = en.AuthCode(ctx, target, probe.AuthCodeOptions{Out: out, In: pasteR, Listen: req.Listen})
	}
	if err != nil {
		msg := probe.RedactCredentials(err.Error())
		a.log.Warn("enrollment failed", "tenant", id, "flow", flow, "err", msg)
		f := &localapi.EnrollFailure{Err: fmt.Errorf("enrollment of %s failed: %s", id, msg)}
		// A device code sign-in refused by policy most often means the
		// tenant blocks that flow: the hint lets the diagnosis say so.
		if d := (probe.Hints{DeviceCodeSession: flow == localapi.FlowDeviceCode}).DiagnoseError(err); d.Recognized() {
			f.Diagnosis = &d
		}
		return localapi.EnrollOutcome{}, f
	}
	a.log.Info("tenant enrolled", "tenant", id, "account", rec.Username, "method", rec.Method)
	return a.afterEnrollment(ctx, id, rec), nil
}

// afterEnrollment forgets the tenant's old failure (the token that failed is
// gone), has the scheduler probe the new one now and waits briefly for that
// first probe so the operator sees it worked.
func (a *Agent) afterEnrollment(ctx context.Context, id string, rec probe.Enrollment) localapi.EnrollOutcome {
	before, _ := a.db.ProbeHistory(id, 1)
	a.mu.Lock()
	out := localapi.EnrollOutcome{TenantID: id, Enrollment: enrollmentView(rec)}
	if tr := a.tenants[id]; tr != nil {
		out.Name = tr.cfg.Name
		tr.enrolled, tr.probed = true, false
		tr.probeState, tr.lastUpdate, tr.probeFindings = probe.StatePending, probe.Update{}, nil
		_, hr := a.publishLocked(tr)
		a.mu.Unlock()
		// Persist only: the notifier hears from the first probe, so a
		// failing alert is resolved by evidence, not by the enrollment.
		a.persist(id, hr)
	} else {
		a.mu.Unlock() // removed by a reload during the sign-in
	}
	if !a.sched.Reenrolled(id) {
		return out
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if pe, st, err := a.waitForProbe(wctx, id, before); err == nil {
		out.Probe, out.Tenant = &pe, st
	} else {
		a.mu.Lock()
		if tr := a.tenants[id]; tr != nil {
			out.Tenant = a.rebuildLocked(tr, a.clock.Now())
		}
		a.mu.Unlock()
	}
	return out
}

func enrollmentView(e probe.Enrollment) localapi.Enrollment {
	return localapi.Enrollment{
		At: e.EnrolledAt, Method: string(e.Method), ClientType: string(e.ClientType), Account: e.Username,
		TokenHasMFA: e.TokenHasMFA, InteractiveSignIn: e.InteractiveSignIn, SignInSource: e.InteractiveSignInSource,
		GrantedScopes: append([]string{}, e.GrantedScopes...),
	}
}

// EnrollRedirect passes a pasted redirect URL to the pending sign-in. The
// URL carries an authorization code: it is never logged.
func (a *Agent) EnrollRedirect(ctx context.Context, enrollmentID, redirectURL string) error {
	p := a.enroll.find(enrollmentID)
	if p == nil {
		return fmt.Errorf("no enrollment %q is in progress: %w", enrollmentID, localapi.ErrNotFound)
	}
	if p.paste == nil {
		return fmt.Errorf("%w: enrollment %s receives the browser's redirect itself; nothing to paste", localapi.ErrBadRequest, enrollmentID)
	}
	line := strings.TrimSpace(redirectURL)
	if line == "" || strings.ContainsAny(line, "\r\n") {
		return fmt.Errorf("%w: url: give the one-line address from the browser's address bar", localapi.ErrBadRequest)
	}
	done := make(chan error, 1)
	go func() {
		_, err := io.WriteString(p.paste, line+"\n")
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("enrollment %s no longer waits for a redirect: %w", enrollmentID, localapi.ErrNotFound)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
