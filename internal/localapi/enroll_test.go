package localapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/probe"
)

// Enroll plays a pasted authorization code sign-in: it announces itself,
// shows the URL, then waits for the redirect the client posts.
func (f *fakeBackend) Enroll(ctx context.Context, id string, req EnrollRequest, progress func(EnrollEvent)) (EnrollOutcome, error) {
	switch {
	case id != "t1":
		return EnrollOutcome{}, fmt.Errorf("tenant %q: %w", id, ErrNotFound)
	case req.Flow != "" && req.Flow != FlowAuthCode:
		return EnrollOutcome{}, fmt.Errorf("%w: flow %q", ErrBadRequest, req.Flow)
	}
	progress(EnrollEvent{Type: EnrollStarted, EnrollmentID: "e1", Flow: FlowAuthCode, PasteRedirect: true})
	progress(EnrollEvent{Type: EnrollMessage, Text: "Open https://login.example/authorize and sign in\n"})
	select {
	case u := <-f.redirects:
		if strings.Contains(u, "error=") {
			d := probe.Diagnosis{Codes: []int{53003}, Cause: "blocked_by_conditional_access"}
			return EnrollOutcome{}, &EnrollFailure{Err: errors.New("sign-in failed: access_denied"), Diagnosis: &d}
		}
		return EnrollOutcome{TenantID: "t1", Name: "Contoso", Enrollment: Enrollment{Account: "svc@contoso.com"}}, nil
	case <-ctx.Done():
		return EnrollOutcome{}, ctx.Err()
	}
}

func (f *fakeBackend) EnrollRedirect(_ context.Context, id, u string) error {
	if id != "e1" {
		return fmt.Errorf("enrollment %q: %w", id, ErrNotFound)
	}
	f.redirects <- u
	return nil
}

// TestEnrollStreamsInstructionBeforeResult checks the event order and that
// the instruction arrives while the flow still waits for the redirect.
func TestEnrollStreamsInstructionBeforeResult(t *testing.T) {
	tests := []struct {
		name     string
		redirect string
		wantErr  string
		wantCode int
	}{
		{name: "signed in", redirect: "https://login.example/nativeclient?code=c&state=s"},
		{name: "refused", redirect: "https://login.example/nativeclient?error=access_denied", wantErr: "sign-in failed: access_denied", wantCode: 53003},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock, _ := startServer(t, "")
			c := NewClient(sock)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var seen []string
			out, err := c.Enroll(ctx, "t1", EnrollRequest{Flow: FlowAuthCode}, func(ev EnrollEvent) {
				seen = append(seen, ev.Type+":"+ev.EnrollmentID+ev.Text)
				if ev.Type == EnrollMessage {
					// The flow is pending: only now can the redirect exist.
					if err := c.EnrollRedirect(ctx, "e1", tt.redirect); err != nil {
						t.Errorf("posting the redirect: %v", err)
					}
				}
			})
			want := []string{"started:e1", "message:Open https://login.example/authorize and sign in\n"}
			if strings.Join(seen, "|") != strings.Join(want, "|") {
				t.Fatalf("events %q, want %q", seen, want)
			}
			if tt.wantErr == "" {
				if err != nil || out.Enrollment.Account != "svc@contoso.com" {
					t.Fatalf("Enroll = %+v, %v", out, err)
				}
				return
			}
			var ef *EnrollFailure
			if !errors.As(err, &ef) || ef.Error() != tt.wantErr || ef.Diagnosis == nil || ef.Diagnosis.Codes[0] != tt.wantCode {
				t.Fatalf("Enroll error %#v, want %q with code %d", err, tt.wantErr, tt.wantCode)
			}
		})
	}
}

// TestEnrollRefusedBeforeStartIsAStatus checks that errors before the flow
// begins come back as HTTP statuses, not as a stream.
func TestEnrollRefusedBeforeStartIsAStatus(t *testing.T) {
	sock, _ := startServer(t, "")
	c := NewClient(sock)
	ctx := context.Background()
	tests := []struct {
		tenant, flow string
		want         int
	}{
		{"nope", "", http.StatusNotFound},
		{"t1", "password", http.StatusBadRequest},
	}
	for _, tt := range tests {
		_, err := c.Enroll(ctx, tt.tenant, EnrollRequest{Flow: tt.flow}, func(ev EnrollEvent) { t.Errorf("unexpected event %+v", ev) })
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != tt.want {
			t.Errorf("Enroll(%q, %q) = %v, want status %d", tt.tenant, tt.flow, err, tt.want)
		}
	}
	var apiErr *APIError
	if err := c.EnrollRedirect(ctx, "unknown", "x"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("redirect to an unknown enrollment: %v, want 404", err)
	}
}

// TestShutdownEndsEnrollStream checks that a pending enrollment does not
// hold the daemon's shutdown: the stream ends and the client says so.
func TestShutdownEndsEnrollStream(t *testing.T) {
	sock, fb := startServer(t, "")
	c := NewClient(sock)
	started := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := c.Enroll(context.Background(), "t1", EnrollRequest{}, func(ev EnrollEvent) {
			if ev.Type == EnrollStarted {
				close(started)
			}
		})
		done <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fb.srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown waited for the enrollment stream: %v", err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Enroll succeeded after the daemon shut down")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the enrollment stream outlived the server's shutdown")
	}
}

func TestSilenceAuthor(t *testing.T) {
	tests := []struct{ claimed, peer, want string }{
		{"", "root", "root"},
		{"root", "root", "root"},
		{"alice", "root", "alice (as root)"},
		{"  bob ", "tokenhealth", "bob (as tokenhealth)"},
	}
	for _, tt := range tests {
		if got := silenceAuthor(tt.claimed, tt.peer); got != tt.want {
			t.Errorf("silenceAuthor(%q, %q) = %q, want %q", tt.claimed, tt.peer, got, tt.want)
		}
	}
}
