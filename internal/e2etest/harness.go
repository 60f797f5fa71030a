package e2etest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
)

// Limits on a loaded two-core machine: generous, since they only bound how
// long a broken run takes to fail, never what a passing run must achieve.
const (
	StartLimit = 60 * time.Second // until the daemon answers on its socket
	StopLimit  = 60 * time.Second // from SIGTERM to exit
	CLILimit   = 5 * time.Minute  // one CLI command
	// logTail is how much of the daemon's log a failure message shows.
	logTail = 60
)

// Harness runs the tokenhealth binary as an administrator would: CLI
// commands to completion, and one daemon at a time.
type Harness struct {
	T          testing.TB
	Bin        string
	ConfigPath string
	Socket     string
	// ConnectTo is where the production host names are dialled
	// (TOKENHEALTH_CONNECT_TO): the simulator or a test's front for it.
	ConnectTo string
	// OnCLI, when set, sees every CLI command's arguments and output.
	OnCLI func(args []string, output string)

	Daemon *exec.Cmd
	Logs   *LogBuffer // the running (or last) daemon's stdout and stderr
	proc   *process
}

// process is one daemon run, reaped by one goroutine so that an early exit
// is seen at once and Kill, Stop and the cleanup never race over Wait.
type process struct {
	exited chan struct{} // closed once the process has exited and been reaped
	err    error         // its exit error, set before exited closes
}

// New returns a harness for the binary (see Binary) on the configuration
// at cfgPath, whose daemon listens on socket.
func New(t testing.TB, bin, cfgPath, socket, connectTo string) *Harness {
	return &Harness{T: t, Bin: bin, ConfigPath: cfgPath, Socket: socket, ConnectTo: connectTo, Logs: &LogBuffer{}}
}

// Command prepares the binary with args and the test environment; the
// caller wires its input and output.
func (h *Harness) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, h.Bin, args...)
	cmd.Env = append(os.Environ(), "TOKENHEALTH_CONNECT_TO="+h.ConnectTo, "NO_COLOR=1")
	return cmd
}

// CLI runs a command to completion and returns its combined output and
// exit status.
func (h *Harness) CLI(args ...string) (string, int) {
	h.T.Helper()
	return h.CLIInput("", args...)
}

// CLIInput is CLI with stdin.
func (h *Harness) CLIInput(stdin string, args ...string) (string, int) {
	h.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CLILimit)
	defer cancel()
	cmd := h.Command(ctx, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		h.T.Fatalf("tokenhealth %s did not finish within %s:\n%s", strings.Join(args, " "), CLILimit, out.String())
	}
	if err != nil && cmd.ProcessState == nil {
		h.T.Fatalf("running tokenhealth %s: %v", strings.Join(args, " "), err)
	}
	if h.OnCLI != nil {
		h.OnCLI(args, out.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// Start runs the daemon and waits until it answers on its socket. The
// test's cleanup kills it if it still runs.
func (h *Harness) Start() {
	h.T.Helper()
	h.Logs = &LogBuffer{}
	cmd := h.Command(context.Background(), "run", "--config", h.ConfigPath)
	cmd.Stdout, cmd.Stderr = h.Logs, h.Logs
	if err := cmd.Start(); err != nil {
		h.T.Fatal(err)
	}
	p := &process{exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	h.Daemon, h.proc = cmd, p
	h.T.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	h.Eventually("the daemon answers on its socket", StartLimit, func() bool {
		select {
		case <-p.exited:
			h.T.Fatalf("the daemon exited while starting: %v\ndaemon log tail:\n%s", p.err, h.Logs.Tail(logTail))
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := localapi.NewClient(h.Socket).Status(ctx)
		return err == nil
	})
}

// StartExpectingFailure runs the daemon, which must exit within
// StartLimit, and returns its output and exit status.
func (h *Harness) StartExpectingFailure() (string, int) {
	h.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartLimit)
	defer cancel()
	cmd := h.Command(ctx, "run", "--config", h.ConfigPath)
	out, _ := cmd.CombinedOutput()
	if ctx.Err() != nil {
		h.T.Fatalf("the daemon kept running for %s although it should have refused to start:\n%s", StartLimit, out)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// Signal sends sig to the daemon.
func (h *Harness) Signal(sig syscall.Signal) {
	h.T.Helper()
	if err := h.Daemon.Process.Signal(sig); err != nil {
		select {
		case <-h.proc.exited:
			h.T.Fatalf("sending %v: the daemon had already exited (%v)\ndaemon log tail:\n%s", sig, h.proc.err, h.Logs.Tail(logTail))
		default:
			h.T.Fatalf("sending %v to the daemon: %v", sig, err)
		}
	}
}

// Kill sends SIGKILL and reaps the daemon.
func (h *Harness) Kill() {
	h.T.Helper()
	h.Signal(syscall.SIGKILL)
	_ = h.Wait(StopLimit)
}

// Stop sends SIGTERM and requires a clean exit within StopLimit.
func (h *Harness) Stop() {
	h.T.Helper()
	h.Signal(syscall.SIGTERM)
	if err := h.Wait(StopLimit); err != nil {
		h.T.Fatalf("daemon exit after SIGTERM: %v\ndaemon log tail:\n%s", err, h.Logs.Tail(logTail))
	}
}

// Wait waits up to limit for the daemon to exit and returns its exit error.
func (h *Harness) Wait(limit time.Duration) error {
	h.T.Helper()
	select {
	case <-h.proc.exited:
		return h.proc.err
	case <-time.After(limit):
		h.T.Fatalf("the daemon did not exit within %s\ndaemon log tail:\n%s", limit, h.Logs.Tail(logTail))
		return nil
	}
}

// Client is the daemon's local API client.
func (h *Harness) Client() *localapi.Client { return localapi.NewClient(h.Socket) }

// Status reads the daemon's status over its socket.
func (h *Harness) Status() (localapi.StatusResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return h.Client().Status(ctx)
}

// Eventually polls cond until it holds, failing the test with the daemon's
// log tail after limit.
func (h *Harness) Eventually(what string, limit time.Duration, cond func() bool) {
	h.T.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			h.T.Fatalf("timed out after %s waiting until %s\ndaemon log tail:\n%s", limit, what, h.Logs.Tail(logTail))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
