// Command dsmfake runs a fake Synology NAS that speaks the DSM Web API over HTTP and HTTPS.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/synology-snapd/snapd/internal/dsmfake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintf(os.Stderr, "dsmfake: %v\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "dsmfake: %v\n", err)
		os.Exit(1)
	}
}

// usageError is a bad command line.
type usageError struct{ error }

// certName is the only DNS name in the HTTPS certificate, as on a NAS reached by IP.
const certName = "synology"

// run starts the fake NAS and serves until ctx is cancelled.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dsmfake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "plain HTTP listen address (\"\" = off)")
	tlsListen := fs.String("tls-listen", "127.0.0.1:0", "HTTPS listen address (\"\" = off)")
	seed := fs.String("seed", "", "YAML `file` to seed the state from")
	dump := fs.String("dump", "", "YAML `file` the state is written to on exit")
	strict := fs.Bool("strict", false, "require every value of JSON-format APIs to be valid JSON")
	profile := fs.String("profile", "dsm7", "DSM generation to imitate: dsm7 or dsm6")
	zone := fs.String("zone", "UTC", "time zone share snapshot names are generated in")
	order := fs.String("order", "oldest-first", "snapshot list order: oldest-first, newest-first or shuffled")
	idle := fs.Duration("idle-timeout", 0, "sessions idle longer than this answer 106 (0 = never)")
	limit := fs.Int("limit", 0, "snapshots per share or LUN (0 = 256)")
	requireToken := fs.Bool("require-synotoken", false, "answer 119 to calls without a valid SynoToken")
	noDR := fs.Bool("no-dr", false, "act as if the Snapshot Replication package were not installed")
	user := fs.String("user", "snapd", "account to add")
	password := fs.String("password", "snapd", "password of that account")
	otp := fs.String("otp", "", "2FA code of that account (\"\" = no 2FA)")
	certDir := fs.String("cert-dir", "", "`directory` to write the HTTPS certificate to (cert.pem)")
	urlFile := fs.String("url-file", "", "`file` to write the HTTPS (else HTTP) URL to once serving")
	verbose := fs.Bool("verbose", false, "log every request")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q", fs.Args())}
	}
	if *listen == "" && *tlsListen == "" {
		return usageError{errors.New("both --listen and --tls-listen are off")}
	}

	logger := log.New(stderr, "", log.LstdFlags)
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	n := dsmfake.New(dsmfake.Options{Logf: logger.Printf})
	n.AddUser(dsmfake.User{Name: "snapd", Password: "snapd"})
	if *seed != "" {
		f, err := os.Open(*seed)
		if err != nil {
			return fmt.Errorf("open seed: %w", err)
		}
		err = n.LoadState(f)
		_ = f.Close()
		if err != nil {
			return fmt.Errorf("load seed %s: %w", *seed, err)
		}
	}
	// Flags given on the command line win over the seed's options.
	o := n.Options()
	o.Logf, o.LogRequests = logger.Printf, *verbose
	var errs []error
	if set["profile"] || o.Profile == "" {
		p, err := dsmfake.ParseProfile(*profile)
		errs = append(errs, err)
		o.Profile = p
	}
	if set["order"] {
		v, err := dsmfake.ParseOrder(*order)
		errs = append(errs, err)
		o.ListOrder = v
	}
	if set["zone"] {
		loc, err := time.LoadLocation(*zone)
		if err != nil {
			errs = append(errs, fmt.Errorf("--zone: %w", err))
		}
		o.Zone = loc
	}
	if set["strict"] {
		o.Strict = *strict
	}
	if set["idle-timeout"] {
		o.IdleTimeout = *idle
	}
	if set["limit"] {
		o.SnapshotLimit = *limit
	}
	if set["require-synotoken"] {
		o.RequireSynoToken = *requireToken
	}
	if set["no-dr"] {
		o.NoDRPackage = *noDR
	}
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
	}
	n.SetOptions(o)
	if set["user"] || set["password"] || set["otp"] {
		n.AddUser(dsmfake.User{Name: *user, Password: *password, OTP: *otp})
	}

	var servers []*http.Server
	serveErr := make(chan error, 2)
	url := ""
	start := func(l net.Listener, scheme string) {
		srv := &http.Server{Handler: n, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger,
			// HTTP/1.1 only, so that dropped-connection faults can hijack the connection.
			TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
		servers = append(servers, srv)
		url = scheme + "://" + l.Addr().String()
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
			}
		}()
	}
	if *listen != "" {
		l, err := net.Listen("tcp", *listen)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		start(l, "http")
		fmt.Fprintf(stdout, "dsmfake: listening on %s\n", url)
	}
	if *tlsListen != "" {
		cert, x509Cert, err := dsmfake.NewTLSCert(certName)
		if err != nil {
			return err
		}
		if *certDir != "" {
			if err := writeFile(filepath.Join(*certDir, "cert.pem"), dsmfake.CertPEM(x509Cert)); err != nil {
				return err
			}
		}
		l, err := net.Listen("tcp", *tlsListen)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		start(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}), "https")
		fmt.Fprintf(stdout, "dsmfake: listening on %s (certificate DNS name %q)\n", url, certName)
		fmt.Fprintf(stdout, "sha256 fingerprint: %s\n", dsmfake.FingerprintColons(x509Cert))
		fmt.Fprintf(stdout, "sha256 fingerprint hex: %s\n", dsmfake.Fingerprint(x509Cert))
	}
	if *urlFile != "" {
		if err := writeFile(*urlFile, []byte(url+"\n")); err != nil {
			return err
		}
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
		err = fmt.Errorf("serve: %w", err)
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range servers {
		if e := srv.Shutdown(shutCtx); e != nil {
			_ = srv.Close()
		}
	}
	if *dump != "" {
		if e := writeDump(n, *dump); e != nil {
			err = errors.Join(err, e)
		}
	}
	return err
}

// writeDump writes the NAS state to path.
func writeDump(n *dsmfake.NAS, path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".dsmfake-dump-*")
	if err != nil {
		return fmt.Errorf("write dump: %w", err)
	}
	if err := n.DumpState(f); err != nil {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write dump: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write dump: %w", err)
	}
	return nil
}

// writeFile replaces path atomically, so a script polling for it never reads half a line.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
