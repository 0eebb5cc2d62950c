package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/synology-snapd/snapd/internal/daemon"
	"github.com/synology-snapd/snapd/internal/logging"
	"github.com/synology-snapd/snapd/internal/version"
)

func cmdRun(ctx context.Context, a *app, args []string) error {
	fs := a.flags("run")
	if err := a.parse(fs, args, false); err != nil {
		return err
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	log, format, err := logging.New(logging.Format(cfg.Log.Format), cfg.Log.Level, os.Stderr)
	if err != nil {
		return &daemon.ConfigError{Err: fmt.Errorf("%s: log: %w", cfg.Path, err)}
	}
	log.Info().Str("version", version.String()).Str("log_format", string(format)).Str("config", cfg.Path).Msg("starting")

	// Signals are handled here only: SIGHUP becomes a reload request, and SIGUSR1 the
	// watchdog test hook when SNAPD_TEST_HOOKS=1.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default: // a reload is already pending
			}
		}
	}()
	var stopWD chan struct{}
	if os.Getenv("SNAPD_TEST_HOOKS") == "1" {
		stopWD = make(chan struct{}, 1)
		usr1 := make(chan os.Signal, 1)
		signal.Notify(usr1, syscall.SIGUSR1)
		defer signal.Stop(usr1)
		go func() {
			for range usr1 {
				select {
				case stopWD <- struct{}{}:
				default:
				}
			}
		}()
	}
	return daemon.Run(ctx, daemon.Options{
		ConfigPath:   a.configPath(),
		Config:       cfg,
		Log:          log,
		Reload:       reload,
		StopWatchdog: stopWD,
	})
}

func cmdVersion(_ context.Context, a *app, args []string) error {
	fs := a.flags("version")
	if err := a.parse(fs, args, false); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, version.String())
	return nil
}
