package main

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/compose-scale/compose-scale/machine"
	"github.com/urfave/cli/v2"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// appVersion is the -ldflags version, else the module version go install
// recorded.
func appVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

// Env is everything the app touches outside itself, so tests can run the
// whole CLI in-process.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// LookupEnv tells an empty variable from an unset one, for
	// interpolating the compose file as docker compose does; nil falls
	// back to Getenv (set when not empty).
	LookupEnv func(string) (string, bool)
	Dir       string // the directory relative paths and file discovery start from
	Detect    func() (machine.Measured, error)
	// IsTerminal reports whether stdout is a terminal (for --color auto).
	IsTerminal func() bool
}

func (e Env) lookupEnv(name string) (string, bool) {
	if e.LookupEnv != nil {
		return e.LookupEnv(name)
	}
	v := e.Getenv(name)
	return v, v != ""
}

// Exit codes.
const (
	exitOK    = 0
	exitInput = 1 // bad input, a plan that cannot fit, a failed write
	exitUsage = 2 // a flag or argument the command does not take
)

// usageError marks errors in how the command was called.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// silentError is a failure the command has already explained: exit 1
// without another message.
type silentError struct{ msg string }

func (e silentError) Error() string { return e.msg }

// Run runs the CLI with args (args[0] is the program name) and returns the
// exit status.
func Run(args []string, env Env) int {
	app := newApp(env)
	err := app.Run(args)
	if err == nil {
		return exitOK
	}
	var quiet silentError
	if errors.As(err, &quiet) {
		return exitInput // the command has said why on stdout
	}
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(env.Stderr, "compose-scale: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(env.Stderr, "Run 'compose-scale --help' for usage.")
		return exitUsage
	}
	return exitInput
}

func newApp(env Env) *cli.App {
	return &cli.App{
		Name:    "compose-scale",
		Usage:   "size a Mastodon docker compose file for the machine it runs on",
		Version: appVersion(),
		Description: `compose-scale splits sidekiq into processes per queue or per priority
ordering, sizes every database pool (sidekiq -c and DB_POOL, Puma, streaming),
tunes Postgres like PGTune, makes published ports safe, and checks the
connection and memory budget against the machine. It prints a diff to review
before anything runs.`,
		Reader:          env.Stdin,
		Writer:          env.Stdout,
		ErrWriter:       env.Stderr,
		HideHelpCommand: true,
		ExitErrHandler:  func(*cli.Context, error) {}, // Run prints and exits
		OnUsageError:    onUsageError,
		Commands:        withUsageErrors(rewriteCommand(env), planCommand(env), checkCommand(env), observeCommand(env), exportCommand(env)),
		// Without a command: the help; with an unknown one: a usage error
		// (urfave/cli would look it up as a help topic).
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usagef("unknown command %q: use rewrite, plan, check or observe", c.Args().First())
			}
			return cli.ShowAppHelp(c)
		},
	}
}

// onUsageError turns a flag parsing error into a usage error (exit 2, one
// line and a hint) instead of urfave/cli's full help text.
func onUsageError(_ *cli.Context, err error, _ bool) error { return usageError{err} }

func withUsageErrors(cmds ...*cli.Command) []*cli.Command {
	for _, c := range cmds {
		c.OnUsageError = onUsageError
	}
	return cmds
}
