// Command compose-scale rewrites a Mastodon docker compose file for the
// machine it runs on: sidekiq split into processes, every connection pool
// sized, Postgres's max_connections set, with a diff and a budget report.
package main

import (
	"os"

	"github.com/compose-scale/compose-scale/machine"
	"golang.org/x/term"
)

func main() {
	env := Env{
		Stdin:      os.Stdin,
		Stdout:     os.Stdout,
		Stderr:     os.Stderr,
		Getenv:     os.Getenv,
		LookupEnv:  os.LookupEnv,
		Dir:        ".",
		Detect:     machine.DetectHost,
		IsTerminal: func() bool { return term.IsTerminal(int(os.Stdout.Fd())) },
	}
	os.Exit(Run(os.Args, env))
}
