package logx

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestRateLimitPerMessage(t *testing.T) {
	var buf bytes.Buffer
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := NewRateLimit(slog.NewTextHandler(&buf, nil), 3, time.Minute)
	h.now = func() time.Time { return now }
	log := slog.New(h)
	for i := 0; i < 1000; i++ {
		log.With("tenant", i).Warn("probe failed", "cause", "transient")
	}
	log.Info("different message")
	if got := strings.Count(buf.String(), "probe failed"); got != 3 {
		t.Fatalf("%d 'probe failed' lines passed in one window, want 3", got)
	}
	if !strings.Contains(buf.String(), "different message") {
		t.Fatal("an unrelated message was suppressed")
	}
	now = now.Add(time.Minute)
	buf.Reset()
	log.Warn("probe failed")
	if !strings.Contains(buf.String(), "suppressed=997") {
		t.Fatalf("next window does not report the suppressed count: %s", buf.String())
	}
}
