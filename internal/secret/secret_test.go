package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverRendersItsValue(t *testing.T) {
	const value = "xoxb-very-secret-value"
	s := New(value)
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("x", "token", s)
	js, _ := json.Marshal(struct{ T Secret }{s})
	yml, _ := s.MarshalYAML()
	txt, _ := s.MarshalText()
	renderings := []string{
		s.String(), fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s),
		fmt.Sprintf("%v", struct{ T Secret }{s}), logBuf.String(), string(js), fmt.Sprint(yml), string(txt),
	}
	for _, r := range renderings {
		if strings.Contains(r, value) || strings.Contains(r, fmt.Sprintf("%x", value)) {
			t.Errorf("secret value leaked in %q", r)
		}
	}
	if s.Reveal() != value {
		t.Fatalf("Reveal() = %q", s.Reveal())
	}
}
