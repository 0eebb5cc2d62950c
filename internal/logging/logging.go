// Package logging builds snapd's zerolog logger for journald, a terminal or JSON.
//
// Records use the fixed field names (FieldPolicy …). Under journald they become
// native journal fields, every record carries SYSLOG_IDENTIFIER=snapd, and a
// record whose action field names a known kind of action carries that action's
// MESSAGE_ID (see MessageIDs). zerolog's Err writes the field "error"; it and
// "err" both become the journal field ERROR.
package logging

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/rs/zerolog"
	"golang.org/x/term"
)

// Format is the output format of the logger.
type Format string

// The formats New accepts. FormatAuto resolves to one of the other three.
const (
	FormatAuto     Format = "auto"
	FormatJournald Format = "journald"
	FormatJSON     Format = "json"
	FormatConsole  Format = "console"
)

// consoleTimeFormat carries the date, so a terminal log that spans midnight
// still reads unambiguously.
const consoleTimeFormat = time.DateTime

// New returns a logger at the given level that writes in the given format, and
// the format it resolved to. An empty format means auto, an empty level info.
//
// Auto picks journald when stderr is os.Stderr and systemd connected it to the
// journal (JOURNAL_STREAM names it), console when stderr is a terminal, and JSON
// otherwise. Journald records go to the journal's native socket; a record the
// journal does not take is written to stderr as a JSON line with a "<N>"
// priority prefix, so nothing is lost. Console output is coloured only on a
// terminal and when NO_COLOR is unset. A nil stderr means os.Stderr.
func New(format Format, level string, stderr io.Writer) (zerolog.Logger, Format, error) {
	if stderr == nil {
		stderr = os.Stderr
	}
	lvl, err := parseLevel(level)
	if err != nil {
		return zerolog.Nop(), "", err
	}
	switch format {
	case "", FormatAuto:
		format = detect(stderr)
	case FormatJournald, FormatJSON, FormatConsole:
	default:
		return zerolog.Nop(), "", fmt.Errorf("log format %q: want auto, journald, json or console", string(format))
	}

	var w io.Writer
	switch format {
	case FormatJournald:
		w = newJournalWriter(journal.Send, stderr)
	case FormatConsole:
		_, tty := terminalFD(stderr)
		w = zerolog.ConsoleWriter{
			Out:        stderr,
			NoColor:    !tty || os.Getenv("NO_COLOR") != "",
			TimeFormat: consoleTimeFormat,
		}
	default:
		w = stderr
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), format, nil
}

// parseLevel accepts the level names of the configuration, in any case, and
// "warning" because syslog and journalctl spell it so.
func parseLevel(s string) (zerolog.Level, error) {
	switch strings.ToLower(s) {
	case "trace":
		return zerolog.TraceLevel, nil
	case "debug":
		return zerolog.DebugLevel, nil
	case "", "info":
		return zerolog.InfoLevel, nil
	case "warn", "warning":
		return zerolog.WarnLevel, nil
	case "error":
		return zerolog.ErrorLevel, nil
	}
	return zerolog.NoLevel, fmt.Errorf("log level %q: want trace, debug, info, warn or error", s)
}

// detect resolves FormatAuto for the writer.
func detect(w io.Writer) Format {
	fd, tty := terminalFD(w)
	if fd == syscall.Stderr {
		// A malformed JOURNAL_STREAM is not the journal: fall through to the
		// terminal and JSON checks rather than refuse to start.
		if ok, err := journal.StderrIsJournalStream(); err == nil && ok {
			return FormatJournald
		}
	}
	if tty {
		return FormatConsole
	}
	return FormatJSON
}

// terminalFD returns the file descriptor behind w (-1 when w is not an
// *os.File) and whether it is a terminal. It reads the descriptor through
// SyscallConn because File.Fd would switch the file to blocking mode.
func terminalFD(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok {
		return -1, false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, false
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, false
	}
	return fd, term.IsTerminal(fd)
}
