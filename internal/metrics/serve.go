package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Server limits. A scrape is one small GET; anything slower than these is a
// stuck or hostile client, not Prometheus.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 16 << 10
	shutdownTimeout   = 5 * time.Second
)

// Serve listens on addr and serves h at /metrics and a liveness answer at
// /healthz until ctx is done, then shuts the server down gracefully. It
// returns the address it listens on (useful with port 0) and a channel that
// is closed when the server has stopped, after it delivers the error that
// stopped it, if any. A listen failure, such as an address in use, is
// returned at once.
func Serve(ctx context.Context, addr string, h http.Handler) (net.Addr, <-chan error, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	if h == nil {
		h = http.NotFoundHandler()
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "snapd: Prometheus metrics at /metrics, liveness at /healthz\n")
	})
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}

	errc := make(chan error, 1)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	go func() {
		defer close(errc)
		select {
		case err := <-served:
			errc <- fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			err := srv.Shutdown(sctx)
			if err != nil {
				// A scrape still running after the grace period is cut off.
				srv.Close()
			}
			if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
				err = errors.Join(err, serr)
			}
			if err != nil {
				errc <- fmt.Errorf("metrics: shut down server on %s: %w", ln.Addr(), err)
			}
		}
	}()
	return ln.Addr(), errc, nil
}
