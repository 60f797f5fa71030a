package probe

import (
	"strconv"
	"time"
)

// addDetail appends to the explanation the facts the error carried, so the
// operator reads "issued at X, limit 12 h, lapsed at Y" instead of a bare
// cause, and handles the device-code variant of a Conditional Access block.
func (h Hints) addDetail(d *Diagnosis, code int, ix *markIndex) {
	v := d.Values
	var extra []string
	switch d.Cause {
	case CauseSignInFrequency:
		extra = append(extra, sifDetail(v[ValueIssuedAt], v[ValueMaxLifetimeSeconds]))
	case CauseRefreshTokenInactive:
		if v[ValueIssuedAt] != "" && v[ValueInactiveFor] != "" {
			extra = append(extra, "It was issued at "+v[ValueIssuedAt]+" and then unused for "+v[ValueInactiveFor]+" (days.hh:mm:ss).")
		} else if v[ValueIssuedAt] != "" {
			extra = append(extra, "It was issued at "+v[ValueIssuedAt]+".")
		}
	case CausePasswordChanged, CauseTokenRevoked:
		if v[ValueIssuedAt] != "" && v[ValueTokensValidFrom] != "" {
			extra = append(extra, "The grant was issued at "+v[ValueIssuedAt]+"; tokens issued before "+v[ValueTokensValidFrom]+" are no longer valid.")
		}
	case CauseMFARequired, CauseMFAExpiredRemember:
		if v[ValueResourceID] != "" {
			extra = append(extra, "Resource: "+v[ValueResourceID]+".")
		}
	case CauseInvalidClientCredentials, CauseConsentRequired, CauseAppNotFound:
		if v[ValueAppID] != "" {
			extra = append(extra, "Application: "+v[ValueAppID]+".")
		}
	case CauseTenantNotFound:
		if v[ValueTenant] != "" {
			extra = append(extra, "Tenant: "+v[ValueTenant]+".")
		}
	}
	if ids := v[ValueCAPolicyIDs]; ids != "" {
		extra = append(extra, "The claims challenge names the Conditional Access policies to satisfy: "+ids+".")
	}
	if code == 53003 && (h.DeviceCodeSession || mentionsDeviceCodeFlow(ix)) {
		v[ValueAuthFlow] = "deviceCode"
		d.ReEnroll = true
		if mentionsDeviceCodeFlow(ix) {
			extra = append(extra, "The text names the device code flow: an authentication-flows policy blocks device code "+
				"(or authentication transfer), and a session that began with device code stays protocol-tracked, so its refreshes are blocked too.")
		} else {
			extra = append(extra, "This token's session began with device code flow: if a policy's authentication-flows condition blocks "+
				"device code, every refresh of that session is blocked too, even though the refresh itself is not a device code request.")
		}
		d.Remediation = "Exclude the service account from the authentication-flows (device code) policy, or re-enroll with authorization code + PKCE " +
			"(`tokenhealth enroll --auth-code TENANT`), which that policy does not block; a device-code session cannot be rescued. " +
			"If no such policy exists, open the failed sign-in by its correlation id to find the blocking policy."
	}
	for _, e := range extra {
		if e != "" {
			d.Explanation += " " + e
		}
	}
}

// deviceCodeMarks: Entra's sign-in details and the agent's own messages
// name the flow in these words.
var deviceCodeMarks = marks("device code", "devicecode", "device_code", "authentication flow",
	"authentication transfer", "protocol tracked", "protocoltracked")

func mentionsDeviceCodeFlow(ix *markIndex) bool { return ix.hasAny(deviceCodeMarks) }

// sifDetail explains a sign-in frequency failure with its clock.
func sifDetail(issuedAt, limitSeconds string) string {
	secs, err := strconv.ParseInt(limitSeconds, 10, 64)
	if err != nil || secs <= 0 {
		if issuedAt != "" {
			return "The token's session was issued at " + issuedAt + "."
		}
		return ""
	}
	s := "The limit is " + limitSeconds + " s (" + humanSeconds(secs) + ")"
	if t, err := time.Parse(time.RFC3339Nano, issuedAt); err == nil {
		s += "; the session was issued at " + issuedAt + ", so it lapsed at " +
			t.Add(time.Duration(secs)*time.Second).UTC().Format(time.RFC3339) + "."
	} else if issuedAt != "" {
		s += "; the session was issued at " + issuedAt + "."
	} else {
		s += "."
	}
	return s
}

// humanSeconds renders a sign-in frequency the way the portal states it.
func humanSeconds(s int64) string {
	switch {
	case s%86400 == 0:
		return plural(s/86400, "day")
	case s%3600 == 0:
		return plural(s/3600, "hour")
	case s%60 == 0:
		return plural(s/60, "minute")
	}
	return plural(s, "second")
}

func plural(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.FormatInt(n, 10) + " " + unit + "s"
}
