// Command snapd is the Synology snapshot-retention daemon and its command-line tool.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/synology-snapd/snapd/internal/daemon"
	"github.com/synology-snapd/snapd/internal/runner"
)

// usageError is a command-line mistake (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitError carries an exit code of its own (`check`).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

var commands = []command{
	{"run", "run the daemon in the foreground", cmdRun},
	{"validate", "check the configuration [--connect]", cmdValidate},
	{"plan", "show what retention keeps and deletes, and why", cmdPlan},
	{"snapshot", "take a policy's snapshot now, then replicate and prune as it says", cmdSnapshot},
	{"prune", "apply a policy's retention now [--dry-run] [--force]", cmdPrune},
	{"sync", "trigger a policy's replication plan now", cmdSync},
	{"status", "last and next run of every policy", cmdStatus},
	{"journal", "the action journal", cmdJournal},
	{"check", "monitoring-plugin check of every policy", cmdCheck},
	{"login", "log in to a NAS with 2FA once and store its device token", cmdLogin},
	{"version", "print the version", cmdVersion},
	{"nas", "direct NAS operations: luns, plans, snapshots, set, create, delete", cmdNAS},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit code: 0 success, 1 operational
// failure, 2 usage or configuration error.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return exitCode(stderr, c.run(ctx, a, args[1:]))
		}
	}
	fmt.Fprintf(stderr, "snapd: unknown command %q\n", args[0])
	printUsage(stderr)
	return 2
}

func exitCode(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(stderr, "snapd:", ee.err)
		}
		return ee.code
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintln(stderr, "snapd:", err)
	var ue usageError
	var ce *daemon.ConfigError
	switch {
	case errors.As(err, &ue), errors.As(err, &ce), errors.Is(err, runner.ErrUnknownPolicy):
		return 2
	}
	return 1
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: snapd <command> [--config PATH] [flags]")
	fmt.Fprintln(w)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'snapd <command> -h' for a command's flags.")
}
