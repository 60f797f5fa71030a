package probe

import (
	"strings"
)

// LookupURLFor is Microsoft's official page for an AADSTS code.
func LookupURLFor(code int) string {
	return "https://login.microsoftonline.com/error?code=" + itoa(code)
}

// Hints carries what the caller knows that the error text may not say.
// The zero value knows nothing.
type Hints struct {
	// DeviceCodeSession: the token's session began with device code flow.
	// Such a session stays "protocol tracked", so an authentication-flows
	// policy blocking device code also blocks its refreshes (53003).
	DeviceCodeSession bool
}

// Diagnose classifies any error text. It never fails: text it does not
// understand yields CauseOther with Recognized() false.
func Diagnose(text string) Diagnosis { return Hints{}.Diagnose(text) }

// Diagnose classifies text using the hints.
func (h Hints) Diagnose(text string) Diagnosis {
	norm := normalize(text)
	ix := getMarkIndex(norm)
	defer putMarkIndex(ix)
	f := scan(norm, ix)
	return h.decide(f, ix)
}

// findings is everything the scanners read from one text.
type findings struct {
	codes    []int
	oauthErr string
	subErr   string
	status   string
	graph    int // index into graphErrors, -1 when none
	values   map[string]string
}

func scan(text string, ix *markIndex) findings {
	f := findings{codes: findCodes(text, ix), graph: -1, values: make(map[string]string, 8)}
	var subAt int
	f.subErr, subAt = findSubError(text, ix)
	f.oauthErr = findOAuthError(text, subAt)
	f.status = findHTTPStatus(text, ix)
	if f.status != "" {
		f.values[ValueHTTPStatus] = f.status
	}
	extractValues(text, ix, f.values)
	if len(f.codes) == 0 {
		for i, g := range graphErrors {
			if ix.has(g.mark) {
				f.graph = i
				f.values[ValueGraphError] = g.name
				break
			}
		}
	}
	return f
}

// candidate is one possible verdict, with where it came from.
type candidate struct {
	info codeInfo
	code int // 0 when not from an AADSTS code
	rank int
}

// decide applies the precedence: a known AADSTS code (the most specific
// definitive one when several), then the suberror, then the OAuth error,
// then Graph's error code, then HTTP status and network failures.
func (h Hints) decide(f findings, ix *markIndex) Diagnosis {
	d := Diagnosis{Codes: f.codes, Values: f.values, Error: f.oauthErr, SubError: f.subErr}
	best := candidate{info: codeInfo{cause: CauseOther, verdict: undecided}, rank: -1}
	consider := func(c candidate) {
		if c.rank > best.rank {
			best = c
		}
	}
	for _, code := range f.codes {
		if info, ok := codes[code]; ok {
			info = refineByText(code, info, f.oauthErr, ix)
			consider(candidate{info: info, code: code, rank: rankOf(info)})
		} else {
			consider(candidate{info: codeInfo{cause: CauseOther, verdict: undecided,
				explanation: "AADSTS" + itoa(code) + " is not in the classifier's table."}, code: code, rank: 1})
		}
	}
	if best.info.verdict == undecided {
		if info, ok := subErrors[f.subErr]; ok {
			consider(candidate{info: info, rank: rankOf(info)})
		}
	}
	if best.info.verdict == undecided {
		if info, ok := oauthErrors[f.oauthErr]; ok {
			consider(candidate{info: info, rank: rankOf(info)})
		}
	}
	if best.info.verdict == undecided && f.graph >= 0 {
		info := graphErrors[f.graph].info
		consider(candidate{info: info, rank: rankOf(info)})
	}
	if best.info.verdict == undecided {
		if t, ok := transientSignal(f, ix); ok {
			consider(candidate{info: t, rank: 1000})
		}
	}
	h.fill(&d, best, ix)
	return d
}

// transientSignal turns HTTP 429/5xx and network failures into a transient
// verdict; it is consulted only when nothing more specific decided. It
// records the network failure it recognised in f.values.
func transientSignal(f findings, ix *markIndex) (codeInfo, bool) {
	switch {
	case f.status == "429":
		return codeInfo{cause: CauseTransient, verdict: transient, explanation: "The server throttled the request (HTTP 429)."}, true
	case strings.HasPrefix(f.status, "5"):
		return codeInfo{cause: CauseTransient, verdict: transient, explanation: "The server failed (HTTP " + f.status + "); this says nothing about the token."}, true
	}
	if kind := findNetworkFailure(ix); kind != "" {
		f.values[ValueNetwork] = kind
		return codeInfo{cause: CauseTransient, verdict: transient, explanation: "The request failed on the network (" + kind + "); this says nothing about the token."}, true
	}
	return codeInfo{}, false
}

// Words that settle 50173 and 70008. "revoked" alone is not enough: the
// symbolic name ExpiredOrRevokedGrant contains it.
var (
	markPassword         = mark("password")
	markRevokedTheTokens = mark("revoked the tokens")
	markStsValidFrom     = mark("stsrefreshtokensvalidfrom")
	marksWasRevoked      = marks("was revoked", "been revoked")
)

// refineByText settles the codes whose meaning Microsoft reuses across
// causes; only here do words of the description influence the cause.
func refineByText(code int, info codeInfo, oauthErr string, ix *markIndex) codeInfo {
	switch code {
	case 50173:
		if ix.has(markPassword) {
			info.cause = CausePasswordChanged
			info.explanation = "The grant was revoked by a password change or reset: the user's TokensValidFrom moved past the token's issue time."
			return info
		}
		info.cause = CauseTokenRevoked
		if ix.has(markRevokedTheTokens) || ix.has(markStsValidFrom) {
			info.explanation = "The grant was revoked: an admin or the user revoked the sessions (revokeSignInSessions)."
		} else {
			info.explanation = "The grant was revoked (the text does not say whether by a password change or by a session revocation)."
		}
	case 70008:
		if ix.has(markStsValidFrom) || ix.hasAny(marksWasRevoked) {
			info.cause = CauseTokenRevoked
			info.explanation = "The refresh token was revoked: the account's sessions were revoked after it was issued."
		}
	case 70000:
		if dc, ok := oauthErrors[oauthErr]; ok && (oauthErr == "authorization_declined" || oauthErr == "expired_token" || oauthErr == "bad_verification_code") {
			return dc
		}
	}
	return info
}

// fill turns the winning candidate into the Diagnosis fields.
func (h Hints) fill(d *Diagnosis, best candidate, ix *markIndex) {
	info := best.info
	d.Cause = info.cause
	d.Definitive = info.verdict == definitive
	d.Transient = info.verdict == transient
	ci := causes[info.cause]
	d.ReEnroll = ci.reEnroll
	if info.reEnroll != nil {
		d.ReEnroll = *info.reEnroll
	}
	if !d.Definitive {
		d.ReEnroll = false
	}
	d.Remediation = ci.remediation
	if info.remediation != "" {
		d.Remediation = info.remediation
	}
	d.Explanation = info.explanation
	if best.code == 0 && len(d.Codes) > 0 {
		best.code = d.Codes[0]
	}
	if best.code != 0 {
		d.LookupURL = LookupURLFor(best.code)
	}
	if d.Explanation == "" {
		d.Explanation = "No AADSTS code, OAuth error, HTTP failure or network failure was found in the text."
		d.Remediation = "Paste the complete error, including the JSON body or the AADSTS line."
	}
	h.addDetail(d, best.code, ix)
}
