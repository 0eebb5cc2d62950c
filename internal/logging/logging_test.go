package logging

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/rs/zerolog"
)

func TestNewFormat(t *testing.T) {
	tests := []struct {
		format Format
		want   Format
	}{
		{"", FormatJSON},
		{FormatAuto, FormatJSON},
		{FormatJSON, FormatJSON},
		{FormatConsole, FormatConsole},
		{FormatJournald, FormatJournald},
	}
	for _, tt := range tests {
		t.Run(string(tt.format), func(t *testing.T) {
			_, got, err := New(tt.format, "info", &bytes.Buffer{})
			if err != nil {
				t.Fatalf("New(%q) error: %v", tt.format, err)
			}
			if got != tt.want {
				t.Errorf("New(%q) format = %q, want %q", tt.format, got, tt.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		format  Format
		level   string
		wantErr string
	}{
		{"syslog", "info", `log format "syslog": want auto, journald, json or console`},
		{"JSON", "info", `log format "JSON": want auto, journald, json or console`},
		{"json", "verbose", `log level "verbose": want trace, debug, info, warn or error`},
		{"json", "disabled", `log level "disabled": want trace, debug, info, warn or error`},
	}
	for _, tt := range tests {
		t.Run(string(tt.format)+"/"+tt.level, func(t *testing.T) {
			_, _, err := New(tt.format, tt.level, &bytes.Buffer{})
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("New(%q, %q) error = %v, want %q", tt.format, tt.level, err, tt.wantErr)
			}
		})
	}
}

func TestNewLevel(t *testing.T) {
	tests := []struct {
		level string
		want  zerolog.Level
	}{
		{"", zerolog.InfoLevel},
		{"trace", zerolog.TraceLevel},
		{"debug", zerolog.DebugLevel},
		{"info", zerolog.InfoLevel},
		{"INFO", zerolog.InfoLevel},
		{"warn", zerolog.WarnLevel},
		{"warning", zerolog.WarnLevel},
		{"error", zerolog.ErrorLevel},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			l, _, err := New(FormatJSON, tt.level, &bytes.Buffer{})
			if err != nil {
				t.Fatalf("New(json, %q) error: %v", tt.level, err)
			}
			if got := l.GetLevel(); got != tt.want {
				t.Errorf("New(json, %q) level = %v, want %v", tt.level, got, tt.want)
			}
		})
	}
}

func TestJSONOutput(t *testing.T) {
	var buf bytes.Buffer
	l, _, err := New(FormatJSON, "info", &buf)
	if err != nil {
		t.Fatal(err)
	}
	l.Debug().Msg("hidden")
	l.Info().Str(FieldPolicy, "homes").Str(FieldAction, "snapshot.create").Msg("snapshot created")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("JSON output has %d lines, want 1 (debug suppressed at info):\n%s", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("JSON output %q: %v", lines[0], err)
	}
	for k, want := range map[string]string{"level": "info", "message": "snapshot created", "policy": "homes", "action": "snapshot.create"} {
		if got := rec[k]; got != want {
			t.Errorf("JSON record[%q] = %v, want %q", k, got, want)
		}
	}
	if _, ok := rec["time"]; !ok {
		t.Errorf("JSON record %s has no time field", lines[0])
	}
}

func TestConsoleOutput(t *testing.T) {
	var buf bytes.Buffer
	l, _, err := New(FormatConsole, "debug", &buf)
	if err != nil {
		t.Fatal(err)
	}
	l.Debug().Str(FieldPolicy, "homes").Msg("plan ready")
	out := buf.String()
	if strings.Contains(out, "\x1b[") {
		t.Errorf("console output to a buffer has colour codes: %q", out)
	}
	for _, want := range []string{"DBG", "plan ready", "policy=homes"} {
		if !strings.Contains(out, want) {
			t.Errorf("console output %q lacks %q", out, want)
		}
	}
}

func TestAutoPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, got, _ := New(FormatAuto, "", w); got != FormatJSON {
		t.Errorf("New(auto) on a pipe = %q, want %q", got, FormatJSON)
	}
}

func TestAutoJournalStream(t *testing.T) {
	var st syscall.Stat_t
	if err := syscall.Fstat(syscall.Stderr, &st); err != nil {
		t.Fatal(err)
	}
	stream := fmt.Sprintf("%d:%d", st.Dev, st.Ino)

	t.Run("stderr is the stream", func(t *testing.T) {
		t.Setenv("JOURNAL_STREAM", stream)
		if _, got, _ := New(FormatAuto, "", os.Stderr); got != FormatJournald {
			t.Errorf("New(auto) with JOURNAL_STREAM=%s = %q, want %q", stream, got, FormatJournald)
		}
	})
	t.Run("another inode", func(t *testing.T) {
		other := fmt.Sprintf("%d:%d", st.Dev, st.Ino+1)
		t.Setenv("JOURNAL_STREAM", other)
		if _, got, _ := New(FormatAuto, "", os.Stderr); got == FormatJournald {
			t.Errorf("New(auto) with JOURNAL_STREAM=%s = %q, want not journald", other, got)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		t.Setenv("JOURNAL_STREAM", "garbage")
		if _, got, err := New(FormatAuto, "", os.Stderr); err != nil || got == FormatJournald {
			t.Errorf("New(auto) with JOURNAL_STREAM=garbage = %q, %v, want not journald, nil", got, err)
		}
	})
	t.Run("writer is not stderr", func(t *testing.T) {
		t.Setenv("JOURNAL_STREAM", stream)
		if _, got, _ := New(FormatAuto, "", &bytes.Buffer{}); got != FormatJSON {
			t.Errorf("New(auto) on a buffer with JOURNAL_STREAM set = %q, want %q", got, FormatJSON)
		}
	})
}
