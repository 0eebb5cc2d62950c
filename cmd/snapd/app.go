package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/synology-snapd/snapd/internal/control"
	"github.com/synology-snapd/snapd/internal/daemon"
	"github.com/synology-snapd/snapd/internal/logging"
	"github.com/synology-snapd/snapd/internal/policy"
	"github.com/synology-snapd/snapd/internal/runner"
	"github.com/synology-snapd/snapd/internal/state"
	"github.com/synology-snapd/snapd/internal/synology"
)

// app is what every command shares: output streams and, once loaded, the configuration.
type app struct {
	stdout, stderr io.Writer
	configFlag     string
	cfg            *policy.Config
	args           []string // positional arguments of the last parse
}

// flags returns a flag set with the common --config flag.
func (a *app) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("snapd "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.StringVar(&a.configFlag, "config", "", "configuration file (default $SNAPD_CONFIG or "+daemon.DefaultConfig+")")
	return fs
}

// parse parses flags, which may come before or after positional arguments (the Go flag
// package stops at the first positional); extra positional arguments are a usage error
// unless allowed, and are kept in a.args.
func (a *app) parse(fs *flag.FlagSet, args []string, positional bool) error {
	a.args = nil
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			a.args = append(a.args, args[1:]...)
			break
		}
		a.args = append(a.args, args[0])
		args = args[1:]
	}
	if !positional && len(a.args) > 0 {
		return usagef("unexpected argument %q", a.args[0])
	}
	return nil
}

func (a *app) configPath() string { return daemon.ConfigPath(a.configFlag) }

// config loads the configuration once.
func (a *app) config() (*policy.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	cfg, err := policy.Load(a.configPath())
	if err != nil {
		return nil, &daemon.ConfigError{Err: err}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(a.stderr, "snapd: warning:", w)
	}
	a.cfg = cfg
	return cfg, nil
}

// logger is the one-off commands' logger: warnings and errors on stderr, so that the
// command's own output stays readable.
func (a *app) logger() zerolog.Logger {
	l, _, err := logging.New(logging.Format("auto"), "warn", os.Stderr)
	if err != nil {
		return zerolog.New(a.stderr).Level(zerolog.WarnLevel)
	}
	return l
}

func (a *app) policyArg(cfg *policy.Config, name string) (*policy.Policy, error) {
	if name == "" {
		return nil, usagef("--policy is required")
	}
	p, ok := cfg.Policies[name]
	if !ok {
		return nil, usagef("no policy %q in %s", name, cfg.Path)
	}
	return p, nil
}

// askDaemon sends a request to a running daemon. ok is false when none runs.
func (a *app) askDaemon(ctx context.Context, req control.Request, out any) (ok bool, err error) {
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if req.Cmd == "snapshot" || req.Cmd == "prune" || req.Cmd == "sync" {
		dctx, cancel = context.WithCancel(ctx) // runs take as long as they take
		defer cancel()
	}
	resp, err := control.Do(dctx, daemon.SocketPath(), req)
	if errors.Is(err, control.ErrNoDaemon) {
		return false, nil
	}
	if err != nil {
		return true, err
	}
	if out != nil && len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, out); err != nil {
			return true, fmt.Errorf("daemon answer: %w", err)
		}
	}
	if resp.Error != "" {
		if resp.Exit == 2 {
			return true, usageError{errors.New(resp.Error)}
		}
		return true, errors.New(resp.Error)
	}
	return true, nil
}

// stateDB is the journal opened directly by a one-off command.
type stateDB struct {
	*state.DB
	dir string
}

// Close closes the database and, when root wrote into a state dir that belongs to the
// service's user, hands the files back to that user, so the service can still open them.
func (s *stateDB) Close() error {
	err := s.DB.Close()
	if os.Geteuid() != 0 {
		return err
	}
	fi, serr := os.Stat(s.dir)
	st, ok := fi.Sys().(*syscall.Stat_t)
	if serr != nil || !ok || st.Uid == 0 {
		return err
	}
	entries, _ := os.ReadDir(s.dir)
	for _, e := range entries {
		os.Lchown(filepath.Join(s.dir, e.Name()), int(st.Uid), int(st.Gid))
	}
	return err
}

// openState opens the journal directly, for when no daemon runs.
func (a *app) openState(cfg *policy.Config) (*stateDB, error) {
	dir := daemon.StateDir(cfg)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	db, err := state.Open(dir, state.Options{Timeout: 2 * time.Second})
	if errors.Is(err, state.ErrLocked) {
		return nil, fmt.Errorf("%w; and no daemon answers on %s", err, daemon.SocketPath())
	}
	if err != nil {
		return nil, err
	}
	return &stateDB{DB: db, dir: dir}, nil
}

// readState opens the journal read-only, for commands that only read it when no daemon
// runs: it writes nothing and shares the lock with other readers. It returns nil, nil
// when there is no journal yet.
func (a *app) readState(cfg *policy.Config) (*state.DB, error) {
	db, err := state.Open(daemon.StateDir(cfg), state.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if errors.Is(err, state.ErrLocked) {
		return nil, fmt.Errorf("%w; and no daemon answers on %s", err, daemon.SocketPath())
	}
	return db, err
}

// client builds the client of one NAS, with its stored 2FA device token: from db when
// the command has the journal open, else from the running daemon, else from the journal
// opened read-only.
func (a *app) client(cfg *policy.Config, nasName string, db *stateDB) (*synology.Client, error) {
	n, ok := cfg.NAS[nasName]
	if !ok {
		return nil, usagef("no NAS %q in %s", nasName, cfg.Path)
	}
	var tok string
	if db != nil {
		tok, _, _ = db.DeviceToken(nasName)
	} else {
		tok = a.storedToken(cfg, nasName)
	}
	return daemon.NewClient(n, tok, a.logger(), nil)
}

// storedToken finds a NAS's device token without disturbing a running daemon; "" when
// there is none or it cannot be read.
func (a *app) storedToken(cfg *policy.Config, nasName string) string {
	raw, _ := json.Marshal(daemon.DeviceTokenArgs{NAS: nasName})
	var tok string
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if asked, err := a.askDaemon(ctx, control.Request{Cmd: "device-token", Args: raw}, &tok); asked {
		if err != nil {
			return ""
		}
		return tok
	}
	db, err := state.Open(daemon.StateDir(cfg), state.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return ""
	}
	defer db.Close()
	tok, _, _ = db.DeviceToken(nasName)
	return tok
}

// directRunner builds a runner over the state database, for one-off commands when no
// daemon runs. The returned func releases everything.
func (a *app) directRunner(cfg *policy.Config, db *stateDB, nasNames ...string) (*runner.Runner, func(), error) {
	shared := runner.NewShared()
	var clients []*synology.Client
	closeAll := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, c := range clients {
			c.Close(ctx)
		}
	}
	for _, n := range nasNames {
		c, err := a.client(cfg, n, db)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		clients = append(clients, c)
		shared.SetClient(n, c)
	}
	var j runner.Journal
	if db != nil {
		j = db
	}
	return &runner.Runner{Config: cfg, Shared: shared, Journal: j, Log: a.logger()}, closeAll, nil
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
