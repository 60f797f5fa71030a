package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/secret"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
	"github.com/tokenhealth/tokenhealth/pkg/notify/notifytest"
)

const hmacKey = "0123456789abcdef-test-key"

func TestSignedDeliveryVerifiedByReceiver(t *testing.T) {
	var body []byte
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		hdr = r.Header.Clone()
		if err := Verify([]byte(hmacKey), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature), body, notifytest.Now, 5*time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	wh := New(&Config{URL: srv.URL, BearerToken: secret.New("bearer-xyz"), HMACSecret: secret.New(hmacKey)}, srv.Client())
	msg := notifytest.Firing()
	if retry, err := wh.Notify(context.Background(), msg); err != nil {
		t.Fatalf("retry=%v err=%v", retry, err)
	}
	if hdr.Get("Authorization") != "Bearer bearer-xyz" || hdr.Get(HeaderIdempotency) != msg.ID || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("headers: %v", hdr)
	}
	if strings.Contains(string(body), "<script>") || strings.Contains(string(body), "<!channel>") {
		t.Fatalf("raw < > reached the body: %s", body)
	}
	if s := notifytest.Strings(t, body); !strings.Contains(s, notifytest.HostilePolicy) || !strings.Contains(s, "tokenhealth explain 6f1c2d3e-0000-4000-8000-000000000001") {
		t.Fatalf("decoded body lacks the policy name or explain command:\n%s", s)
	}
	// The golden file keeps the wire order and escaping, only indented.
	var wire bytes.Buffer
	if err := json.Indent(&wire, body, "", "  "); err != nil {
		t.Fatal(err)
	}
	notifytest.Golden(t, "webhook_firing.json", append(wire.Bytes(), '\n'))

	// Replays and tampering are refused by Verify.
	ts := hdr.Get(HeaderTimestamp)
	sig := hdr.Get(HeaderSignature)
	if err := Verify([]byte(hmacKey), ts, sig, body, notifytest.Now.Add(time.Hour), 5*time.Minute); err == nil {
		t.Error("an hour-old body verified")
	}
	if err := Verify([]byte(hmacKey), ts, sig, append(body, ' '), notifytest.Now, 5*time.Minute); err == nil {
		t.Error("a modified body verified")
	}
	if err := Verify([]byte("other-key-0123456789"), ts, sig, body, notifytest.Now, 5*time.Minute); err == nil {
		t.Error("a body verified with the wrong key")
	}
}

func TestStatusCodesDecideRetry(t *testing.T) {
	cases := []struct {
		code        int
		retryAfter  string
		retry       bool
		reason      string
		agentHealth bool
		wait        time.Duration
	}{
		{500, "", true, notify.FailServer, false, 0},
		{503, "120", true, notify.FailServer, false, 2 * time.Minute},
		{429, "30", true, notify.FailRateLimited, false, 30 * time.Second},
		{408, "", true, notify.FailClient, false, 0},
		{400, "", false, notify.FailClient, false, 0},
		{401, "", false, notify.FailAuth, true, 0},
		{403, "", false, notify.FailAuth, true, 0},
		{404, "", false, notify.FailConfig, true, 0},
		{422, "", false, notify.FailClient, false, 0},
	}
	for _, c := range cases {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.retryAfter != "" {
				w.Header().Set("Retry-After", c.retryAfter)
			}
			w.WriteHeader(c.code)
		}))
		retry, err := New(&Config{URL: srv.URL}, srv.Client()).Notify(context.Background(), notifytest.Firing())
		srv.Close()
		var ne *notify.Error
		if !errors.As(err, &ne) {
			t.Fatalf("%d: err = %v", c.code, err)
		}
		if retry != c.retry || ne.Reason != c.reason || ne.AgentHealth != c.agentHealth || ne.RetryAfter != c.wait {
			t.Errorf("%d: retry=%v reason=%s agentHealth=%v wait=%s; want %v %s %v %s",
				c.code, retry, ne.Reason, ne.AgentHealth, ne.RetryAfter, c.retry, c.reason, c.agentHealth, c.wait)
		}
	}
	retry, err := New(&Config{URL: "http://127.0.0.1:1/hook?token=s3cret"}, nil).Notify(context.Background(), notifytest.Firing())
	if !retry || err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("connection refused: retry=%v err=%v (must retry, must not show the query)", retry, err)
	}
}
