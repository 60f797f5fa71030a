package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokenhealth/tokenhealth/internal/clock"
	"github.com/tokenhealth/tokenhealth/internal/config"
	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/internal/store"
	"github.com/tokenhealth/tokenhealth/pkg/health"
	"github.com/tokenhealth/tokenhealth/pkg/notify"
)

func init() {
	register(command{name: "silence", summary: "mute a tenant's alerts for a while (silence add | list | remove ID)", run: runSilence})
}

const silenceUsage = `silence add --tenant ID [--kind KIND] --for 24h --reason TEXT [--author NAME]
       tokenhealth silence list [--json]
       tokenhealth silence remove ID`

func runSilence(env *cliEnv, args []string) int {
	verb, rest := subcommand(args)
	switch verb {
	case "add":
		return silenceAdd(env, rest)
	case "list", "ls":
		return silenceList(env, rest)
	case "remove", "rm":
		return silenceRemove(env, rest)
	}
	fmt.Fprintln(env.stderr, "usage: tokenhealth "+silenceUsage)
	fmt.Fprintln(env.stderr, "\nA silence mutes new and repeated alerts of one tenant (optionally one finding kind)")
	fmt.Fprintln(env.stderr, "until it ends by itself; resolved notifications are still sent. Flags common to all:")
	fmt.Fprintln(env.stderr, "  --socket PATH                  the daemon's socket; when it answers, the daemon makes the change")
	fmt.Fprintln(env.stderr, "  --state FILE --key-file FILE   the state file and its key, used when no daemon answers")
	return 2
}

// silenceFlags choose the silence store the command works on: the running
// daemon through its socket (it holds the state file), or the state file
// directly when no daemon answers. The commands only see notify.SilenceStore.
type silenceFlags struct {
	socket  *string
	state   string
	keyFile string
}

func (f *silenceFlags) register(fs *flag.FlagSet) {
	f.socket = socketFlag(fs)
	fs.StringVar(&f.state, "state", defaultStateFile, "the state file, used only when no daemon answers on --socket")
	fs.StringVar(&f.keyFile, "key-file", "", "the state key file ("+stateKeyFlagDefaults+")")
}

func (f *silenceFlags) open() (notify.SilenceStore, func(), error) {
	if daemonAnswers(*f.socket) {
		return &socketSilences{c: localapi.NewClient(*f.socket)}, func() {}, nil
	}
	key := f.keyFile
	if key == "" {
		key = defaultKeyFile()
	}
	db, err := store.Open(f.state, store.Options{KeyFile: key, Timeout: 500 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return nil, nil, fmt.Errorf("%w\nthe agent holds the state file but does not answer on %s; give its socket with --socket", err, *f.socket)
	}
	if err != nil {
		return nil, nil, err
	}
	return &notify.SilenceDB{DB: db, Clock: clock.Real{}}, func() { _ = db.Close() }, nil
}

// daemonAnswers reports whether something accepts connections on the
// socket: then the daemon owns the state file and every change goes
// through it.
func daemonAnswers(socket string) bool {
	c, err := net.DialTimeout("unix", socket, 500*time.Millisecond)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

// socketSilences is notify.SilenceStore over the daemon's local API.
type socketSilences struct{ c *localapi.Client }

func (s *socketSilences) AddSilence(ctx context.Context, req notify.SilenceRequest) (notify.Silence, error) {
	return s.c.AddSilence(ctx, localapi.SilenceRequest{
		TenantID: req.TenantID, Kind: string(req.Kind), Duration: req.For, Reason: req.Reason, Author: req.Author,
	})
}

func (s *socketSilences) ListSilences(ctx context.Context) ([]notify.Silence, error) {
	return s.c.Silences(ctx)
}

func (s *socketSilences) RemoveSilence(ctx context.Context, id string) error {
	return s.c.RemoveSilence(ctx, id)
}

// parseInterleaved parses flags that may come before or after positional
// arguments ("silence remove ID --state f").
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func silenceAdd(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "silence add", silenceUsage)
	var sf silenceFlags
	sf.register(fs)
	tenant := fs.String("tenant", "", "tenant ID (GUID) to silence (required)")
	kind := fs.String("kind", "", "only this finding kind, e.g. predicted_break (default: every kind)")
	dur := fs.String("for", "", "how long, e.g. 4h, 24h or 7d (required; at most 90d)")
	reason := fs.String("reason", "", "why, for the next person on call (required)")
	author := fs.String("author", defaultAuthor(), "who silences")
	asJSON := fs.Bool("json", false, "print the silence as JSON")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) > 0 {
		return fail(env, 2, "silence add: unexpected argument %q", pos[0])
	}
	var d time.Duration
	if *dur == "" {
		return fail(env, 2, "silence add: --for is required (e.g. --for 24h)")
	}
	if d, err = config.ParseDuration(*dur); err != nil {
		return fail(env, 2, "silence add: --for %q: not a duration such as 4h, 24h or 7d", *dur)
	}
	req := notify.SilenceRequest{TenantID: *tenant, Kind: health.Kind(*kind), For: d, Reason: *reason, Author: *author}
	if err := req.Validate(); err != nil {
		return fail(env, 2, "silence add: %s", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	st, closeFn, err := sf.open()
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	defer closeFn()
	s, err := st.AddSilence(context.Background(), req)
	if err != nil {
		return fail(env, 1, "silence add: %v", err)
	}
	if *asJSON {
		_ = printJSON(env.stdout, s)
		return 0
	}
	fmt.Fprintf(env.stdout, "silence %s: tenant %s, %s, until %s (%s)\n", s.ID, clean(s.TenantID), kindLabel(s.Kind),
		notify.AbsoluteUTC(s.EndsAt), notify.Relative(time.Now(), s.EndsAt))
	return 0
}

func silenceList(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "silence list", silenceUsage)
	var sf silenceFlags
	sf.register(fs)
	asJSON := fs.Bool("json", false, "print the silences as JSON")
	if _, err := parseInterleaved(fs, args); err != nil {
		return 2
	}
	st, closeFn, err := sf.open()
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	defer closeFn()
	list, err := st.ListSilences(context.Background())
	if err != nil {
		return fail(env, 1, "silence list: %v", err)
	}
	if *asJSON {
		if list == nil {
			list = []notify.Silence{}
		}
		_ = printJSON(env.stdout, list)
		return 0
	}
	if len(list) == 0 {
		fmt.Fprintln(env.stdout, "no active silences")
		return 0
	}
	tw := tabwriter.NewWriter(env.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTENANT\tKIND\tENDS\tAUTHOR\tREASON")
	now := time.Now()
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s (%s)\t%s\t%s\n", s.ID, fit(s.TenantID, 36), kindLabel(s.Kind),
			notify.AbsoluteUTC(s.EndsAt), notify.Relative(now, s.EndsAt), fit(s.Author, 16), fit(s.Reason, 40))
	}
	_ = tw.Flush()
	return 0
}

func silenceRemove(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "silence remove", silenceUsage)
	var sf silenceFlags
	sf.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return 2
	}
	if len(pos) != 1 {
		return fail(env, 2, "silence remove: give exactly one silence ID (see 'tokenhealth silence list')")
	}
	st, closeFn, err := sf.open()
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	defer closeFn()
	if err := st.RemoveSilence(context.Background(), pos[0]); err != nil {
		return fail(env, 1, "silence remove: %v", err)
	}
	fmt.Fprintf(env.stdout, "silence %s removed\n", clean(pos[0]))
	return 0
}

func kindLabel(k health.Kind) string {
	if k == "" {
		return "all kinds"
	}
	return string(k)
}

func defaultAuthor() string {
	for _, v := range []string{"SUDO_USER", "USER", "LOGNAME"} {
		if u := os.Getenv(v); u != "" {
			return u
		}
	}
	return "unknown"
}
