package probe

import "strings"

// The scanners below read the normalized text through the case-insensitive
// mark index (diagnose_marks.go) and byte loops only: no regular
// expressions, so a classification costs a few microseconds.

// codeMarks precede an AADSTS number in the shapes seen in the wild:
// "AADSTS70043:", `"errorNo":700082` (MSAL Node), "Error Code: 53003" (the
// sign-in error page and sign-in logs), `"iErrorCode":50058` (the page's
// $Config script), "error?code=70043" (error_uri).
var (
	markAADSTS     = mark("aadsts")
	codeMarks      = marks("aadsts", "errorno", "error code", "errorcode", "error?code=")
	markErrorCodes = mark("error_codes")
)

// AADSTS codes have five to seven digits (AADSTS16000 .. AADSTS9002313);
// requiring five keeps years ("Error Code 2026-...") out.
const (
	minCodeDigits = 5
	maxCodeDigits = 8
	maxCodes      = 16 // more than any real message carries; bounds the work
)

// findCodes returns the AADSTS codes in order of first appearance in the
// text s; codes seen only in an error_codes list follow in list order.
func findCodes(s string, ix *markIndex) []int {
	type found struct{ code, pos int }
	var buf [maxCodes]found
	seen := buf[:0]
	add := func(code, pos int) {
		for i := range seen {
			if seen[i].code == code {
				seen[i].pos = min(seen[i].pos, pos)
				return
			}
		}
		if len(seen) < maxCodes {
			seen = append(seen, found{code, pos})
		}
	}
	for _, id := range codeMarks {
		for _, p := range ix.hits(id) {
			at := int(p) + len(markList[id])
			if id != markAADSTS {
				at = skipSeparators(s, at)
			}
			if n, ok := readCode(s, at); ok {
				add(n, int(p))
			}
		}
	}
	// error_codes lists every code, e.g. [70002,70000].
	for _, p := range ix.hits(markErrorCodes) {
		at := skipSeparators(s, int(p)+len("error_codes"))
		if at >= len(s) || s[at] != '[' {
			continue
		}
		for at++; at < len(s); {
			for at < len(s) && (s[at] == ' ' || s[at] == ',' || s[at] == '\t' || s[at] == '\r' || s[at] == '\n') {
				at++
			}
			n, ok := readCode(s, at)
			if !ok {
				break
			}
			add(n, len(s)+at)
			at += digitsLen(s, at)
		}
	}
	// Insertion sort by position: there are at most a handful.
	for i := 1; i < len(seen); i++ {
		for j := i; j > 0 && seen[j].pos < seen[j-1].pos; j-- {
			seen[j], seen[j-1] = seen[j-1], seen[j]
		}
	}
	out := make([]int, len(seen))
	for i, f := range seen {
		out[i] = f.code
	}
	return out
}

// readCode reads 5-8 digits at s[at:] that are not part of a longer word
// (so "0x80048823" and "2147024891," are rejected).
func readCode(s string, at int) (int, bool) {
	n := digitsLen(s, at)
	if n < minCodeDigits || n > maxCodeDigits {
		return 0, false
	}
	if end := at + n; end < len(s) && isWordByte(s[end]) {
		return 0, false
	}
	v := 0
	for i := at; i < at+n; i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

func digitsLen(s string, at int) int {
	n := 0
	for at+n < len(s) && s[at+n] >= '0' && s[at+n] <= '9' {
		n++
	}
	return n
}

// skipSeparators skips the punctuation between a key and its value in JSON,
// Python reprs, query strings, logs and "Key: value" lines.
func skipSeparators(s string, at int) int {
	for at < len(s) {
		switch s[at] {
		case ' ', '"', '\'', ':', '=', '\t', '\r', '\n', '`':
			at++
		default:
			return at
		}
	}
	return at
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

var markSubError = mark("suberror")

// findSubError reads the value of a suberror key ("suberror", "subError",
// MSAL ObjC's "MSALOAuthSubErrorKey"); it returns the value and where it
// starts so the error scan can skip it (consent_required is both).
func findSubError(s string, ix *markIndex) (string, int) {
	for _, p := range ix.hits(markSubError) {
		at := int(p) + len("suberror")
		if hasPrefixFold(s[at:], "key") {
			at += 3
		}
		at = skipSeparators(s, at)
		if w := identLen(s, at); w >= 3 && w <= 40 {
			return lowerWord(s[at : at+w]), at
		}
	}
	return "", -1
}

// identLen is the length of the [A-Za-z_] word at s[at:].
func identLen(s string, at int) int {
	n := 0
	for at+n < len(s) && isIdentByte(s[at+n]) {
		n++
	}
	return n
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// lowerWord lower-cases a short ASCII word, without allocating when it
// already is (the usual case for OAuth identifiers).
func lowerWord(w string) string {
	for i := 0; i < len(w); i++ {
		if c := w[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(w)
		}
	}
	return w
}

// findOAuthError finds the first OAuth error identifier in the text. Every
// OAuth error contains an underscore, so the scan visits underscores only
// and looks the surrounding word up; skip is the suberror value's offset.
func findOAuthError(s string, skip int) string {
	for from := 0; from < len(s); {
		i := strings.IndexByte(s[from:], '_')
		if i < 0 {
			return ""
		}
		u := from + i
		start := u
		for start > 0 && isIdentByte(s[start-1]) {
			start--
		}
		end := u + identLen(s, u)
		from = end + 1
		if start == skip || start > 0 && isWordByte(s[start-1]) || end < len(s) && isWordByte(s[end]) || end-start > 40 {
			continue
		}
		if w := lowerWord(s[start:end]); oauthErrors[w].cause != "" {
			return w
		}
	}
	return ""
}

// statusMarks precede an HTTP status in MSAL Go ("reply status code was
// 400"), MSAL Python/azure-cli ("http error: 400"), .NET ("returned an
// error: (401)"), raw responses ("HTTP/1.1 400") and JSON ("status": 403).
var statusMarks = marks(
	"status code was", "status code", "statuscode", "http error", "returned an error",
	"http/1.1 ", "http/2 ", "\"status\"", "status:", "(status",
)

// reasonPhrases follow a status in "503 Service Unavailable" or
// "(429) Too Many Requests"; the phrase alone is not trusted (Entra's own
// descriptions say "too many requests" without any HTTP status).
var reasonPhrases = marks(
	"too many requests", "service unavailable", "gateway timeout", "bad gateway", "internal server error",
	"unauthorized", "bad request", "forbidden",
)

func findHTTPStatus(s string, ix *markIndex) string {
	for _, id := range statusMarks {
		for _, p := range ix.hits(id) {
			at := int(p) + len(markList[id])
			for at < len(s) && (s[at] == '(' || s[at] == ' ' || s[at] == ':' || s[at] == '=' || s[at] == '"') {
				at++
			}
			if n := digitsLen(s, at); n == 3 && s[at] >= '1' && s[at] <= '5' {
				return s[at : at+3]
			}
		}
	}
	for _, id := range reasonPhrases {
		for _, p := range ix.hits(id) {
			j := int(p)
			for j > 0 && (s[j-1] == ' ' || s[j-1] == ')') {
				j--
			}
			if j >= 3 && digitsLen(s, j-3) == 3 && (j == 3 || !isWordByte(s[j-4])) && s[j-3] >= '1' && s[j-3] <= '5' {
				return s[j-3 : j]
			}
		}
	}
	return ""
}

// networkMarks name network failures in Go, Node, Python and .NET wording.
var networkMarks = []struct {
	id   markID
	kind string
}{
	{mark("context deadline exceeded"), "timeout"}, {mark("i/o timeout"), "timeout"},
	{mark("client.timeout exceeded"), "timeout"}, {mark("tls handshake timeout"), "timeout"},
	{mark("etimedout"), "timeout"}, {mark("timed out"), "timeout"},
	{mark("connection reset"), "connection reset"}, {mark("econnreset"), "connection reset"},
	{mark("socket hang up"), "connection reset"}, {mark("broken pipe"), "connection reset"},
	{mark("unexpected eof"), "connection reset"},
	{mark("connection refused"), "connection refused"}, {mark("econnrefused"), "connection refused"},
	{mark("no such host"), "dns"}, {mark("enotfound"), "dns"}, {mark("eai_again"), "dns"},
	{mark("temporary failure in name resolution"), "dns"}, {mark("server misbehaving"), "dns"},
	{mark("network is unreachable"), "unreachable"}, {mark("no route to host"), "unreachable"},
	{mark("enetunreach"), "unreachable"},
}

func findNetworkFailure(ix *markIndex) string {
	for _, m := range networkMarks {
		if ix.has(m.id) {
			return m.kind
		}
	}
	return ""
}

// graphErrors are Microsoft Graph / SharePoint error codes (not AADSTS):
// they concern the access token or permissions, not the refresh token.
var graphErrors = []struct {
	mark markID
	name string // as Graph spells it
	info codeInfo
}{
	{mark("authorization_requestdenied"), "Authorization_RequestDenied", codeInfo{cause: CauseConsentRequired, verdict: definitive,
		explanation: "Graph denied the request: the token lacks a permission (scope not consented) or the account lacks the directory role the operation needs."}},
	{mark("invalidauthenticationtoken"), "InvalidAuthenticationToken", codeInfo{cause: CauseOther, verdict: undecided,
		explanation: "Graph rejected the access token (expired, wrong audience, or revoked by continuous access evaluation); the next refresh decides whether the refresh token still works."}},
	{mark("toomanyrequests"), "TooManyRequests", codeInfo{cause: CauseTransient, verdict: transient, explanation: "Graph throttled the request."}},
	{mark("activitylimitreached"), "activityLimitReached", codeInfo{cause: CauseTransient, verdict: transient, explanation: "Graph throttled the request."}},
	{mark("servicenotavailable"), "ServiceNotAvailable", codeInfo{cause: CauseTransient, verdict: transient, explanation: "Graph was temporarily unavailable."}},
	{mark("unauthorizedaccessexception"), "System.UnauthorizedAccessException", codeInfo{cause: CauseOther, verdict: undecided,
		explanation: "SharePoint refused the request as unauthorized (its own check, separate from the token endpoint)."}},
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
