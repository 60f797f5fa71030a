package localapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/pkg/health"
)

// fakeBackend stands in for the daemon: these tests are about the socket,
// permissions and wire shapes, not about tenant logic.
type fakeBackend struct {
	reloads   int
	redirects chan string // pasted redirect URLs for the pending enrollment
	srv       *Server
}

func (f *fakeBackend) Status(context.Context) StatusResponse {
	return StatusResponse{Tenants: []health.TenantStatus{health.Build("t1", "Contoso", health.ProbeView{}, nil)}}
}
func (f *fakeBackend) Explain(_ context.Context, id string) (Explanation, error) {
	if id != "t1" {
		return Explanation{}, fmt.Errorf("tenant %q: %w", id, ErrNotFound)
	}
	return Explanation{ServiceUPN: "svc@contoso.com"}, nil
}
func (f *fakeBackend) History(context.Context, string, int) (HistoryResponse, error) {
	return HistoryResponse{}, nil
}
func (f *fakeBackend) Policies(context.Context, string) (PoliciesResponse, error) {
	return PoliciesResponse{}, nil
}
func (f *fakeBackend) Check(context.Context, string) (CheckResponse, error) {
	return CheckResponse{}, nil
}
func (f *fakeBackend) Silences(context.Context) ([]Silence, error) { return nil, nil }
func (f *fakeBackend) AddSilence(_ context.Context, r SilenceRequest, author string) (Silence, error) {
	return Silence{ID: "s1", TenantID: r.TenantID, Author: author}, nil
}
func (f *fakeBackend) RemoveSilence(context.Context, string) error { return nil }
func (f *fakeBackend) Reload(context.Context) error                { f.reloads++; return nil }
func (f *fakeBackend) Backup(context.Context, string) error        { return nil }

func startServer(t *testing.T, group string) (string, *fakeBackend) {
	t.Helper()
	// Not t.TempDir: its parent is private, and TestOtherUIDs' child
	// processes run as other users who must reach the socket.
	dir, err := os.MkdirTemp("", "localapi")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "tokenhealth.sock")
	ln, err := Listen(sock, group)
	if err != nil {
		t.Fatal(err)
	}
	fb := &fakeBackend{redirects: make(chan string, 1)}
	srv := NewServer(fb, slog.New(slog.NewTextHandler(io.Discard, nil)))
	fb.srv = srv
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return sock, fb
}

func TestSocketModeAndReadWrite(t *testing.T) {
	sock, fb := startServer(t, "")
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %o, want 660", fi.Mode().Perm())
	}
	c := NewClient(sock)
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil || len(st.Tenants) != 1 || st.Tenants[0].State != health.StatePending {
		t.Fatalf("status = %+v, %v", st, err)
	}
	if _, err := c.Explain(ctx, "nope"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("explain of unknown tenant: %v", err)
	}
	if err := c.Reload(ctx); err != nil || fb.reloads != 1 {
		t.Fatalf("reload as the daemon's own uid: %v (reloads %d)", err, fb.reloads)
	}
}

func TestOriginHeaderRefused(t *testing.T) {
	sock, _ := startServer(t, "")
	hc := NewClient(sock).http
	req, _ := http.NewRequest(http.MethodGet, "http://tokenhealth/v1/status", nil)
	req.Header.Set("Origin", "http://evil.example")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d for a request with Origin, want 403", resp.StatusCode)
	}
}

func TestDaemonDownNamesSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "absent.sock")
	_, err := NewClient(sock).Status(context.Background())
	var down *ErrDaemonDown
	if !errors.As(err, &down) || !strings.Contains(err.Error(), sock) {
		t.Fatalf("error %v does not say the daemon is down at %s", err, sock)
	}
}

func TestStaleSocketReplacedLiveOneRefused(t *testing.T) {
	sock, _ := startServer(t, "")
	if _, err := Listen(sock, ""); err == nil || !strings.Contains(err.Error(), "another tokenhealth daemon") {
		t.Fatalf("second Listen on a live socket: %v", err)
	}
	stale := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	ln2, err := Listen(stale, "")
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	ln2.Close()
}

// TestOtherUIDs runs the client as other users (needs root): a member of the
// socket group may read and never write; a non-member cannot connect.
func TestOtherUIDs(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client under other uids")
	}
	const groupName, groupGID = "daemon", 1 // present on every Debian system
	sock, _ := startServer(t, groupName)
	// The test binary sits in a private build directory; the child users
	// need a copy they can execute.
	bin := filepath.Join(filepath.Dir(sock), "client.test")
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, self, 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(uid, gid uint32, action string) (string, int) {
		cmd := exec.Command(bin, "-test.run=^TestChildClient$")
		cmd.Env = append(os.Environ(), "LOCALAPI_CHILD_SOCKET="+sock, "LOCALAPI_CHILD_ACTION="+action)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState == nil {
			t.Fatalf("starting the child client: %v", err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, _ := run(65534, groupGID, "read"); !strings.Contains(out, "CHILD-OK") {
		t.Fatalf("group member could not read status: %s", out)
	}
	if out, _ := run(65534, groupGID, "write"); !strings.Contains(out, "CHILD-FORBIDDEN") {
		t.Fatalf("group member was not refused a write: %s", out)
	}
	if out, _ := run(65534, groupGID, "enroll"); !strings.Contains(out, "CHILD-FORBIDDEN") {
		t.Fatalf("group member was not refused an enrollment: %s", out)
	}
	if out, _ := run(65534, 65534, "read"); !strings.Contains(out, "CHILD-DOWN") {
		t.Fatalf("non-member reached the socket: %s", out)
	}
}

// TestChildClient is the body of TestOtherUIDs' child processes.
func TestChildClient(t *testing.T) {
	sock := os.Getenv("LOCALAPI_CHILD_SOCKET")
	if sock == "" {
		return // only meaningful as TestOtherUIDs' child process
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := NewClient(sock)
	var err error
	switch os.Getenv("LOCALAPI_CHILD_ACTION") {
	case "write":
		err = c.Reload(ctx)
	case "enroll":
		_, err = c.Enroll(ctx, "t1", EnrollRequest{}, func(EnrollEvent) {})
	default:
		_, err = c.Status(ctx)
	}
	var down *ErrDaemonDown
	var apiErr *APIError
	switch {
	case err == nil:
		fmt.Println("CHILD-OK")
	case errors.As(err, &down):
		fmt.Println("CHILD-DOWN", err)
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden:
		fmt.Println("CHILD-FORBIDDEN", err)
	default:
		fmt.Println("CHILD-ERR", err)
	}
}
