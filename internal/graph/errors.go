package graph

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
)

// Error is every failure a Reader returns: a Graph answer (Status > 0) or
// a failure to reach Graph or to get a token (Status 0, Err set). Its text
// says what the administrator has to do, e.g. which permission or licence
// is missing. It never contains a token.
type Error struct {
	Tenant  string
	Op      string // what was being read, e.g. "read sign-in logs"
	Status  int    // HTTP status; 0 when Graph gave no answer
	Code    string // Graph error code, e.g. Authorization_RequestDenied
	Message string // Graph's message
	// MissingPermission names the delegated permission(s) the operation
	// needs when Graph refused it for lack of permission.
	MissingPermission string
	// MissingLicence: the tenant lacks the Entra ID P1 licence the
	// operation needs.
	MissingLicence bool
	// Throttled: Graph answered 429 and the budget's retries ran out.
	Throttled  bool
	RetryAfter time.Duration // from Retry-After, when Graph sent one
	Err        error         // the underlying error (network, token, context)

	// licenceUnclear: a 403 with an unfamiliar code on a P1 feature, so the
	// licence may be what is missing rather than the permission.
	licenceUnclear bool
}

// Graph error codes the classification relies on.
const (
	codeNoPremium = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
)

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph: tenant %s: %s: ", e.Tenant, e.Op)
	if e.Status > 0 {
		fmt.Fprintf(&b, "%d", e.Status)
		if e.Code != "" {
			b.WriteString(" " + e.Code)
		}
		b.WriteString(": ")
	}
	switch {
	case e.MissingLicence:
		b.WriteString("an Entra ID P1 licence is needed to " + e.Op)
	case e.MissingPermission != "" && e.licenceUnclear:
		b.WriteString("the delegated permission " + e.MissingPermission + " or an Entra ID P1 licence is needed to " + e.Op)
	case e.MissingPermission != "":
		b.WriteString("the delegated permission " + e.MissingPermission + " is needed to " + e.Op)
	case e.Throttled && e.RetryAfter > 0:
		fmt.Fprintf(&b, "throttled by Graph; retry after %s", e.RetryAfter)
	case e.Throttled:
		b.WriteString("throttled by Graph")
	case e.Status == http.StatusUnauthorized:
		b.WriteString("the access token was rejected")
	case e.Err != nil:
		b.WriteString(e.Err.Error())
	}
	if e.Message != "" && e.Status > 0 {
		if e.MissingLicence || e.MissingPermission != "" || e.Throttled || e.Status == http.StatusUnauthorized {
			b.WriteString(" (")
			b.WriteString(e.Message)
			b.WriteString(")")
		} else {
			b.WriteString(e.Message)
		}
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Transient reports whether the failure says nothing about the tenant's
// configuration (throttling, 5xx, network, timeouts): the schedule should
// just try again.
func (e *Error) Transient() bool {
	return e.Throttled || e.Status >= 500 || (e.Status == 0 && !isTokenError(e.Err))
}

// NotFound reports that Graph does not know the object (a deleted or
// renamed service account, for one).
func (e *Error) NotFound() bool { return e.Status == http.StatusNotFound }

func isTokenError(err error) bool {
	var te *tokenError
	return errors.As(err, &te)
}

// operation describes one kind of read for error classification.
type operation struct {
	name       string
	permission string // what to grant when Graph answers 403
	needsP1    bool   // the feature needs Entra ID P1
}

var (
	opPolicies       = operation{"read Conditional Access policies", "Policy.Read.All", true}
	opNamedLocations = operation{"read named locations", "Policy.Read.All", true}
	opWhatIf         = operation{"evaluate Conditional Access (What If)", "Policy.Read.All", true}
	opUser           = operation{"read the user", "User.Read.All (or Directory.Read.All)", false}
	opMemberships    = operation{"read transitive group and role memberships", "GroupMember.Read.All (or Directory.Read.All)", false}
	opDomains        = operation{"read domains", "Domain.Read.All (or Directory.Read.All)", false}
	opPerUserMFA     = operation{"read the per-user MFA state", "UserAuthenticationMethod.Read.All (or Policy.Read.All)", false}
	opSignIns        = operation{"read sign-in logs", "AuditLog.Read.All (and Directory.Read.All)", true}
)

// classify turns whatever the SDK returned into *Error, reading ODataError
// through nil-safe getters only: ODataError.Error() panics when the body
// had no "error" object.
func (r *Reader) classify(op operation, err error) *Error {
	out := &Error{Tenant: r.tenant, Op: op.name}
	var odata *odataerrors.ODataError
	var api *abstractions.ApiError
	switch {
	case errors.As(err, &odata):
		out.Status = odata.GetStatusCode()
		if main := odata.GetErrorEscaped(); main != nil {
			if c := main.GetCode(); c != nil {
				out.Code = *c
			}
			if m := main.GetMessage(); m != nil {
				out.Message = *m
			}
		}
		out.RetryAfter = retryAfterHeader(odata.GetResponseHeaders())
	case errors.As(err, &api):
		out.Status = api.ResponseStatusCode
		out.Message = api.Message
		out.RetryAfter = retryAfterHeader(api.ResponseHeaders)
	default:
		out.Err = err
		return out
	}
	switch out.Status {
	case http.StatusTooManyRequests:
		out.Throttled = true
	case http.StatusForbidden:
		switch {
		case out.Code == codeNoPremium:
			out.MissingLicence = true
		case op.needsP1 && !isPermissionCode(out.Code):
			// An unknown 403 on a P1 feature: either may be missing.
			out.MissingPermission, out.licenceUnclear = op.permission, true
		default:
			out.MissingPermission = op.permission
		}
	}
	return out
}

// isPermissionCode reports the 403 codes Graph uses for missing scopes.
func isPermissionCode(code string) bool {
	switch code {
	case "Authorization_RequestDenied", "AccessDenied", "Authentication_MSGraphPermissionMissing", "Forbidden":
		return true
	}
	return false
}

func retryAfterHeader(h *abstractions.ResponseHeaders) time.Duration {
	if h == nil {
		return 0
	}
	for _, v := range h.Get("Retry-After") {
		if d, ok := parseRetryAfter(v); ok {
			return d
		}
	}
	return 0
}

// nilResult is the error for a 2xx answer without a body: the SDK returns
// (nil, nil) when Content-Type is missing or the body is empty.
func (r *Reader) nilResult(op operation) *Error {
	return &Error{Tenant: r.tenant, Op: op.name, Err: errors.New("Graph answered without a JSON body")}
}
