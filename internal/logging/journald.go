package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/rs/zerolog"
)

// sendFunc has the signature of journal.Send; tests inject their own.
type sendFunc func(message string, priority journal.Priority, vars map[string]string) error

// maxFieldName is journald's limit on the length of a field name.
const maxFieldName = 64

// journalWriter is a zerolog.LevelWriter that sends each JSON record to the
// journal as native fields. It replaces rs/zerolog/journald, which sets no
// SYSLOG_IDENTIFIER and duplicates every record in a JSON= field.
type journalWriter struct {
	send     sendFunc
	fallback io.Writer

	mu     sync.Mutex  // keeps fallback lines whole when records race
	failed atomic.Bool // the journal refused the last record; announced once per outage
}

func newJournalWriter(send sendFunc, fallback io.Writer) *journalWriter {
	return &journalWriter{send: send, fallback: fallback}
}

// Write sends a record whose level is read from its level field.
func (w *journalWriter) Write(p []byte) (int, error) {
	return w.write(zerolog.NoLevel, false, p)
}

// WriteLevel sends a record at the level zerolog logged it at.
func (w *journalWriter) WriteLevel(level zerolog.Level, p []byte) (int, error) {
	return w.write(level, true, p)
}

func (w *journalWriter) write(level zerolog.Level, levelKnown bool, p []byte) (int, error) {
	msg, lvl, vars := journalEntry(p)
	if !levelKnown {
		level = lvl
	}
	prio := priority(level)
	err := w.send(msg, prio, vars)
	if err == nil {
		w.failed.Store(false)
		return len(p), nil
	}

	// The journal is gone (no socket, journald restarting): keep the record on
	// stderr, which systemd also collects and whose "<N>" prefix it parses.
	w.mu.Lock()
	defer w.mu.Unlock()
	var buf bytes.Buffer
	if !w.failed.Swap(true) {
		fmt.Fprintf(&buf, "<%d>journal unavailable, logging to stderr: %v\n", journal.PriWarning, err)
	}
	fmt.Fprintf(&buf, "<%d>%s", prio, bytes.TrimRight(p, "\n"))
	buf.WriteByte('\n')
	if _, werr := w.fallback.Write(buf.Bytes()); werr != nil {
		return 0, fmt.Errorf("write log record: journal: %v; stderr: %w", err, werr)
	}
	return len(p), nil
}

// journalEntry maps a zerolog JSON record to a journal message, the record's
// level and journal fields. A record that is not JSON is sent as it is, as
// the message.
func journalEntry(p []byte) (string, zerolog.Level, map[string]string) {
	vars := map[string]string{"SYSLOG_IDENTIFIER": Identifier}
	var rec map[string]any
	d := json.NewDecoder(bytes.NewReader(p))
	d.UseNumber()
	if err := d.Decode(&rec); err != nil {
		return string(bytes.TrimRight(p, "\n")), zerolog.NoLevel, vars
	}

	var msg string
	level := zerolog.NoLevel
	for k, v := range rec {
		switch k {
		case zerolog.TimestampFieldName:
			// journald stamps every record itself.
			continue
		case zerolog.LevelFieldName:
			if s, ok := v.(string); ok {
				if l, err := zerolog.ParseLevel(s); err == nil {
					level = l
				}
			}
			continue
		case zerolog.MessageFieldName:
			msg = fieldValue(v)
			continue
		case zerolog.CallerFieldName:
			// "file.go:42" becomes the journal's own source location fields.
			s := fieldValue(v)
			if i := strings.LastIndexByte(s, ':'); i > 0 {
				vars["CODE_FILE"], vars["CODE_LINE"] = s[:i], s[i+1:]
				continue
			}
		}
		vars[fieldName(k)] = fieldValue(v)
	}
	if _, ok := vars["MESSAGE_ID"]; !ok {
		if id := MessageID(vars["ACTION"]); id != "" {
			vars["MESSAGE_ID"] = id
		}
	}
	return msg, level, vars
}

// fieldName turns a record key into a valid journal field name: upper case,
// every character outside [A-Z0-9_] replaced by '_', at most 64 characters.
// Names journald would reject (empty, leading '_' or digit) and names snapd
// sets itself are prefixed with "X_" instead of overwriting them.
func fieldName(key string) string {
	switch key {
	case "err", zerolog.ErrorFieldName:
		return "ERROR"
	}
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, key)
	switch {
	case name == "", name[0] == '_', name[0] >= '0' && name[0] <= '9',
		name == "MESSAGE", name == "PRIORITY", name == "SYSLOG_IDENTIFIER":
		name = "X_" + name
	}
	if len(name) > maxFieldName {
		name = name[:maxFieldName]
	}
	return name
}

// fieldValue renders a decoded JSON value: strings as they are, numbers as
// written, anything else as JSON (a bool becomes "true").
func fieldValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("[unencodable: %v]", err)
	}
	return string(b)
}

// priority maps a zerolog level to a syslog priority. Fatal and panic map to
// crit, not emerg: journald broadcasts emerg to every terminal, and one
// daemon's failure is not the system's.
func priority(l zerolog.Level) journal.Priority {
	switch l {
	case zerolog.TraceLevel, zerolog.DebugLevel:
		return journal.PriDebug
	case zerolog.InfoLevel:
		return journal.PriInfo
	case zerolog.WarnLevel:
		return journal.PriWarning
	case zerolog.ErrorLevel:
		return journal.PriErr
	case zerolog.FatalLevel, zerolog.PanicLevel:
		return journal.PriCrit
	}
	return journal.PriNotice
}
