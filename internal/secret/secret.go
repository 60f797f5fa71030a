// Package secret holds configuration secrets (bot tokens, passwords, HMAC
// keys) so that they cannot leak by accident: a Secret prints, formats and
// marshals as "<secret>", and only Reveal gives the value to the code that
// must send it.
package secret

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Redacted is what every rendering of a Secret shows.
const Redacted = "<secret>"

// Secret is a sensitive string. The zero value is empty.
type Secret struct {
	value string
}

// New wraps a value.
func New(v string) Secret { return Secret{value: v} }

// Reveal returns the value. Call it only where the value is sent.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether no value is set.
func (s Secret) IsZero() bool { return s.value == "" }

func (s Secret) String() string { return s.redacted() }

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return s.redacted() }

// Format covers every fmt verb, including %x and %q.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.redacted())) }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

// MarshalJSON renders "<secret>" (never the value) in dumps and API output.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.redacted()) }

// MarshalYAML renders "<secret>" in config dumps.
func (s Secret) MarshalYAML() (any, error) { return s.redacted(), nil }

// MarshalText covers encoders that use encoding.TextMarshaler.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.redacted()), nil }

// UnmarshalText lets decoders fill a Secret from a plain string.
func (s *Secret) UnmarshalText(b []byte) error {
	s.value = string(b)
	return nil
}

func (s Secret) redacted() string {
	if s.value == "" {
		return ""
	}
	return Redacted
}
