package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// holderName is the lock-holder record beside the database file.
const holderName = FileName + ".holder"

// maxCommand bounds the command line kept in the holder record.
const maxCommand = 200

// holderRecord is what the read-write holder writes after taking the lock.
type holderRecord struct {
	V       int       `json:"v"`
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

func (r *holderRecord) version() int { return r.V }

// LockedError is the error of Open when another process holds the state
// dir. PID is 0 when that process could not be named: it is a read-only
// reader (readers leave no record) or it has not written its record yet.
type LockedError struct {
	Dir     string
	PID     int
	Command string
	Since   time.Time
}

func (e *LockedError) Error() string {
	if e.PID == 0 {
		return fmt.Sprintf("state dir %s is in use by another process", e.Dir)
	}
	return fmt.Sprintf("state dir %s is in use by pid %d (%s, since %s)",
		e.Dir, e.PID, e.Command, e.Since.UTC().Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// writeHolder records this process as the holder of the lock; it is
// written to a temporary name and renamed so a reader never sees half.
func writeHolder(dir string, now time.Time) error {
	args := append([]string{filepath.Base(os.Args[0])}, os.Args[1:]...)
	cmd := strings.Join(args, " ")
	if len(cmd) > maxCommand {
		cmd = cmd[:maxCommand] + "…"
	}
	b, err := encode(&holderRecord{V: recordVersion, PID: os.Getpid(), Command: cmd, Since: now.UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	final := filepath.Join(dir, holderName)
	tmp := final + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write lock-holder record: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write lock-holder record: %w", err)
	}
	return nil
}

// lockedError builds the error of a lost lock race, naming the holder when
// its record is readable and its process is alive.
func lockedError(dir string) error {
	e := &LockedError{Dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, holderName))
	if err != nil {
		return e
	}
	var r holderRecord
	if decode(b, &r) != nil || r.PID <= 0 || !alive(r.PID) {
		return e
	}
	e.PID, e.Command, e.Since = r.PID, r.Command, r.Since
	return e
}

// alive reports whether a process with this pid exists; EPERM means it
// does, under another user.
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
