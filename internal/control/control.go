// Package control carries one-off commands from the snapd CLI to a running daemon over a
// unix socket, one JSON request and one JSON response per connection.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Request is one command for the daemon.
type Request struct {
	Cmd    string          `json:"cmd"` // status | journal | snapshot | prune | sync | append | set-device-token
	Policy string          `json:"policy,omitempty"`
	Args   json.RawMessage `json:"args,omitempty"`
}

// Response is the daemon's answer. Exit is the exit code the CLI should use when Error
// is set (1 for operational failures, 2 for usage errors).
type Response struct {
	Error string          `json:"error,omitempty"`
	Exit  int             `json:"exit,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// Handler answers one request. The context ends when the client goes away or the
// server stops.
type Handler func(ctx context.Context, req Request) Response

// maxRequest bounds a request's size: the requests are small, a larger one is garbage.
const maxRequest = 1 << 20

// Server serves a Handler on a unix socket.
type Server struct {
	ln     *net.UnixListener
	path   string
	h      Handler
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Listen creates the socket at path with mode 0600, replacing a stale socket file left
// by a process that died, and starts serving.
func Listen(path string, h Handler) (*Server, error) {
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s is in use by another snapd", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale control socket: %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{ln: ln, path: path, h: h, ctx: ctx, cancel: cancel}
	s.wg.Add(1)
	go s.serve()
	return s, nil
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

func (s *Server) handle(c *net.UnixConn) {
	defer c.Close()
	var req Request
	dec := json.NewDecoder(io.LimitReader(c, maxRequest))
	if err := dec.Decode(&req); err != nil {
		json.NewEncoder(c).Encode(Response{Error: "bad control request: " + err.Error(), Exit: 2})
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	// A client that hangs up cancels its command.
	go func() {
		var b [1]byte
		if _, err := c.Read(b[:]); err != nil {
			cancel()
		}
	}()
	resp := s.h(ctx, req)
	json.NewEncoder(c).Encode(resp)
}

// Close stops accepting, cancels running commands, waits for them and removes the socket.
func (s *Server) Close() error {
	err := s.ln.Close()
	s.cancel()
	s.wg.Wait()
	os.Remove(s.path)
	return err
}

// ErrNoDaemon means no daemon listens on the socket.
var ErrNoDaemon = errors.New("no daemon is running")

// Do sends one request and waits for the answer. It returns ErrNoDaemon when nothing
// listens on path.
func Do(ctx context.Context, path string, req Request) (Response, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		var ne *net.OpError
		if errors.Is(err, os.ErrNotExist) || errors.As(err, &ne) {
			return Response{}, fmt.Errorf("%w (%s: %v)", ErrNoDaemon, path, err)
		}
		return Response{}, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return Response{}, fmt.Errorf("send to daemon: %w", err)
	}
	var resp Response
	if err := json.NewDecoder(bufio.NewReader(c)).Decode(&resp); err != nil {
		if ctx.Err() != nil {
			return Response{}, ctx.Err()
		}
		return Response{}, fmt.Errorf("read daemon answer: %w", err)
	}
	return resp, nil
}
