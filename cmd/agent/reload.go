package main

import (
	"fmt"

	"github.com/tokenhealth/tokenhealth/internal/localapi"
)

func init() {
	register(command{name: "reload", summary: "make the daemon re-read its configuration (like systemctl reload)", run: runReload})
}

const reloadUsage = "reload [--socket PATH]"

// runReload asks the daemon to re-read its configuration file, the same as
// SIGHUP. A refused configuration leaves the daemon on the previous one;
// the command then prints why and exits 1.
func runReload(env *cliEnv, args []string) int {
	fs := newFlagSet(env, "reload", reloadUsage)
	sock := socketFlag(fs)
	pos, ok := parseInterspersed(fs, args)
	if !ok {
		return 2
	}
	if len(pos) > 0 {
		return fail(env, 2, "reload: unexpected argument %q (usage: tokenhealth %s)", clean(pos[0]), reloadUsage)
	}
	ctx, cancel := apiContext()
	defer cancel()
	c := localapi.NewClient(*sock)
	if err := c.Reload(ctx); err != nil {
		return apiFailure(env, err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		return apiFailure(env, err)
	}
	fmt.Fprintf(env.stdout, "reloaded %s: %d tenants\n", clean(st.Agent.ConfigFile), len(st.Tenants))
	return 0
}
