package probe

import "strings"

// Token-endpoint bodies and pasted logs sometimes echo a refresh token, an
// access token or a client secret. The classifier copies only values read by
// the narrow readers in diagnose_values.go, and safeValue is the last gate:
// anything shaped like a credential never reaches a Diagnosis, a log line or
// the CLI output.

// maxOpaqueRun is the longest run of token characters a value may contain.
// The longest legitimate values (GUIDs: 36, timestamps: 28, 32-hex ids) fit;
// refresh tokens (hundreds of characters), JWTs and most client secrets
// (40 characters) do not.
const maxOpaqueRun = 38

func safeValue(v string) bool {
	return !looksLikeCredential(v)
}

// looksLikeCredential reports JWTs (eyJ...), Entra refresh tokens ("0.A..."
// and "1.A..." prefixes), client secrets (containing '~', as Entra's do) and
// any long opaque run of base64/base64url characters.
func looksLikeCredential(v string) bool {
	if strings.Contains(v, "eyJ") || strings.Contains(v, "~") {
		return true
	}
	if len(v) > 3 && (v[0] == '0' || v[0] == '1') && v[1] == '.' && v[2] == 'A' {
		return true
	}
	run := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '+' || c == '/' || c == '=' || c == '*' || c == '!' || c == '$' {
			run++
			if run > maxOpaqueRun {
				return true
			}
			continue
		}
		run = 0
	}
	return false
}

// RedactCredentials returns s with every credential-shaped word replaced by
// "<redacted>", for callers (the probe's error log, AADError) that must keep
// free text Microsoft sent but cannot let an echoed token through.
func RedactCredentials(s string) string {
	var b strings.Builder
	last, changed := 0, false
	for i := 0; i < len(s); {
		if !isCredentialByte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isCredentialByte(s[j]) {
			j++
		}
		if looksLikeCredential(s[i:j]) {
			for j < len(s) && s[j] == '=' { // base64 padding belongs to the token
				j++
			}
			if !changed {
				b.Grow(len(s))
				changed = true
			}
			b.WriteString(s[last:i])
			b.WriteString("<redacted>")
			last = j
		}
		i = j
	}
	if !changed {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// isCredentialByte: characters that can appear inside a token or secret
// (base64, base64url, JWT dots, Entra secret '~', GUID dashes). '=' is not
// one, so "key=value" splits; trailing padding is absorbed separately.
func isCredentialByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '-' || c == '.' || c == '~' || c == '+' || c == '/'
}
