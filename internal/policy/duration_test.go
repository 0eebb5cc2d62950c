package policy

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	const day, week = 24 * time.Hour, 7 * 24 * time.Hour
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"-0", 0},
		{"0s", 0},
		{"90m", 90 * time.Minute},
		{"36h", 36 * time.Hour},
		{"1h30m", 90 * time.Minute},
		{"1.5h", 90 * time.Minute},
		{"300ms", 300 * time.Millisecond},
		{"2us", 2 * time.Microsecond},
		{"2µs", 2 * time.Microsecond},
		{"7d", 7 * day},
		{"2w", 2 * week},
		{"1w2d3h", week + 2*day + 3*time.Hour},
		{"1.5d", 36 * time.Hour},
		{".5w", week / 2},
		{"1d12h", 36 * time.Hour},
		{"+3d", 3 * day},
		{"-1d", -day},
		{"15250w", 15250 * week},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
		// Where Go's parser accepts the input, both must agree.
		if goD, goErr := time.ParseDuration(tc.in); goErr == nil && goD != got {
			t.Errorf("ParseDuration(%q) = %v, time.ParseDuration = %v", tc.in, got, goD)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"", `invalid duration "": empty`},
		{"-", `invalid duration "-": empty`},
		{"7", `invalid duration "7": missing unit (use ns, us, ms, s, m, h, d or w)`},
		{"7x", `invalid duration "7x": unknown unit "x" (use ns, us, ms, s, m, h, d or w)`},
		{"1y", `invalid duration "1y": unknown unit "y" (use ns, us, ms, s, m, h, d or w)`},
		{"d", `invalid duration "d": expected a number`},
		{"1d 2h", `invalid duration "1d 2h": unknown unit "d " (use ns, us, ms, s, m, h, d or w)`},
		{".d", `invalid duration ".d": expected a number`},
		{"15251w", `invalid duration "15251w": out of range`},
		{"99999999999999999999s", `invalid duration "99999999999999999999s": out of range`},
	} {
		got, err := ParseDuration(tc.in)
		if err == nil {
			t.Errorf("ParseDuration(%q) = %v, nil, want error %q", tc.in, got, tc.want)
			continue
		}
		if err.Error() != tc.want {
			t.Errorf("ParseDuration(%q) error = %q, want %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParseDuration checks that the parser never panics and agrees with
// time.ParseDuration on every input that has no d or w unit.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "7d", "1w2d3h", "1.5h", "-5m", ".5w", "9223372036854775807ns", "1e3s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseDuration(s)
		if strings.ContainsAny(s, "dw") {
			return
		}
		want, goErr := time.ParseDuration(s)
		if (err == nil) != (goErr == nil) || got != want {
			t.Fatalf("ParseDuration(%q) = %v, %v; time.ParseDuration = %v, %v", s, got, err, want, goErr)
		}
	})
}
