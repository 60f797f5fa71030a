package probe

import "strings"

// Values are read from the description and the body fields, never decided
// on. Each extractor lists the lower-case marks that precede its value in
// the shapes seen in the wild, and a reader that accepts only the characters
// such a value can contain, so a neighbouring token or secret cannot leak in.

type valueReader func(s string, at int) (string, bool)

// extractor reads one value; extractors of the same key are adjacent in
// extractors and the first that finds a value wins.
type extractor struct {
	key   string
	marks []markID
	read  valueReader
}

var extractors = []extractor{
	// "The token was issued on 2020-06-03T07:09:26.9675714Z" (70043, 700082);
	// "The grant was issued on '2017-11-26T09:16:07.5290000Z'" (50173).
	{ValueIssuedAt, marks("issued on"), readTimestamp},
	// "the maximum allowed lifetime for this request is 82800."
	{ValueMaxLifetimeSeconds, marks("allowed lifetime"), readNumberAhead},
	// 700084: "a fixed, limited lifetime of 1.00:00:00"
	{ValueMaxLifetime, marks("limited lifetime of"), readDuration},
	// 700082: "was inactive for 90.00:00:00."
	{ValueInactiveFor, marks("inactive for"), readDuration},
	// 50173: "the TokensValidFrom date (before which tokens are not valid) for
	// this user is '2021-10-13T19:49:51.0000000Z'"; admin revoke wording
	// "StsRefreshTokensValidFrom" contains the same mark.
	{ValueTokensValidFrom, marks("tokensvalidfrom"), readTimestampAhead},
	// 50076/50078/50079: "to access '797f4846-ba00-4fd7-ba43-dac1f8f63013'."
	{ValueResourceID, marks("to access '", "resourceid", "resource principal named"), readIdentifier},
	// 65001 "application with ID '...'", 700016 "Application with identifier
	// '...'", 7000222 "secret keys for app '...'", HTML "App id: ...".
	{ValueAppID, marks("application with id", "application with identifier", "secret keys for app",
		"added to app", "app id", "\"appid\"", "client_id"), readIdentifier},
	{ValueAppName, marks("named '"), readQuotedName},
	// Sign-in error page: "App name: Contoso Sync" and its $Config "sAppName".
	{ValueAppName, marks("app name", "sappname"), readPhrase},
	// 90002 "Tenant 'contoso.onmicrosoft.com' not found"; 700016 "in the
	// directory 'contoso'"; JSON "tenantId".
	{ValueTenant, marks("tenant '", "in the directory", "tenantid", "in the tenant named"), readIdentifier},
	{ValueTraceID, marks("trace id", "trace_id", "traceid"), readID},
	{ValueCorrelationID, marks("correlation id", "correlation_id", "correlationid"), readID},
	{ValueRequestID, marks("request id", "request-id", "requestid"), readID},
	{ValueTimestamp, marks("timestamp"), readTimestamp},
	{ValueIPAddress, marks("ip address"), readIP},
}

func extractValues(text string, ix *markIndex, into map[string]string) {
	last := ""
	for _, ex := range extractors {
		if ex.key == last {
			continue // an earlier extractor for the same key won
		}
		if v := firstValue(text, ix, ex.marks, ex.read); v != "" {
			into[ex.key] = v
			last = ex.key
		}
	}
	if ids := caPolicyIDs(text, ix); ids != "" {
		into[ValueCAPolicyIDs] = ids
	}
	if host := errorURIHost(text, ix); host != "" {
		into[ValueErrorHost] = host
	}
}

func firstValue(text string, ix *markIndex, ids []markID, read valueReader) string {
	for _, id := range ids {
		m := markList[id]
		for _, p := range ix.hits(id) {
			at := int(p) + len(m)
			if last := m[len(m)-1]; last >= 'a' && last <= 'z' && at < len(text) && lowerTab[text[at]] >= 'a' && lowerTab[text[at]] <= 'z' {
				continue // "application with id" must not match "...identifier"
			}
			if v, ok := read(text, skipSeparators(text, at)); ok && safeValue(v) {
				return v
			}
		}
	}
	return ""
}

// readTimestamp accepts "2020-06-03T07:09:26.9675714Z", "2022-08-15 09:33:09Z"
// and the like; it must start with a four-digit year and a dash.
func readTimestamp(s string, at int) (string, bool) {
	if at+10 > len(s) || digitsLen(s, at) != 4 || s[at+4] != '-' {
		return "", false
	}
	end := at
	for end < len(s) && end-at < 40 {
		c := s[end]
		if c >= '0' && c <= '9' || c == '-' || c == ':' || c == '.' || c == 'T' || c == ' ' || c == '+' {
			end++
			continue
		}
		if c == 'Z' {
			end++
		}
		break
	}
	return strings.TrimRight(s[at:end], " .:"), true
}

// readTimestampAhead finds the first timestamp within a short window (the
// words between the mark and the value changed across Entra versions).
func readTimestampAhead(s string, at int) (string, bool) {
	for end := min(len(s), at+120); at < end; at++ {
		if s[at] >= '0' && s[at] <= '9' {
			return readTimestamp(s, at)
		}
	}
	return "", false
}

// readNumberAhead finds the first number within a short window.
func readNumberAhead(s string, at int) (string, bool) {
	for end := min(len(s), at+60); at < end; at++ {
		if n := digitsLen(s, at); n > 0 && n <= 12 {
			return s[at : at+n], true
		}
	}
	return "", false
}

// readDuration reads .NET TimeSpan text such as "90.00:00:00".
func readDuration(s string, at int) (string, bool) {
	end := at
	for end < len(s) && end-at < 20 && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || s[end] == ':') {
		end++
	}
	v := strings.TrimRight(s[at:end], ".:")
	return v, v != "" && digitsLen(v, 0) > 0
}

// readID reads a trace, correlation or request id: a GUID or 32 hex digits.
func readID(s string, at int) (string, bool) {
	end, hex := at, 0
	for end < len(s) && end-at < 40 {
		c := s[end]
		if isHex(c) {
			hex++
		} else if c != '-' {
			break
		}
		end++
	}
	if hex < 16 || end < len(s) && isWordByte(s[end]) {
		return "", false
	}
	return s[at:end], true
}

// readIdentifier reads a quoted or bare identifier: a GUID, a domain, an
// app id URI. Quotes, commas, spaces and sentence ends terminate it.
func readIdentifier(s string, at int) (string, bool) {
	end := at
	for end < len(s) && end-at < 200 {
		c := s[end]
		if isWordByte(c) || c == '-' || c == '.' || c == ':' || c == '/' {
			end++
			continue
		}
		break
	}
	if end < len(s) && (isCredentialByte(s[end]) && s[end] != '.' || s[end] == '=') {
		// Cut short by a character identifiers never contain ('~', '+',
		// '='): this is the prefix of a secret or token, not an identifier.
		return "", false
	}
	v := strings.TrimRight(s[at:end], ".:")
	return v, len(v) >= 2
}

// readQuotedName reads a display name up to its closing quote.
func readQuotedName(s string, at int) (string, bool) {
	// The mark ends with the opening quote, which skipSeparators may not
	// have consumed when the name starts with a letter; both are fine.
	end := strings.IndexByte(s[at:min(len(s), at+120)], '\'')
	if end <= 0 {
		return "", false
	}
	v := s[at : at+end]
	if strings.ContainsAny(v, "\r\n\"") {
		return "", false
	}
	return v, true
}

// readPhrase reads a short display text up to the end of its line, a
// quote, a tag or a run of spaces (what is left of table cells).
func readPhrase(s string, at int) (string, bool) {
	end := at
	for end < len(s) && end-at < 80 {
		c := s[end]
		if c == '\n' || c == '\r' || c == '"' || c == '<' || c == ',' || c == ' ' && end+1 < len(s) && s[end+1] == ' ' {
			break
		}
		end++
	}
	v := strings.TrimSpace(s[at:end])
	return v, len(v) >= 2
}

// readIP reads an IPv4 or IPv6 address.
func readIP(s string, at int) (string, bool) {
	end, dots := at, 0
	for end < len(s) && end-at < 45 && (isHex(s[end]) || s[end] == '.' || s[end] == ':') {
		if s[end] == '.' || s[end] == ':' {
			dots++
		}
		end++
	}
	return s[at:end], dots >= 2
}

var markCAPolIDs = mark("capolids")

// caPolicyIDs reads the Conditional Access policy ids of a claims challenge
// ({"access_token":{"capolids":{"essential":true,"values":["id1","id2"]}}}):
// Entra names there the policies the new token must satisfy, which tells
// the operator which policy to look at.
func caPolicyIDs(s string, ix *markIndex) string {
	for _, p := range ix.hits(markCAPolIDs) {
		at := int(p) + len("capolids")
		v := strings.Index(s[at:min(len(s), at+80)], "values")
		if v < 0 {
			continue
		}
		at = skipSeparators(s, at+v+len("values"))
		if at >= len(s) || s[at] != '[' {
			continue
		}
		var ids []string
		for at++; at < len(s) && len(ids) < 16; {
			for at < len(s) && (s[at] == ' ' || s[at] == ',' || s[at] == '"' || s[at] == '\'') {
				at++
			}
			id, ok := readID(s, at)
			if !ok || len(id) != 36 {
				break
			}
			ids = append(ids, id)
			at += len(id)
		}
		if len(ids) > 0 {
			return strings.Join(ids, ",")
		}
	}
	return ""
}

var markErrorURI = mark("/error?code=")

// errorURIHost returns the host of error_uri ("https://login.chinacloudapi.cn
// /error?code=50057"): which cloud answered.
func errorURIHost(s string, ix *markIndex) string {
	for _, p := range ix.hits(markErrorURI) {
		i := int(p)
		window := s[max(0, i-80):i]
		start := strings.LastIndex(window, "://")
		if start < 0 {
			continue
		}
		host := window[start+3:]
		ok := host != ""
		for j := 0; j < len(host) && ok; j++ {
			c := lowerTab[host[j]]
			ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-'
		}
		if ok {
			return lowerWord(host)
		}
	}
	return ""
}
