package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
	"github.com/tokenhealth/tokenhealth/internal/store"
)

// Defaults match the systemd unit: StateDirectory=tokenhealth, and the key
// either beside the state or loaded as the credential state-key from
// /etc/tokenhealth/credentials.
const (
	defaultStateFile     = "/var/lib/tokenhealth/state.db"
	defaultStateKey      = "/var/lib/tokenhealth/state.key"
	credentialStoreKey   = "/etc/tokenhealth/credentials/state-key"
	stateKeyFlagDefaults = "default: $CREDENTIALS_DIRECTORY/state-key, " + defaultStateKey + " or " + credentialStoreKey + ", whichever exists first"
)

// defaultKeyFile picks the key an administrator's shell most likely needs:
// the unit's credential when run inside it, else whichever file exists.
func defaultKeyFile() string {
	var candidates []string
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" {
		candidates = append(candidates, filepath.Join(dir, store.CredentialName))
	}
	candidates = append(candidates, defaultStateKey, credentialStoreKey)
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return defaultStateKey
}

func init() {
	register(command{name: "db", summary: "state file maintenance (db backup PATH | db check | db compact)", run: runDB})
}

func runDB(env *cliEnv, args []string) int {
	verb, rest := subcommand(args)
	switch verb {
	case "backup":
		return dbBackup(env, rest)
	case "check":
		return dbCheck(env, rest)
	case "compact":
		return dbCompact(env, rest)
	}
	fmt.Fprintln(env.stderr, "usage: tokenhealth db backup PATH | db check | db compact  [--state FILE] [--key-file FILE]")
	fmt.Fprintln(env.stderr, "  backup   write a consistent copy of the state file to PATH (through the agent if it is running)")
	fmt.Fprintln(env.stderr, "  check    verify the file's pages, encrypted token caches and records (of a hot copy while the agent runs)")
	fmt.Fprintln(env.stderr, "  compact  rewrite the file without free pages (the agent must be stopped)")
	return 2
}

// dbFlags are shared by the three verbs.
type dbFlags struct {
	state   string
	keyFile string
	socket  string
	json    bool
}

// parseDBFlags accepts flags before and after positional arguments
// ("db backup /tmp/x --state s" and "db backup --state s /tmp/x").
func parseDBFlags(env *cliEnv, verb, usage string, args []string) (dbFlags, []string, bool) {
	fs := newFlagSet(env, "db "+verb, usage)
	var f dbFlags
	fs.StringVar(&f.state, "state", defaultStateFile, "the state file")
	fs.StringVar(&f.keyFile, "key-file", "", "the key file protecting token caches in the state file ("+stateKeyFlagDefaults+")")
	var socket *string
	if verb == "backup" || verb == "check" {
		socket = socketFlag(fs)
	}
	if verb == "check" {
		fs.BoolVar(&f.json, "json", false, "print problems and statistics as JSON")
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return f, nil, false
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if socket != nil {
		f.socket = *socket
	}
	if f.keyFile == "" {
		f.keyFile = defaultKeyFile()
	}
	return f, positional, true
}

// openExisting opens the state file for an offline command, refusing to
// create one: a typo in --state must not produce an empty file and key.
func openExisting(f dbFlags) (*store.DB, error) {
	if _, err := os.Stat(f.state); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no state file at %s (use --state to name it)", f.state)
		}
		return nil, err
	}
	return store.Open(f.state, store.Options{KeyFile: f.keyFile})
}

func dbBackup(env *cliEnv, args []string) int {
	const usage = "db backup PATH [--state FILE] [--key-file FILE] [--socket PATH]"
	f, pos, ok := parseDBFlags(env, "backup", usage, args)
	if !ok {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintln(env.stderr, "usage: tokenhealth "+usage)
		return 2
	}
	// The daemon may run elsewhere (another cwd, another user): give it an
	// absolute path.
	dest, err := filepath.Abs(pos[0])
	if err != nil {
		return fail(env, 1, "backup path %q: %v", pos[0], err)
	}
	db, err := openExisting(f)
	if errors.Is(err, store.ErrLocked) {
		return backupThroughDaemon(env, f, dest)
	}
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	defer db.Close()
	if err := db.Backup(dest); err != nil {
		return fail(env, 1, "%v", err)
	}
	fmt.Fprintf(env.stdout, "backed up %s to %s\n", db.Path(), dest)
	fmt.Fprintf(env.stdout, "the token caches in it are encrypted: keep a copy of the key file %s as well, stored apart from the backup\n", f.keyFile)
	return 0
}

// backupThroughDaemon asks the running agent, which holds the file lock, to
// write the backup from its own read transaction.
func backupThroughDaemon(env *cliEnv, f dbFlags, dest string) int {
	ctx, cancel := apiContext()
	defer cancel()
	err := localapi.NewClient(f.socket).Backup(ctx, dest)
	var down *localapi.ErrDaemonDown
	if errors.As(err, &down) {
		return fail(env, 1, "%s is held by a running tokenhealth process, and its local API at %s did not answer (%v); "+
			"take the backup through the running agent (--socket PATH), or stop the service (systemctl stop tokenhealth) and run this command again",
			f.state, f.socket, down.Err)
	}
	if err != nil {
		return fail(env, 1, "the running agent could not write the backup: %v", err)
	}
	fmt.Fprintf(env.stdout, "backed up %s to %s (written by the running agent)\n", f.state, dest)
	fmt.Fprintf(env.stdout, "the token caches in it are encrypted: keep a copy of the key file %s as well, stored apart from the backup\n", f.keyFile)
	return 0
}

// offlineLocked explains why check and compact need the agent stopped.
func offlineLocked(env *cliEnv, verb string, f dbFlags) int {
	return fail(env, 1, "another tokenhealth process holds %s; db %s needs the file to itself: "+
		"stop the service (systemctl stop tokenhealth), run 'tokenhealth db %s' again, then start it", f.state, verb, verb)
}

// checkReport is the --json shape of db check.
type checkReport struct {
	Problems []string    `json:"problems"`
	Stats    store.Stats `json:"stats"`
}

func dbCheck(env *cliEnv, args []string) int {
	f, pos, ok := parseDBFlags(env, "check", "db check [--state FILE] [--key-file FILE] [--socket PATH] [--json]", args)
	if !ok {
		return 2
	}
	if len(pos) != 0 {
		return fail(env, 2, "db check: unexpected argument %q", pos[0])
	}
	db, err := openExisting(f)
	name := f.state
	if errors.Is(err, store.ErrLocked) {
		var cleanup func()
		db, cleanup, err = snapshotThroughDaemon(f)
		if cleanup != nil {
			defer cleanup()
		}
		name += " (a hot copy taken by the running agent)"
	}
	// Open walks every page and refuses a damaged file; the refusal carries
	// the damage, bucket by bucket, which is exactly what check reports.
	var damaged *store.CorruptError
	if errors.As(err, &damaged) && len(damaged.Problems) > 0 {
		return reportCheck(env, f.json, name, damaged.Problems, store.Stats{Path: f.state})
	}
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	defer db.Close()
	problems, err := db.Check()
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	stats, err := db.Stats()
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	return reportCheck(env, f.json, name, problems, stats)
}

// reportCheck prints the problems one a line (or the --json report) and
// the verdict, and returns the exit code.
func reportCheck(env *cliEnv, asJSON bool, name string, problems []string, stats store.Stats) int {
	if asJSON {
		if problems == nil {
			problems = []string{}
		}
		if err := printJSON(env.stdout, checkReport{Problems: problems, Stats: stats}); err != nil {
			return fail(env, 1, "%v", err)
		}
	} else {
		for _, p := range problems {
			fmt.Fprintln(env.stdout, clean(p))
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(env.stderr, "tokenhealth: %s: %d problem(s) found; restore a backup made with 'tokenhealth db backup', or move the file aside to start fresh\n",
			name, len(problems))
		return 1
	}
	if !asJSON {
		fmt.Fprintf(env.stdout, "%s: no problems found (schema version %d; %d token caches, %d probe records, %d findings; %d bytes)\n",
			name, stats.SchemaVersion, stats.Keys[store.BucketTokenCache], stats.Keys[store.BucketProbes],
			stats.Keys[store.BucketFindings], stats.SizeBytes)
	}
	return 0
}

func dbCompact(env *cliEnv, args []string) int {
	f, pos, ok := parseDBFlags(env, "compact", "db compact [--state FILE] [--key-file FILE]", args)
	if !ok {
		return 2
	}
	if len(pos) != 0 {
		return fail(env, 2, "db compact: unexpected argument %q", pos[0])
	}
	before, err := os.Stat(f.state)
	if errors.Is(err, os.ErrNotExist) {
		return fail(env, 1, "no state file at %s (use --state to name it)", f.state)
	}
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	err = store.Compact(f.state, store.Options{KeyFile: f.keyFile})
	if errors.Is(err, store.ErrLocked) {
		return offlineLocked(env, "compact", f)
	}
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	after, err := os.Stat(f.state)
	if err != nil {
		return fail(env, 1, "%v", err)
	}
	fmt.Fprintf(env.stdout, "compacted %s: %d -> %d bytes\n", f.state, before.Size(), after.Size())
	return 0
}
