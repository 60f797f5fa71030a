package main

import (
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/tokenhealth/tokenhealth/internal/config"
)

func init() {
	register(command{name: "config", summary: "check or show the configuration (config check | config show)", run: runConfig})
}

func runConfig(env *cliEnv, args []string) int {
	verb, rest := subcommand(args)
	switch verb {
	case "check":
		return configCheck(env, rest)
	case "show":
		return configShow(env, rest)
	}
	fmt.Fprintln(env.stderr, "usage: tokenhealth config check|show [--config PATH]")
	fmt.Fprintln(env.stderr, "  check  validate the configuration; print a one-line summary or every problem")
	fmt.Fprintln(env.stderr, "  show   print the effective configuration (defaults applied, secrets as <secret>)")
	return 2
}

// configFlags parses the flags both verbs share.
func configFlags(env *cliEnv, name string, args []string) (string, bool) {
	fs := flag.NewFlagSet("config "+name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	path := fs.String("config", config.DefaultPath, "configuration file")
	if err := fs.Parse(args); err != nil {
		return "", false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(env.stderr, "config %s: unexpected argument %q\n", name, fs.Arg(0))
		return "", false
	}
	return *path, true
}

// configCheck exits 0 with the summary on stdout, or 1 with every problem
// on stderr, one per line, so it can gate a deployment or a reload.
func configCheck(env *cliEnv, args []string) int {
	path, ok := configFlags(env, "check", args)
	if !ok {
		return 2
	}
	cfg, err := config.Load(path)
	if err != nil {
		reportConfigError(env.stderr, err)
		return 1
	}
	fmt.Fprintln(env.stdout, cfg.Summary())
	return 0
}

func configShow(env *cliEnv, args []string) int {
	path, ok := configFlags(env, "show", args)
	if !ok {
		return 2
	}
	cfg, err := config.Load(path)
	if err != nil {
		reportConfigError(env.stderr, err)
		return 1
	}
	out, err := cfg.RedactedYAML()
	if err != nil {
		fmt.Fprintf(env.stderr, "tokenhealth: cannot render the configuration: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.stdout, "# effective configuration of %s", cfg.File)
	if n := len(cfg.TenantFiles); n > 0 {
		fmt.Fprintf(env.stdout, " and %d tenants.d files", n)
	}
	fmt.Fprintln(env.stdout, "; defaults applied, secrets shown as <secret>")
	_, _ = env.stdout.Write(out)
	return 0
}

func reportConfigError(w io.Writer, err error) {
	var verr *config.ValidationError
	if errors.As(err, &verr) {
		fmt.Fprintln(w, verr.Error()) // one problem per line, nothing else: scripts count lines
		return
	}
	fmt.Fprintf(w, "tokenhealth: %v\n", err)
}
