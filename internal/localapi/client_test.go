package localapi

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// answering serves every request with body on a unix socket and returns
// the socket's path.
func answering(t *testing.T, body []byte) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "lapi") // unix socket paths are short
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return sock
}

// An answer longer than the limit is named as such, not reported as the
// JSON syntax error its cut-off text would give; one of exactly the limit
// is read whole. The limit is lowered to 1 MiB to keep the test quick; the
// real one is checked below.
func TestAnswerSizeLimit(t *testing.T) {
	const limit = 1 << 20
	// "{}" padded with JSON whitespace: valid at any length.
	padded := func(n int) []byte { return append([]byte("{}"), bytes.Repeat([]byte(" "), n-2)...) }
	for _, c := range []struct {
		name string
		size int
		want string
	}{
		{"exactly the limit", limit, ""},
		{"one byte over", limit + 1, "answer from the daemon to GET /v1/status exceeds the 1 MiB limit"},
		{"far over", 3 * limit, "answer from the daemon to GET /v1/status exceeds the 1 MiB limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			client := NewClient(answering(t, padded(c.size)))
			client.maxAnswer = limit
			_, err := client.Status(context.Background())
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != c.want {
				t.Fatalf("Status error = %q, want %q", got, c.want)
			}
			var tooLarge *AnswerTooLargeError
			if c.want != "" && !errors.As(err, &tooLarge) {
				t.Fatalf("error %T is not an AnswerTooLargeError", err)
			}
		})
	}
}

func TestDefaultAnswerLimit(t *testing.T) {
	if got := NewClient("/x").maxAnswer; got != 64<<20 {
		t.Fatalf("default limit %d bytes, want 64 MiB", got)
	}
	for _, c := range []struct {
		limit int64
		want  string
	}{
		{64 << 20, "answer from the daemon to POST /v1/reload exceeds the 64 MiB limit"},
		{1000, "answer from the daemon to POST /v1/reload exceeds the 1000 bytes limit"},
	} {
		if got := (&AnswerTooLargeError{Method: "POST", Path: "/v1/reload", Limit: c.limit}).Error(); got != c.want {
			t.Errorf("Error() = %q, want %q", got, c.want)
		}
	}
}
