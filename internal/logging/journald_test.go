package logging

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
	"github.com/google/go-cmp/cmp"
	"github.com/rs/zerolog"
)

// sent is one call of the send function.
type sent struct {
	Msg  string
	Prio journal.Priority
	Vars map[string]string
}

// capture records every send and fails while err is set.
type capture struct {
	mu   sync.Mutex
	sent []sent
	err  error
}

func (c *capture) send(msg string, prio journal.Priority, vars map[string]string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.sent = append(c.sent, sent{msg, prio, vars})
	return nil
}

func (c *capture) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.err = err
}

// journalLogger returns a logger built like New's journald mode, but sending to c.
func journalLogger(c *capture, fallback *bytes.Buffer) zerolog.Logger {
	return zerolog.New(newJournalWriter(c.send, fallback)).Level(zerolog.TraceLevel).With().Timestamp().Logger()
}

func TestJournalFields(t *testing.T) {
	ident := map[string]string{"SYSLOG_IDENTIFIER": "snapd"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{"SYSLOG_IDENTIFIER": "snapd"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name string
		log  func(l zerolog.Logger)
		want sent
	}{
		{
			name: "fixed fields and message id",
			log: func(l zerolog.Logger) {
				l.Info().Str(FieldPolicy, "homes").Str(FieldNAS, "primary").Str(FieldTarget, "homes").
					Str(FieldSnapshot, "GMT+01-2024.01.02-03.04.05").Str(FieldAction, "snapshot.create").
					Str(FieldOutcome, "ok").Msg("snapshot created")
			},
			want: sent{"snapshot created", journal.PriInfo, with(
				"POLICY", "homes", "NAS", "primary", "TARGET", "homes",
				"SNAPSHOT", "GMT+01-2024.01.02-03.04.05", "ACTION", "snapshot.create",
				"OUTCOME", "ok", "MESSAGE_ID", "36bd8aa6cc8a44bfb6b0aafa33cd9560")},
		},
		{
			name: "error field from Err",
			log: func(l zerolog.Logger) {
				l.Error().Err(errors.New("dsm: code 105")).Str(FieldAction, "prune.refused").Msg("run failed")
			},
			want: sent{"run failed", journal.PriErr, with("ERROR", "dsm: code 105",
				"ACTION", "prune.refused", "MESSAGE_ID", "c7b2b5eb56794bc5bbe37d1d3acedb3a")},
		},
		{
			name: "err field",
			log:  func(l zerolog.Logger) { l.Warn().Str("err", "timeout").Msg("retrying") },
			want: sent{"retrying", journal.PriWarning, with("ERROR", "timeout")},
		},
		{
			name: "unknown action has no message id",
			log:  func(l zerolog.Logger) { l.Info().Str(FieldAction, "made.up").Msg("x") },
			want: sent{"x", journal.PriInfo, with("ACTION", "made.up")},
		},
		{
			name: "explicit message id wins",
			log: func(l zerolog.Logger) {
				l.Info().Str(FieldAction, "run.start").Str("message_id", "00112233445566778899aabbccddeeff").Msg("x")
			},
			want: sent{"x", journal.PriInfo, with("ACTION", "run.start", "MESSAGE_ID", "00112233445566778899aabbccddeeff")},
		},
		{
			name: "other keys sanitised",
			log: func(l zerolog.Logger) {
				l.Debug().Str("bytes-sent", "1").Str("Dsm.Code", "2").Str("_hidden", "3").Str("9lives", "4").
					Str("", "5").Str(strings.Repeat("k", 70), "6").Msg("keys")
			},
			want: sent{"keys", journal.PriDebug, with("BYTES_SENT", "1", "DSM_CODE", "2", "X__HIDDEN", "3",
				"X_9LIVES", "4", "X_", "5", strings.Repeat("K", 64), "6")},
		},
		{
			name: "reserved names are not overwritten",
			log: func(l zerolog.Logger) {
				l.Info().Str("priority", "high").Str("syslog_identifier", "other").Str("Message", "m2").Msg("m1")
			},
			want: sent{"m1", journal.PriInfo, with("X_PRIORITY", "high", "X_SYSLOG_IDENTIFIER", "other", "X_MESSAGE", "m2")},
		},
		{
			name: "values that are not strings",
			log: func(l zerolog.Logger) {
				l.Info().Int("kept", 12).Float64("ratio", 0.5).Bool("forced", true).Strs("names", []string{"a", "b"}).
					Dict("plan", zerolog.Dict().Int("deletes", 3)).Interface("none", nil).Msg("values")
			},
			want: sent{"values", journal.PriInfo, with("KEPT", "12", "RATIO", "0.5", "FORCED", "true",
				"NAMES", `["a","b"]`, "PLAN", `{"deletes":3}`, "NONE", "null")},
		},
		{
			name: "multi-line message",
			log:  func(l zerolog.Logger) { l.Info().Msg("line one\nline two") },
			want: sent{"line one\nline two", journal.PriInfo, ident},
		},
		{
			name: "caller becomes source location",
			log:  func(l zerolog.Logger) { l.Info().Str(zerolog.CallerFieldName, "/src/run.go:42").Msg("c") },
			want: sent{"c", journal.PriInfo, with("CODE_FILE", "/src/run.go", "CODE_LINE", "42")},
		},
		{name: "trace", log: func(l zerolog.Logger) { l.Trace().Msg("t") }, want: sent{"t", journal.PriDebug, ident}},
		{name: "no level", log: func(l zerolog.Logger) { l.Log().Msg("n") }, want: sent{"n", journal.PriNotice, ident}},
		{name: "empty message", log: func(l zerolog.Logger) { l.Info().Send() }, want: sent{"", journal.PriInfo, ident}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c capture
			var fb bytes.Buffer
			tt.log(journalLogger(&c, &fb))
			if len(c.sent) != 1 {
				t.Fatalf("sent %d records, want 1", len(c.sent))
			}
			if diff := cmp.Diff(tt.want, c.sent[0]); diff != "" {
				t.Errorf("journal entry mismatch (-want +got):\n%s", diff)
			}
			if fb.Len() != 0 {
				t.Errorf("fallback got %q, want nothing", fb.String())
			}
		})
	}
}

func TestJournalPlainWrite(t *testing.T) {
	tests := []struct {
		in   string
		want sent
	}{
		{`{"level":"warn","message":"m"}` + "\n", sent{"m", journal.PriWarning, map[string]string{"SYSLOG_IDENTIFIER": "snapd"}}},
		{`{"level":"bogus","message":"m"}`, sent{"m", journal.PriNotice, map[string]string{"SYSLOG_IDENTIFIER": "snapd"}}},
		{"not json at all\n", sent{"not json at all", journal.PriNotice, map[string]string{"SYSLOG_IDENTIFIER": "snapd"}}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var c capture
			w := newJournalWriter(c.send, &bytes.Buffer{})
			n, err := w.Write([]byte(tt.in))
			if n != len(tt.in) || err != nil {
				t.Fatalf("Write(%q) = %d, %v, want %d, nil", tt.in, n, err, len(tt.in))
			}
			if diff := cmp.Diff([]sent{tt.want}, c.sent); diff != "" {
				t.Errorf("Write(%q) sent mismatch (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestJournalFallback(t *testing.T) {
	var c capture
	var fb bytes.Buffer
	l := journalLogger(&c, &fb)
	c.fail(errors.New("dial unixgram /run/systemd/journal/socket: no such file"))

	l.Error().Str(FieldPolicy, "homes").Msg("first")
	l.Info().Msg("second")
	c.fail(nil)
	l.Info().Msg("third")
	c.fail(errors.New("socket gone again"))
	l.Warn().Msg("fourth")

	lines := strings.Split(strings.TrimSuffix(fb.String(), "\n"), "\n")
	want := []string{
		`<4>journal unavailable, logging to stderr: dial unixgram /run/systemd/journal/socket: no such file`,
		`<3>{"level":"error","policy":"homes","time":"*","message":"first"}`,
		`<6>{"level":"info","time":"*","message":"second"}`,
		`<4>journal unavailable, logging to stderr: socket gone again`,
		`<4>{"level":"warn","time":"*","message":"fourth"}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("fallback has %d lines, want %d:\n%s", len(lines), len(want), fb.String())
	}
	for i := range want {
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(want[i]), `\*`, `[^"]+`) + "$"
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("fallback line %d = %q, want %q", i, lines[i], want[i])
		}
	}
	if len(c.sent) != 1 || c.sent[0].Msg != "third" {
		t.Errorf("journal got %v, want only the record \"third\"", c.sent)
	}
}

func TestJournalFallbackWriteError(t *testing.T) {
	var c capture
	c.fail(errors.New("no journal"))
	w := newJournalWriter(c.send, failingWriter{})
	if _, err := w.Write([]byte(`{"message":"m"}`)); err == nil || !strings.Contains(err.Error(), "no journal") {
		t.Errorf("Write with journal and stderr failing = %v, want an error naming both", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("stderr closed") }

func TestJournalFallbackConcurrent(t *testing.T) {
	var c capture
	c.fail(errors.New("no journal"))
	var fb bytes.Buffer
	l := journalLogger(&c, &fb)
	const workers, each = 8, 50
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				l.Info().Int("g", g).Int("i", i).Msg(strings.Repeat("x", 200))
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(fb.String(), "\n"), "\n")
	if len(lines) != workers*each+1 {
		t.Fatalf("fallback has %d lines, want %d", len(lines), workers*each+1)
	}
	line := regexp.MustCompile(`^<6>\{"level":"info","g":\d,"i":\d+,"time":"[^"]+","message":"x{200}"\}$`)
	for i, s := range lines[1:] {
		if !line.MatchString(s) {
			t.Fatalf("fallback line %d = %q, want a whole record", i+1, s)
		}
	}
}

func TestFieldName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"policy", "POLICY"},
		{"err", "ERROR"},
		{"error", "ERROR"},
		{"a.b-c d", "A_B_C_D"},
		{"ü", "X__"},
		{"MESSAGE_ID", "MESSAGE_ID"},
	}
	for _, tt := range tests {
		if got := fieldName(tt.in); got != tt.want {
			t.Errorf("fieldName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestMessageIDs(t *testing.T) {
	actions := []string{
		"snapshot.create", "snapshot.delete", "snapshot.set", "replication.sync", "prune.plan",
		"prune.refused", "run.skipped", "run.missed", "run.start", "run.finish", "daemon.start",
		"daemon.reload", "daemon.stop", "nas.login",
	}
	if len(MessageIDs) != len(actions) {
		t.Errorf("MessageIDs has %d entries, want %d", len(MessageIDs), len(actions))
	}
	hex128 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]string{}
	for _, a := range actions {
		id := MessageID(a)
		if !hex128.MatchString(id) {
			t.Errorf("MessageID(%q) = %q, want 32 lower-case hex digits", a, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("MessageID(%q) = MessageID(%q) = %s, want distinct", a, other, id)
		}
		seen[id] = a
	}
	if got := MessageID("nope"); got != "" {
		t.Errorf("MessageID(%q) = %q, want \"\"", "nope", got)
	}
}

func ExampleMessageID() {
	fmt.Println(MessageID("snapshot.create"))
	// Output: 36bd8aa6cc8a44bfb6b0aafa33cd9560
}
