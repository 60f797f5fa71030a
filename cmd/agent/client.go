package main

import (
	"context"
	"errors"
	"flag"
	"os"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
)

// defaultSocket is where the systemd unit's RuntimeDirectory puts the
// daemon's socket.
const defaultSocket = "/run/tokenhealth/tokenhealth.sock"

// exitDaemonDown is the exit status when the daemon cannot be reached:
// distinct from 1 (warnings) and 2 (failing) so monitoring can tell.
const exitDaemonDown = 3

func socketFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("TOKENHEALTH_SOCKET")
	if def == "" {
		def = defaultSocket
	}
	return fs.String("socket", def, "the daemon's local API socket (env TOKENHEALTH_SOCKET)")
}

func apiContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

// apiFailure prints an error from the local API client and picks the exit
// status: the daemon being down is said plainly, with the socket.
func apiFailure(env *cliEnv, err error) int {
	var down *localapi.ErrDaemonDown
	if errors.As(err, &down) {
		return fail(env, exitDaemonDown, "%v", err)
	}
	return fail(env, 1, "%v", err)
}

func newFlagSet(env *cliEnv, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		env.stderr.Write([]byte("Usage: tokenhealth " + usage + "\n\nFlags:\n"))
		fs.PrintDefaults()
	}
	return fs
}
