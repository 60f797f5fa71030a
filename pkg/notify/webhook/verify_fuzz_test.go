package webhook

import (
	"strconv"
	"testing"
	"time"
)

// FuzzVerify: a receiver's check of the signature never panics, accepts
// exactly the signature Sign computes for that key, timestamp and body,
// refuses it once the body changes, and refuses timestamps outside the
// tolerance however they are written.
//
//	go test -run '^$' -fuzz '^FuzzVerify$' -fuzztime 60s ./pkg/notify/webhook/
func FuzzVerify(f *testing.F) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	f.Add([]byte("k"), strconv.FormatInt(now.Unix(), 10), "sha256=00", []byte(`{"a":1}`))
	f.Add([]byte{}, "", "", []byte{})
	f.Add([]byte("secret"), "+1764237600", "SHA256=ABC", []byte("x"))
	f.Add([]byte("secret"), "9223372036854775807", "sha256=", []byte("x"))
	f.Add([]byte("secret"), "-9223372036854775808", "sha256=", []byte("x"))
	f.Add([]byte("secret"), " 1764237600", "sha256=", []byte("x"))
	const tolerance = 5 * time.Minute
	f.Fuzz(func(t *testing.T, key []byte, tsHeader, sigHeader string, body []byte) {
		err := Verify(key, tsHeader, sigHeader, body, now, tolerance)
		if err == nil {
			secs, perr := strconv.ParseInt(tsHeader, 10, 64)
			if perr != nil {
				t.Fatalf("accepted unparsable timestamp %q", tsHeader)
			}
			ts := time.Unix(secs, 0)
			if d := now.Sub(ts); d > tolerance || d < -tolerance {
				t.Fatalf("accepted timestamp %v outside tolerance", ts)
			}
			if want := Sign(key, ts, body); sigHeader != want {
				t.Fatalf("accepted signature %q, want only %q", sigHeader, want)
			}
		} else if err.Error() == "" {
			t.Fatal("refusal without a message")
		}

		// Round trip: what Sign produces at a time within tolerance verifies.
		ts := now.Add(-time.Duration(len(body)%300) * time.Second)
		sig := Sign(key, ts, body)
		if err := Verify(key, strconv.FormatInt(ts.Unix(), 10), sig, body, now, tolerance); err != nil {
			t.Fatalf("own signature refused: %v", err)
		}
		tampered := append(append([]byte{}, body...), '!')
		if Verify(key, strconv.FormatInt(ts.Unix(), 10), sig, tampered, now, tolerance) == nil {
			t.Fatal("signature accepted for a changed body")
		}
		old := now.Add(-tolerance - time.Second)
		if Verify(key, strconv.FormatInt(old.Unix(), 10), Sign(key, old, body), body, now, tolerance) == nil {
			t.Fatal("replayed old timestamp accepted")
		}
	})
}
