// Command tokenhealth (built from cmd/agent) watches the delegated Entra ID
// tokens an MSP platform holds for its customers' Microsoft 365 tenants, and
// warns before Conditional Access, MFA or password rules break them.
//
// Each subcommand lives in its own file and registers itself in commands.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand. run returns the process exit status.
type command struct {
	name    string
	summary string
	run     func(env *cliEnv, args []string) int
}

// cliEnv carries the process streams so commands are testable in-process.
type cliEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("duplicate command " + c.name)
	}
	commands[c.name] = c
}

func main() {
	env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(dispatch(env, os.Args[1:]))
}

func dispatch(env *cliEnv, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(env.stderr, "tokenhealth: unknown command %q\n\n", args[0])
		usage(env.stderr)
		return 2
	}
	return c.run(env, args[1:])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tokenhealth: predicts when Conditional Access, MFA or password rules will break")
	fmt.Fprintln(w, "the delegated Microsoft 365 tokens of a provisioning platform, and why.")
	fmt.Fprintln(w, "\nUsage: tokenhealth COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'tokenhealth COMMAND -h' for the flags of a command.")
}

// subcommand splits "db backup PATH" style invocations: it returns the
// sub-verb and the remaining arguments, or "" when none was given.
func subcommand(args []string) (string, []string) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "", args
	}
	return args[0], args[1:]
}
