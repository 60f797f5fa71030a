package localapi

import (
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// Enrollment flows a client may ask the daemon to run.
const (
	FlowDeviceCode = "deviceCode"
	FlowAuthCode   = "authCode"
)

// EnrollRequest is POST /v1/tenants/{id}/enroll. The answer is a stream of
// newline-delimited EnrollEvent objects: "started", any number of
// "message", then exactly one "result" or "error". The stream stays open
// while the operator signs in, so the instruction reaches the CLI at once.
type EnrollRequest struct {
	// Flow is FlowDeviceCode or FlowAuthCode; empty picks the device code
	// flow for a public client and the authorization code flow for a
	// confidential one (which cannot use the device code flow).
	Flow string `json:"flow,omitempty"`
	// Listen, with FlowAuthCode, is a loopback address on which the daemon
	// receives the browser's redirect. Empty: the operator pastes the
	// redirect URL and the CLI sends it with POST /v1/enrollments/{id}/redirect.
	Listen string `json:"listen,omitempty"`
}

// Enroll event types.
const (
	EnrollStarted = "started"
	EnrollMessage = "message"
	EnrollResult  = "result"
	EnrollError   = "error"
)

// EnrollEvent is one line of the enrollment stream.
type EnrollEvent struct {
	Type string `json:"type"`
	// EnrollmentID (started) names the pending sign-in for the redirect
	// route; Flow (started) is the flow the daemon chose; PasteRedirect
	// (started) says the daemon waits for a pasted redirect URL.
	EnrollmentID  string `json:"enrollmentId,omitempty"`
	Flow          string `json:"flow,omitempty"`
	PasteRedirect bool   `json:"pasteRedirect,omitempty"`
	// Text (message) is instruction text for the operator, verbatim.
	Text string `json:"text,omitempty"`
	// Result (result) is the stored enrollment and the first probe.
	Result *EnrollOutcome `json:"result,omitempty"`
	// Error and Diagnosis (error) say why the enrollment failed.
	Error     string           `json:"error,omitempty"`
	Diagnosis *probe.Diagnosis `json:"diagnosis,omitempty"`
}

// EnrollOutcome is what a successful enrollment through the daemon yields.
type EnrollOutcome struct {
	TenantID   string     `json:"tenantId"`
	Name       string     `json:"name"`
	Enrollment Enrollment `json:"enrollment"`
	// Probe is the daemon's first probe with the new token; nil when it did
	// not finish in time (the scheduler still runs it).
	Probe  *ProbeEvent         `json:"probe,omitempty"`
	Tenant health.TenantStatus `json:"tenant"`
}

// EnrollFailure is an enrollment error that carries the classifier's
// diagnosis, so the CLI can explain a refused sign-in.
type EnrollFailure struct {
	Err       error
	Diagnosis *probe.Diagnosis
}

func (e *EnrollFailure) Error() string { return e.Err.Error() }
func (e *EnrollFailure) Unwrap() error { return e.Err }

// RedirectRequest is POST /v1/enrollments/{id}/redirect: the redirect URL
// the operator pasted from the browser. It carries an authorization code and
// is never logged.
type RedirectRequest struct {
	URL string `json:"url"`
}
