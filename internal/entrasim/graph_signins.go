package entrasim

import (
	"strings"
)

// auditLogs/signIns. v1.0 lists interactive sign-ins only; beta lists
// interactive ones unless $filter asks for other signInEventTypes, and
// adds the beta-only fields (sessionLifetimePolicies, ...).

// unknownEnumPrefer is the Prefer header value without which Graph hides
// evolvable enum members added after v1.0 shipped (the reportOnly* results)
// behind "unknownFutureValue".
const unknownEnumPrefer = "include-unknown-enum-members"

// signInRead runs the checks every sign-in log read shares: permissions
// (AuditLog.Read.All and Directory.Read.All), the P1 licence, the rate.
func (rc *graphRequest) signInRead() bool {
	return rc.permitted("auditLogs", permAuditLog, permDirectory) && rc.licensed() && rc.allow(bucketSignIns)
}

func (g *graphAPI) listSignIns(rc *graphRequest) {
	if !rc.signInRead() {
		return
	}
	beta := rc.version == "beta"
	var f filterResult
	if src := rc.r.URL.Query().Get("$filter"); src != "" {
		var err error
		if f, err = parseSignInFilter(src, beta); err != nil {
			rc.badRequest("Invalid filter clause: %v", err)
			return
		}
	}
	p, ok := rc.pageParams(g.s.GraphLimits().SignInPageSize)
	if !ok {
		return
	}
	recs := rc.tenant.SignIns(func(s *SignIn) bool {
		if s.CreatedDateTime.After(p.asOf) {
			return false // arrived after the first page: keeps pages stable
		}
		if !f.eventTypes || !beta {
			if !isInteractiveRecord(s) {
				return false
			}
		}
		return f.match == nil || f.match(s, "")
	})
	// Only the records on this page are shaped: logs hold up to the
	// retention cap and a page is usually a few dozen.
	showUnknown := preferUnknownEnums(rc.r.Header.Values("Prefer"))
	start := min(p.offset, len(recs))
	end := min(start+p.top, len(recs))
	items := make([]any, len(recs))
	for i := start; i < end; i++ {
		items[i] = rc.signInView(recs[i], showUnknown)
	}
	rc.replyPage("auditLogs/signIns", items, p)
}

func (g *graphAPI) getSignIn(rc *graphRequest) {
	if !rc.signInRead() {
		return
	}
	id := rc.r.PathValue("id")
	recs := rc.tenant.SignIns(func(s *SignIn) bool { return s.ID == id })
	if len(recs) == 0 || (rc.version == "v1.0" && !isInteractiveRecord(&recs[0])) {
		rc.notFound(id)
		return
	}
	rc.reply(rc.signInView(recs[0], preferUnknownEnums(rc.r.Header.Values("Prefer"))))
}

func isInteractiveRecord(s *SignIn) bool {
	for _, ev := range eventTypesOf(s) {
		if ev == "interactiveUser" {
			return true
		}
	}
	return false
}

// signInView shapes a record for the request's version and Prefer header.
func (rc *graphRequest) signInView(s SignIn, showUnknown bool) SignIn {
	if rc.version == "v1.0" {
		s = s.V1()
	} else if len(s.SignInEventTypes) == 0 {
		s.SignInEventTypes = eventTypesOf(&s)
	}
	if !showUnknown && len(s.AppliedConditionalAccessPolicies) > 0 {
		applied := make([]AppliedPolicy, len(s.AppliedConditionalAccessPolicies))
		copy(applied, s.AppliedConditionalAccessPolicies)
		for i := range applied {
			if strings.HasPrefix(applied[i].Result, "reportOnly") {
				applied[i].Result = "unknownFutureValue"
			}
		}
		s.AppliedConditionalAccessPolicies = applied
	}
	return s
}

// preferUnknownEnums reports whether any Prefer header asks for evolvable
// enum members ("Prefer: include-unknown-enum-members", possibly among
// other comma-separated preferences).
func preferUnknownEnums(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(part), unknownEnumPrefer) {
				return true
			}
		}
	}
	return false
}
