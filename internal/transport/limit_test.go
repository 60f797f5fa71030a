package transport

import (
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// endless writes 'x' until the client goes away, without a Content-Length.
func endless(w http.ResponseWriter, r *http.Request) {
	chunk := []byte(strings.Repeat("x", 32<<10))
	for {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		if r.Context().Err() != nil {
			return
		}
	}
}

func limitedClient(t *testing.T, srv *httptest.Server, max int64) *http.Client {
	t.Helper()
	hc, err := New(Options{ExtraRoots: []*x509.Certificate{srv.Certificate()}, MaxResponseBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	return hc
}

func TestEndlessBodyStopsAtTheLimit(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(endless))
	defer srv.Close()
	const limit = 1 << 20
	hc := limitedClient(t, srv, limit)
	resp, err := hc.Get(srv.URL + "/token?code=secret")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("err = %v, want ErrResponseTooLarge", err)
	}
	if n != limit {
		t.Fatalf("read %d bytes, want exactly the %d limit", n, limit)
	}
	host := strings.TrimPrefix(srv.URL, "https://")
	if want := "GET " + host + ": response body exceeds the 1 MiB limit; refusing to read more"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatal("the error repeats the query string")
	}
}

func TestWholeBodyReadersGetTheError(t *testing.T) {
	// MSAL, kiota and slack-go read whole bodies with io.ReadAll: the heap
	// must stay near the limit, not grow with the stream.
	srv := httptest.NewTLSServer(http.HandlerFunc(endless))
	defer srv.Close()
	hc := limitedClient(t, srv, 4<<20)
	resp, err := hc.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if !errors.Is(err, ErrResponseTooLarge) || len(b) != 4<<20 {
		t.Fatalf("ReadAll: %d bytes, %v; want 4 MiB and ErrResponseTooLarge", len(b), err)
	}
}

func TestBodySizes(t *testing.T) {
	const limit = 1000
	tests := []struct {
		name          string
		size          int
		contentLength bool
		wantErr       bool // from Do (declared length) or from reading
	}{
		{"under, chunked", limit - 1, false, false},
		{"exactly, chunked", limit, false, false},
		{"over by one, chunked", limit + 1, false, true},
		{"exactly, declared", limit, true, false},
		{"over, declared", limit + 1, true, true},
		{"empty", 0, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.contentLength {
					w.Header().Set("Content-Length", strconv.Itoa(tc.size))
				}
				body := []byte(strings.Repeat("y", tc.size))
				// Two writes with a flush force chunked encoding when no
				// length is declared.
				_, _ = w.Write(body[:tc.size/2])
				w.(http.Flusher).Flush()
				_, _ = w.Write(body[tc.size/2:])
			}))
			defer srv.Close()
			hc := limitedClient(t, srv, limit)
			resp, err := hc.Get(srv.URL)
			var got []byte
			if err == nil {
				got, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if tc.wantErr {
				var tl *ResponseTooLargeError
				if !errors.As(err, &tl) || tl.Limit != limit {
					t.Fatalf("err = %v, want *ResponseTooLargeError with limit %d", err, limit)
				}
				return
			}
			if err != nil || len(got) != tc.size {
				t.Fatalf("read %d bytes, err %v; want %d bytes", len(got), err, tc.size)
			}
		})
	}
}

func TestDefaultLimitAndUnwrap(t *testing.T) {
	hc, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	lt, ok := hc.Transport.(*limitTransport)
	if !ok || lt.max != DefaultMaxResponseBytes {
		t.Fatalf("New's transport is %T, want the default-capped limitTransport", hc.Transport)
	}
	w, ok := hc.Transport.(interface{ Unwrap() http.RoundTripper })
	if !ok {
		t.Fatal("no Unwrap")
	}
	if tr, ok := w.Unwrap().(*http.Transport); !ok || tr.TLSClientConfig == nil || tr.TLSClientConfig.RootCAs == nil {
		t.Fatal("Unwrap must give the pooled transport with its roots (the SMTP notifier reads them)")
	}
	if LimitResponses(nil, 0).(*limitTransport).next != http.DefaultTransport {
		t.Fatal("nil wraps http.DefaultTransport")
	}
}
