package probe

import (
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Pasted errors arrive wrapped in layers: JSON inside a JSON string inside a
// log line (`\\\"error\\\"`), \u000d\u000a escapes, URL-encoded redirect
// query strings (%22, %3A, '+'), HTML pages with entities and tags. normalize
// peels those layers so the scanner sees one flat text. It never needs to be
// exact, only to preserve the words, digits and punctuation the scanner reads.

// maxDecodePasses bounds the peeling: each pass removes at least one layer,
// and real pastes have at most three (URL-encoded JSON inside JSON).
const maxDecodePasses = 4

// maxInput bounds the work done on absurd inputs (a whole log file pasted);
// errors worth classifying are far shorter.
const maxInput = 256 << 10

func normalize(s string) string {
	if len(s) > maxInput {
		s = s[:maxInput]
	}
	if looksLikeHTML(s) {
		s = stripTags(s)
	}
	for pass := 0; pass < maxDecodePasses; pass++ {
		if strings.IndexByte(s, '\\') < 0 && strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '&') < 0 {
			break
		}
		next := decodeOnce(s)
		if next == s {
			break
		}
		s = next
	}
	return s
}

// htmlTags are the markup words that make a text an HTML page.
var htmlTags = []string{"<html", "<!doctype", "<body", "</div>", "</span>", "</td>"}

// looksLikeHTML is deliberately narrow: "<REMOVED>" or "<UUID redacted>" in
// a pasted log must survive, only real markup is stripped. It compares
// case-insensitively without allocating (it runs on every input).
func looksLikeHTML(s string) bool {
	for i := strings.IndexByte(s, '<'); i >= 0; {
		for _, tag := range htmlTags {
			if hasPrefixFold(s[i:], tag) {
				return true
			}
		}
		j := strings.IndexByte(s[i+1:], '<')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

// hasPrefixFold reports whether s starts with the lower-case ASCII prefix,
// ignoring the case of s.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerTab[s[i]] != prefix[i] {
			return false
		}
	}
	return true
}

// stripTags replaces every <...> element with one space, keeping the text
// and script contents (Entra pages embed the error in a $Config script,
// often inside a CDATA section whose markers are dropped, not its content).
func stripTags(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case !in && strings.HasPrefix(s[i:], "<![CDATA["):
			b.WriteByte(' ')
			i += len("<![CDATA[") - 1
		case !in && strings.HasPrefix(s[i:], "]]>"):
			b.WriteByte(' ')
			i += len("]]>") - 1
		case c == '<' && !in:
			in = true
		case c == '>' && in:
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// escapeStart marks the bytes decodeOnce must look at.
var escapeStart = [256]bool{'\\': true, '%': true, '+': true, '&': true}

// decodeOnce removes one layer of backslash, percent and HTML-entity escapes.
func decodeOnce(s string) string {
	plusIsSpace := hasPercentEscape(s)
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		// Copy the plain run up to the next escape character in one go.
		j := i
		for j < len(s) && !escapeStart[s[j]] {
			j++
		}
		b = append(b, s[i:j]...)
		if i = j; i == len(s) {
			break
		}
		c := s[i]
		switch c {
		case '\\':
			j := i
			for j < len(s) && s[j] == '\\' {
				j++
			}
			if j == len(s) {
				return bytesToString(b) // trailing backslashes carry nothing
			}
			n, w := decodeBackslash(s[j:], b)
			b = n
			i = j + w
		case '%':
			if i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
				b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
				i += 3
				continue
			}
			b = append(b, c)
			i++
		case '+':
			if plusIsSpace {
				c = ' '
			}
			b = append(b, c)
			i++
		case '&':
			if r, w := decodeEntity(s[i:]); w > 0 {
				b = utf8.AppendRune(b, r)
				i += w
				continue
			}
			b = append(b, c)
			i++
		default:
			b = append(b, c)
			i++
		}
	}
	return bytesToString(b)
}

// decodeBackslash decodes the escape after a run of backslashes; s starts at
// the escaped character. Any depth of escaping collapses in one step, which
// is what nested `\\\"` needs.
func decodeBackslash(s string, b []byte) ([]byte, int) {
	switch c := s[0]; c {
	case 'r', 'n', 't':
		return append(b, ' '), 1
	case 'u':
		if len(s) >= 5 && isHex(s[1]) && isHex(s[2]) && isHex(s[3]) && isHex(s[4]) {
			r := rune(unhex(s[1]))<<12 | rune(unhex(s[2]))<<8 | rune(unhex(s[3]))<<4 | rune(unhex(s[4]))
			if r < 0x20 {
				r = ' '
			}
			return utf8.AppendRune(b, r), 5
		}
		return append(b, c), 1
	default:
		return append(b, c), 1
	}
}

var entities = map[string]rune{
	"quot": '"', "apos": '\'', "amp": '&', "lt": '<', "gt": '>', "nbsp": ' ',
}

// decodeEntity decodes an HTML entity at the start of s ("&quot;", "&#39;",
// "&#x27;"), returning the rune and the bytes consumed, or 0 width.
func decodeEntity(s string) (rune, int) {
	end := strings.IndexByte(s[:min(len(s), 10)], ';')
	if end < 2 {
		return 0, 0
	}
	name := s[1:end]
	if name[0] != '#' {
		if r, ok := entities[name]; ok {
			return r, end + 1
		}
		return 0, 0
	}
	var r rune
	digits := name[1:]
	base := rune(10)
	if len(digits) > 0 && (digits[0] == 'x' || digits[0] == 'X') {
		base, digits = 16, digits[1:]
	}
	if digits == "" {
		return 0, 0
	}
	for i := 0; i < len(digits); i++ {
		d := digits[i]
		switch {
		case d >= '0' && d <= '9':
			r = r*base + rune(d-'0')
		case base == 16 && isHex(d):
			r = r*base + rune(unhex(d))
		default:
			return 0, 0
		}
	}
	if r < 0x20 || r > utf8.MaxRune {
		r = ' '
	}
	return r, end + 1
}

func hasPercentEscape(s string) bool {
	for i := strings.IndexByte(s, '%'); i >= 0 && i+2 < len(s); {
		if isHex(s[i+1]) && isHex(s[i+2]) {
			return true
		}
		j := strings.IndexByte(s[i+1:], '%')
		if j < 0 {
			return false
		}
		i += 1 + j
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// lowerTab maps ASCII upper-case letters to lower case and every other
// byte to itself.
var lowerTab = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

// bytesToString hands a freshly built buffer over as a string without a
// second copy; callers never touch the buffer again.
func bytesToString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}
