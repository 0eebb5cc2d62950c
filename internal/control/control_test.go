package control

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestRoundTrip(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	s, err := Listen(sock, func(ctx context.Context, req Request) Response {
		if req.Cmd != "echo" {
			return Response{Error: "unknown " + req.Cmd, Exit: 2}
		}
		b, _ := json.Marshal(req.Policy)
		return Response{Data: b}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("socket mode = %o, want 600", m)
	}
	resp, err := Do(context.Background(), sock, Request{Cmd: "echo", Policy: "homes"})
	if err != nil {
		t.Fatal(err)
	}
	if string(resp.Data) != `"homes"` || resp.Error != "" {
		t.Errorf("Do(echo) = %+v, want data \"homes\"", resp)
	}
	resp, err = Do(context.Background(), sock, Request{Cmd: "nope"})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Exit != 2 || resp.Error == "" {
		t.Errorf("Do(nope) = %+v, want exit 2 with an error", resp)
	}
}

func TestNoDaemon(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	if _, err := Do(context.Background(), sock, Request{Cmd: "status"}); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("Do on a missing socket = %v, want ErrNoDaemon", err)
	}
	// A stale socket file left by a dead process is also "no daemon", and Listen
	// replaces it.
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("stale socket file: %v", err)
	}
	if _, err := Do(context.Background(), sock, Request{Cmd: "status"}); !errors.Is(err, ErrNoDaemon) {
		t.Errorf("Do on a stale socket = %v, want ErrNoDaemon", err)
	}
	s2, err := Listen(sock, func(context.Context, Request) Response { return Response{} })
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	s2.Close()
}

func TestSecondListenerRefused(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	s, err := Listen(sock, func(context.Context, Request) Response { return Response{} })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Listen(sock, func(context.Context, Request) Response { return Response{} }); err == nil {
		t.Fatal("second Listen on a live socket succeeded, want an error")
	}
}

func TestClientHangupCancelsCommand(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	cancelled := make(chan struct{})
	s, err := Listen(sock, func(ctx context.Context, req Request) Response {
		<-ctx.Done()
		close(cancelled)
		return Response{}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Do(ctx, sock, Request{Cmd: "slow"}); err == nil {
		t.Fatal("Do returned no error after its context ended")
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second):
		t.Fatal("the server's command was not cancelled when the client hung up")
	}
}

func TestGarbageRequest(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "control.sock")
	s, err := Listen(sock, func(context.Context, Request) Response { return Response{} })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c, err := (&netDialer{}).dial(sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("not json\n"))
	var resp Response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		t.Fatal(err)
	}
	if resp.Exit != 2 || resp.Error == "" {
		t.Errorf("garbage request answered %+v, want exit 2 with an error", resp)
	}
}
