package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/auditlogs"
)

// SignInQuery narrows a sign-in log read. Graph keeps 30 days (7 without
// P1) and allows 5 reads per 10 s per tenant, so a reader asks for one
// user (and app) since the last record it saw: an incremental window.
type SignInQuery struct {
	UserID string // object id of the service account; empty: every user
	AppID  string // client app id; empty: every app
	// Since is inclusive (createdDateTime ge Since); zero reads the whole
	// retention. Pass the newest createdDateTime already stored to read
	// incrementally (and drop the records already seen by id).
	Since time.Time
	// NonInteractive reads refresh-token redemptions (beta, signInEventTypes
	// nonInteractiveUser) instead of interactive sign-ins (v1.0).
	NonInteractive bool
	// PageSize is $top (default 500, at most 999).
	PageSize int
}

// filter renders the $filter; ids are quoted OData literals.
func (q SignInQuery) filter() string {
	var clauses []string
	if q.UserID != "" {
		clauses = append(clauses, "userId eq "+odataString(q.UserID))
	}
	if q.AppID != "" {
		clauses = append(clauses, "appId eq "+odataString(q.AppID))
	}
	if !q.Since.IsZero() {
		clauses = append(clauses, "createdDateTime ge "+q.Since.UTC().Format(time.RFC3339))
	}
	if q.NonInteractive {
		clauses = append(clauses, "signInEventTypes/any(t: t eq 'nonInteractiveUser')")
	}
	return strings.Join(clauses, " and ")
}

func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// preferUnknownEnums makes Graph report the reportOnly* policy results
// instead of hiding them behind unknownFutureValue.
const preferUnknownEnums = "include-unknown-enum-members"

// SignIns reads the sign-in log, newest first, every page, as raw Graph
// JSON (v1.0 signIn objects, or beta ones with sessionLifetimePolicies and
// signInEventTypes for NonInteractive). Raw because the v1.0 model drops
// or rewrites the evolvable enum members (reportOnly* results). Needs
// AuditLog.Read.All and Directory.Read.All and an Entra ID P1 licence.
func (r *Reader) SignIns(ctx context.Context, q SignInQuery) ([]json.RawMessage, error) {
	top := q.PageSize
	if top == 0 {
		top = 500
	}
	if top < 1 || top > 999 {
		return nil, &Error{Tenant: r.tenant, Op: opSignIns.name, Err: fmt.Errorf("page size %d: want 1..999", top)}
	}
	filter := q.filter()
	var ri *abstractions.RequestInformation
	var err error
	if q.NonInteractive {
		params := []string{"$top=" + strconv.Itoa(top)}
		if filter != "" {
			params = append([]string{odataParam("$filter", filter)}, params...)
		}
		ri, err = r.requestFor(abstractions.GET, r.versionURL("beta", "/auditLogs/signIns", params...))
	} else {
		qp := &auditlogs.SignInsRequestBuilderGetQueryParameters{Top: ptr(int32(top))}
		if filter != "" {
			qp.Filter = &filter
		}
		ri, err = r.client.AuditLogs().SignIns().ToGetRequestInformation(ctx,
			&auditlogs.SignInsRequestBuilderGetRequestConfiguration{QueryParameters: qp})
	}
	if err != nil {
		return nil, &Error{Tenant: r.tenant, Op: opSignIns.name, Err: err}
	}
	return r.collectRaw(ctx, opSignIns, ri, "Prefer", preferUnknownEnums)
}

func ptr[T any](v T) *T { return &v }
