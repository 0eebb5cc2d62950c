package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/synology-snapd/snapd/internal/control"
	"github.com/synology-snapd/snapd/internal/daemon"
	"github.com/synology-snapd/snapd/internal/synology"
)

func cmdLogin(ctx context.Context, a *app, args []string) error {
	fs := a.flags("login")
	nasName := fs.String("nas", "", "NAS to log in to (required)")
	if err := a.parse(fs, args, false); err != nil {
		return err
	}
	if *nasName == "" {
		return usagef("--nas is required")
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	c, err := a.client(cfg, *nasName, nil)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	err = c.Login(ctx)
	if err == nil {
		fmt.Fprintf(a.stdout, "logged in to %s without a one-time code (the account has no 2FA, or its stored device token is valid)\n", *nasName)
		return nil
	}
	if !errors.Is(err, synology.ErrOTPRequired) {
		return fmt.Errorf("login to %s: %w", *nasName, err)
	}
	otp, err := readOTP(a)
	if err != nil {
		return err
	}
	token, err := c.LoginOTP(ctx, otp)
	if err != nil {
		return fmt.Errorf("login to %s: %w", *nasName, err)
	}
	if token == "" {
		return fmt.Errorf("login to %s succeeded but DSM issued no device token; snapd cannot log in unattended", *nasName)
	}
	raw, _ := json.Marshal(daemon.DeviceTokenArgs{NAS: *nasName, Token: token})
	asked, err := a.askDaemon(ctx, control.Request{Cmd: "set-device-token", Args: raw}, nil)
	if !asked {
		db, oerr := a.openState(cfg)
		if oerr != nil {
			return oerr
		}
		defer db.Close()
		err = db.SetDeviceToken(*nasName, token)
	}
	if err != nil {
		return fmt.Errorf("store the device token: %w", err)
	}
	fmt.Fprintf(a.stdout, "logged in to %s; device token stored, later logins need no one-time code\n", *nasName)
	if asked {
		fmt.Fprintln(a.stdout, "the running daemon uses it from its next login (reload or restart to log in now)")
	}
	return nil
}

// readOTP asks for the one-time code on the terminal, or reads a line from stdin.
func readOTP(a *app) (string, error) {
	fmt.Fprint(a.stderr, "one-time code: ")
	var line string
	if term.IsTerminal(int(os.Stdin.Fd())) {
		ch := make(chan string, 1)
		go func() {
			b, _ := term.ReadPassword(int(os.Stdin.Fd()))
			ch <- string(b)
		}()
		select {
		case line = <-ch:
		case <-time.After(5 * time.Minute):
			return "", errors.New("no one-time code entered")
		}
		fmt.Fprintln(a.stderr)
	} else {
		s, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && s == "" {
			return "", fmt.Errorf("read one-time code: %w", err)
		}
		line = s
	}
	otp := strings.TrimSpace(line)
	if otp == "" {
		return "", usagef("empty one-time code")
	}
	return otp, nil
}
