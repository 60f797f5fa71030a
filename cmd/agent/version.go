package main

import (
	"fmt"
	"runtime/debug"
)

// version is set at link time by the Makefile (-X main.version=...).
var version = "dev"

func init() {
	register(command{name: "version", summary: "print the version", run: func(env *cliEnv, _ []string) int {
		rev := ""
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					rev = " " + s.Value
				}
			}
			fmt.Fprintf(env.stdout, "tokenhealth %s%s %s\n", version, rev, bi.GoVersion)
			return 0
		}
		fmt.Fprintf(env.stdout, "tokenhealth %s\n", version)
		return 0
	}})
}
