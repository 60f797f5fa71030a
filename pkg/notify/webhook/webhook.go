// Package webhook delivers alerts as a signed JSON POST (schema in
// SCHEMA.md) to any HTTP endpoint.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

const integration = "webhook"

// Header names of the signed request.
const (
	HeaderSignature   = "X-Tokenhealth-Signature"
	HeaderTimestamp   = "X-Tokenhealth-Timestamp"
	HeaderIdempotency = "Idempotency-Key"
)

// Webhook posts the JSON body.
type Webhook struct {
	url     string
	bearer  string
	hmacKey []byte
	hc      *http.Client
	timeout time.Duration
}

// New builds a webhook integration; hc carries proxy and CA settings.
func New(cfg *Config, hc *http.Client) *Webhook {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Webhook{
		url: cfg.URL, bearer: cfg.BearerToken.Reveal(), hmacKey: []byte(cfg.HMACSecret.Reveal()),
		hc: hc, timeout: cfg.EffectiveTimeout(),
	}
}

// Sign returns the signature header value for a body sent at ts: the
// HMAC-SHA256 of "<unix seconds>.<body>". Binding the timestamp into the
// MAC lets a receiver refuse replays of an old, validly signed body.
func Sign(key []byte, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%d.", ts.Unix())
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a received request's signature and that its timestamp is
// within tolerance of now. Receivers written in Go can call it directly.
func Verify(key []byte, timestampHeader, signatureHeader string, body []byte, now time.Time, tolerance time.Duration) error {
	secs, err := strconv.ParseInt(timestampHeader, 10, 64)
	if err != nil {
		return fmt.Errorf("%s: not a unix timestamp", HeaderTimestamp)
	}
	ts := time.Unix(secs, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%s: %s is outside the %s tolerance (replay?)", HeaderTimestamp, ts.UTC().Format(time.RFC3339), tolerance)
	}
	want := Sign(key, ts, body)
	if !hmac.Equal([]byte(want), []byte(signatureHeader)) {
		return fmt.Errorf("%s: signature mismatch", HeaderSignature)
	}
	return nil
}

// Notify posts msg once.
func (w *Webhook) Notify(ctx context.Context, msg *notify.Message) (bool, error) {
	body, err := json.Marshal(NewPayload(msg))
	if err != nil {
		return false, &notify.Error{Integration: integration, Reason: notify.FailRender, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return false, &notify.Error{Integration: integration, Reason: notify.FailConfig, Err: notify.RedactError(err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tokenhealth-webhook/"+SchemaVersion)
	req.Header.Set(HeaderIdempotency, msg.ID)
	ts := msg.Now
	if ts.IsZero() {
		ts = time.Now()
	}
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if len(w.hmacKey) > 0 {
		req.Header.Set(HeaderSignature, Sign(w.hmacKey, ts, body))
	}
	if w.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+w.bearer)
	}
	return notify.SendHTTP(w.hc, integration, req)
}
