// Package benchenv holds what the benchmark programs share: the snapd binary under test
// and a description of the machine they ran on.
package benchenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Binary returns the snapd binary to measure: bin when given, else one built from the
// working tree into dir. It prints which, so every figure names its source.
func Binary(bin, dir string) (string, error) {
	if bin != "" {
		fmt.Printf("snapd binary: %s\n", bin)
		return bin, nil
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the snapd module: run from the repository, or pass -bin")
	}
	bin = filepath.Join(dir, "snapd")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/snapd")
	cmd.Dir = filepath.Dir(gomod)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build ./cmd/snapd: %w", err)
	}
	fi, err := os.Stat(bin)
	if err != nil {
		return "", err
	}
	fmt.Printf("built %s (%.1f MB) in %s\n", bin, float64(fi.Size())/1e6, time.Since(start).Round(time.Millisecond))
	head, _ := exec.Command("git", "rev-parse", "--short", "HEAD").Output()
	dirty, _ := exec.Command("git", "status", "--porcelain", "--", "cmd", "internal").Output()
	fmt.Printf("snapd source: working tree at commit %s, %d uncommitted paths under cmd/ and internal/\n",
		strings.TrimSpace(string(head)), strings.Count(string(dirty), "\n"))
	return bin, nil
}

// Loadavg is the 1, 5 and 15 minute load averages, or "?".
func Loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// PrintMachine prints the CPU count and model, kernel, Go version and load.
func PrintMachine() {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	var uts syscall.Utsname
	kernel := "?"
	if syscall.Uname(&uts) == nil {
		var b []byte
		for _, c := range uts.Release {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		kernel = string(b)
	}
	goVer, _ := exec.Command("go", "env", "GOVERSION").Output()
	fmt.Printf("machine: nproc %d, CPU %q, Linux %s, %s, load average %s\n", runtime.NumCPU(), model, kernel, strings.TrimSpace(string(goVer)), Loadavg())
}
