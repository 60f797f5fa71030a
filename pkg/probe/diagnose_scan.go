package probe

import "strings"

// The scanners below read the normalized, lower-cased text with
// strings.Index and byte loops only: no regular expressions, so a
// classification costs a few microseconds (BenchmarkDiagnose).

// codeMarks precede an AADSTS number in the shapes seen in the wild:
// "AADSTS70043:", `"errorNo":700082` (MSAL Node), "Error Code: 53003" (the
// sign-in error page and sign-in logs), `"iErrorCode":50058` (the page's
// $Config script), "error?code=70043" (error_uri).
var codeMarks = []string{"aadsts", "errorno", "error code", "errorcode", "error?code="}

const (
	minCodeDigits = 4
	maxCodeDigits = 8
	maxCodes      = 16 // more than any real message carries; bounds the work
)

// findCodes returns the AADSTS codes in order of first appearance.
func findCodes(lower string) []int {
	out := make([]int, 0, 2)
	for _, mark := range codeMarks {
		for from := 0; len(out) < maxCodes; {
			i := strings.Index(lower[from:], mark)
			if i < 0 {
				break
			}
			at := from + i + len(mark)
			from = at
			if mark != "aadsts" {
				at = skipSeparators(lower, at)
			}
			if n, ok := readCode(lower, at); ok {
				out = appendUnique(out, n)
			}
		}
	}
	// error_codes lists every code, e.g. [70002,70000].
	for from := 0; len(out) < maxCodes; {
		i := strings.Index(lower[from:], "error_codes")
		if i < 0 {
			break
		}
		at := from + i + len("error_codes")
		from = at
		at = skipSeparators(lower, at)
		if at >= len(lower) || lower[at] != '[' {
			continue
		}
		for at++; at < len(lower) && len(out) < maxCodes; {
			for at < len(lower) && (lower[at] == ' ' || lower[at] == ',' || lower[at] == '\t') {
				at++
			}
			n, ok := readCode(lower, at)
			if !ok {
				break
			}
			out = appendUnique(out, n)
			at += digitsLen(lower, at)
		}
	}
	if len(out) > 1 {
		out = orderByPosition(lower, out)
	}
	return out
}

// orderByPosition sorts codes by where their "AADSTS<n>" first appears, so a
// message's own order wins over the order of the marks above. Codes seen only
// in error_codes keep their place after those seen as AADSTS<n>.
func orderByPosition(lower string, codes []int) []int {
	pos := make([]int, len(codes))
	for i, c := range codes {
		pos[i] = strings.Index(lower, "aadsts"+itoa(c))
		if pos[i] < 0 {
			pos[i] = len(lower) + i
		}
	}
	// Insertion sort: there are at most a handful.
	for i := 1; i < len(codes); i++ {
		for j := i; j > 0 && pos[j] < pos[j-1]; j-- {
			pos[j], pos[j-1] = pos[j-1], pos[j]
			codes[j], codes[j-1] = codes[j-1], codes[j]
		}
	}
	return codes
}

// readCode reads 4-8 digits at s[at:] that are not part of a longer word
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
	return v, v >= 1000
}

func digitsLen(s string, at int) int {
	n := 0
	for at+n < len(s) && s[at+n] >= '0' && s[at+n] <= '9' {
		n++
	}
	return n
}

func appendUnique(xs []int, x int) []int {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
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

// findSubError reads the value of a suberror key ("suberror", "subError",
// MSAL ObjC's "MSALOAuthSubErrorKey"); it returns the value and where it
// starts so the error scan can skip it (consent_required is both).
func findSubError(lower string) (string, int) {
	for from := 0; ; {
		i := strings.Index(lower[from:], "suberror")
		if i < 0 {
			return "", -1
		}
		at := from + i + len("suberror")
		from = at
		if strings.HasPrefix(lower[at:], "key") {
			at += 3
		}
		at = skipSeparators(lower, at)
		w := identLen(lower, at)
		if w >= 3 && w <= 40 {
			return lower[at : at+w], at
		}
	}
}

// identLen is the length of the [a-z_] word at s[at:].
func identLen(s string, at int) int {
	n := 0
	for at+n < len(s) {
		c := s[at+n]
		if c >= 'a' && c <= 'z' || c == '_' {
			n++
			continue
		}
		break
	}
	return n
}

// findOAuthError finds the first OAuth error identifier in the text. Every
// OAuth error contains an underscore, so the scan visits underscores only
// and looks the surrounding word up; skip is the suberror value's offset.
func findOAuthError(lower string, skip int) string {
	for from := 0; from < len(lower); {
		i := strings.IndexByte(lower[from:], '_')
		if i < 0 {
			return ""
		}
		u := from + i
		start := u
		for start > 0 && (lower[start-1] >= 'a' && lower[start-1] <= 'z' || lower[start-1] == '_') {
			start--
		}
		end := u + identLen(lower, u)
		from = end + 1
		if start == skip || start > 0 && isWordByte(lower[start-1]) || end < len(lower) && isWordByte(lower[end]) {
			continue
		}
		if _, ok := oauthErrors[lower[start:end]]; ok {
			return lower[start:end]
		}
	}
	return ""
}

// statusMarks precede an HTTP status in MSAL Go ("reply status code was
// 400"), MSAL Python/azure-cli ("http error: 400"), .NET ("returned an
// error: (401)"), raw responses ("HTTP/1.1 400") and JSON ("status": 403).
var statusMarks = []string{
	"status code was", "status code", "statuscode", "http error", "returned an error",
	"http/1.1 ", "http/2 ", "\"status\"", "status:", "(status",
}

// reasonPhrases follow a status in "503 Service Unavailable" or
// "(429) Too Many Requests"; the phrase alone is not trusted (Entra's own
// descriptions say "too many requests" without any HTTP status).
var reasonPhrases = []string{
	"too many requests", "service unavailable", "gateway timeout", "bad gateway", "internal server error",
	"unauthorized", "bad request", "forbidden",
}

func findHTTPStatus(lower string) string {
	for _, mark := range statusMarks {
		for from := 0; ; {
			i := strings.Index(lower[from:], mark)
			if i < 0 {
				break
			}
			at := from + i + len(mark)
			from = at
			for at < len(lower) && (lower[at] == '(' || lower[at] == ' ' || lower[at] == ':' || lower[at] == '=' || lower[at] == '"') {
				at++
			}
			if n := digitsLen(lower, at); n == 3 && lower[at] >= '1' && lower[at] <= '5' {
				return lower[at : at+3]
			}
		}
	}
	for _, phrase := range reasonPhrases {
		for from := 0; ; {
			i := strings.Index(lower[from:], phrase)
			if i < 0 {
				break
			}
			at := from + i
			from = at + len(phrase)
			j := at
			for j > 0 && (lower[j-1] == ' ' || lower[j-1] == ')') {
				j--
			}
			if j >= 3 && digitsLen(lower, j-3) == 3 && (j == 3 || !isWordByte(lower[j-4])) && lower[j-3] >= '1' && lower[j-3] <= '5' {
				return lower[j-3 : j]
			}
		}
	}
	return ""
}

// networkMarks name network failures in Go, Node, Python and .NET wording.
var networkMarks = []struct{ mark, kind string }{
	{"context deadline exceeded", "timeout"}, {"i/o timeout", "timeout"},
	{"client.timeout exceeded", "timeout"}, {"tls handshake timeout", "timeout"},
	{"etimedout", "timeout"}, {"timed out", "timeout"},
	{"connection reset", "connection reset"}, {"econnreset", "connection reset"},
	{"socket hang up", "connection reset"}, {"broken pipe", "connection reset"},
	{"unexpected eof", "connection reset"},
	{"connection refused", "connection refused"}, {"econnrefused", "connection refused"},
	{"no such host", "dns"}, {"enotfound", "dns"}, {"eai_again", "dns"},
	{"temporary failure in name resolution", "dns"}, {"server misbehaving", "dns"},
	{"network is unreachable", "unreachable"}, {"no route to host", "unreachable"},
	{"enetunreach", "unreachable"},
}

func findNetworkFailure(lower string) string {
	for _, m := range networkMarks {
		if strings.Contains(lower, m.mark) {
			return m.kind
		}
	}
	return ""
}

// graphErrors are Microsoft Graph / SharePoint error codes (not AADSTS):
// they concern the access token or permissions, not the refresh token.
var graphErrors = []struct {
	mark string // lower-case
	name string // as Graph spells it
	info codeInfo
}{
	{"authorization_requestdenied", "Authorization_RequestDenied", codeInfo{cause: CauseConsentRequired, verdict: definitive,
		explanation: "Graph denied the request: the token lacks a permission (scope not consented) or the account lacks the directory role the operation needs."}},
	{"invalidauthenticationtoken", "InvalidAuthenticationToken", codeInfo{cause: CauseOther, verdict: undecided,
		explanation: "Graph rejected the access token (expired, wrong audience, or revoked by continuous access evaluation); the next refresh decides whether the refresh token still works."}},
	{"toomanyrequests", "TooManyRequests", codeInfo{cause: CauseTransient, verdict: transient, explanation: "Graph throttled the request."}},
	{"activitylimitreached", "activityLimitReached", codeInfo{cause: CauseTransient, verdict: transient, explanation: "Graph throttled the request."}},
	{"servicenotavailable", "ServiceNotAvailable", codeInfo{cause: CauseTransient, verdict: transient, explanation: "Graph was temporarily unavailable."}},
	{"unauthorizedaccessexception", "System.UnauthorizedAccessException", codeInfo{cause: CauseOther, verdict: undecided,
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
