package entrasim

import (
	"sync"
	"time"
)

// SignIn is one sign-in log record in the Graph signIn shape (v1.0 fields
// plus the beta-only ones, which a v1.0 endpoint should omit: see
// SignIn.V1). Every token grant, successful or not, appends one.
type SignIn struct {
	ID                               string                  `json:"id"`
	CreatedDateTime                  time.Time               `json:"createdDateTime"`
	UserID                           string                  `json:"userId"`
	UserPrincipalName                string                  `json:"userPrincipalName"`
	UserDisplayName                  string                  `json:"userDisplayName"`
	AppID                            string                  `json:"appId"`
	AppDisplayName                   string                  `json:"appDisplayName"`
	ResourceID                       string                  `json:"resourceId"`
	ResourceDisplayName              string                  `json:"resourceDisplayName"`
	IPAddress                        string                  `json:"ipAddress"`
	ClientAppUsed                    string                  `json:"clientAppUsed"`
	IsInteractive                    bool                    `json:"isInteractive"`
	ConditionalAccessStatus          string                  `json:"conditionalAccessStatus"`
	Status                           SignInStatus            `json:"status"`
	AppliedConditionalAccessPolicies []AppliedPolicy         `json:"appliedConditionalAccessPolicies"`
	CorrelationID                    string                  `json:"correlationId"`
	Location                         SignInLocation          `json:"location"`
	DeviceDetail                     SignInDevice            `json:"deviceDetail"`
	SignInEventTypes                 []string                `json:"signInEventTypes,omitempty"`          // beta
	SessionLifetimePolicies          []SessionLifetimePolicy `json:"sessionLifetimePolicies,omitempty"`   // beta
	AuthenticationRequirement        string                  `json:"authenticationRequirement,omitempty"` // beta
	IncomingTokenType                string                  `json:"incomingTokenType,omitempty"`         // beta
	AuthenticationProtocol           string                  `json:"authenticationProtocol,omitempty"`    // beta
	OriginalTransferMethod           string                  `json:"originalTransferMethod,omitempty"`    // beta
}

// V1 returns a copy without the beta-only fields, as /v1.0 returns it.
func (s SignIn) V1() SignIn {
	s.SignInEventTypes, s.SessionLifetimePolicies = nil, nil
	s.AuthenticationRequirement, s.IncomingTokenType = "", ""
	s.AuthenticationProtocol, s.OriginalTransferMethod = "", ""
	return s
}

// SignInStatus is signIn.status.
type SignInStatus struct {
	ErrorCode         int    `json:"errorCode"`
	FailureReason     string `json:"failureReason,omitempty"`
	AdditionalDetails string `json:"additionalDetails,omitempty"`
}

// AppliedPolicy is one entry of appliedConditionalAccessPolicies.
type AppliedPolicy struct {
	ID                      string   `json:"id"`
	DisplayName             string   `json:"displayName"`
	Result                  string   `json:"result"`
	EnforcedGrantControls   []string `json:"enforcedGrantControls"`
	EnforcedSessionControls []string `json:"enforcedSessionControls"`
}

// SessionLifetimePolicy is a beta sessionLifetimePolicies entry: which
// control forced (or would force) reauthentication.
type SessionLifetimePolicy struct {
	ExpirationRequirement string `json:"expirationRequirement"`
	Detail                string `json:"detail"`
}

// SignInLocation is signIn.location (only the country is simulated).
type SignInLocation struct {
	CountryOrRegion string `json:"countryOrRegion"`
}

// SignInDevice is signIn.deviceDetail. A server running MSAL is an
// unregistered device: never compliant, never managed.
type SignInDevice struct {
	OperatingSystem string `json:"operatingSystem"`
	IsCompliant     bool   `json:"isCompliant"`
	IsManaged       bool   `json:"isManaged"`
	TrustType       string `json:"trustType"`
}

// Sign-in retention defaults: Entra keeps 30 days (P1); the record cap keeps
// a 10,000-tenant benchmark within its memory budget.
const (
	DefaultSignInRetention  = 30 * 24 * time.Hour
	DefaultSignInMaxRecords = 1000
)

// signInLog is a tenant's bounded sign-in history, oldest first.
type signInLog struct {
	mu   sync.Mutex
	recs []SignIn
}

func (l *signInLog) append(s SignIn, maxRecs int, retention time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cutoff := s.CreatedDateTime.Add(-retention)
	drop := 0
	for drop < len(l.recs) && l.recs[drop].CreatedDateTime.Before(cutoff) {
		drop++
	}
	if over := len(l.recs) - drop + 1 - maxRecs; over > 0 {
		drop += over
	}
	if drop > 0 {
		// Copy into a fresh slice so the dropped records' memory is freed.
		kept := make([]SignIn, len(l.recs)-drop, max(cap(l.recs)/2, len(l.recs)-drop+1))
		copy(kept, l.recs[drop:])
		l.recs = kept
	}
	l.recs = append(l.recs, s)
}

// AppendSignIn records a sign-in for the tenant (applying retention).
func (t *Tenant) AppendSignIn(s SignIn, maxRecords int, retention time.Duration) {
	t.signIns.append(s, maxRecords, retention)
}

// SignIns returns the tenant's sign-ins for which keep returns true (nil
// keeps all), newest first as Graph orders them. The records are copies.
func (t *Tenant) SignIns(keep func(*SignIn) bool) []SignIn {
	t.signIns.mu.Lock()
	defer t.signIns.mu.Unlock()
	out := make([]SignIn, 0, len(t.signIns.recs))
	for i := len(t.signIns.recs) - 1; i >= 0; i-- {
		if keep == nil || keep(&t.signIns.recs[i]) {
			out = append(out, t.signIns.recs[i])
		}
	}
	return out
}
