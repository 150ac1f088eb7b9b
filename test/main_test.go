// Package test runs the real Chancery binaries together on loopback and
// drives them as their users would: over HTTP and through a real browser.
package test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin holds the binaries built for this test run.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "chancery-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	for _, name := range []string{"agent", "hq"} {
		build := exec.Command("go", "build", "-buildvcs=true", "-o", filepath.Join(bin, "chancery-"+name), "chancery/"+name+"/cmd/chancery-"+name)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build chancery-"+name+":", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// agent is a running chancery-agent or chancery-hq process.
type agent struct {
	cmd      *exec.Cmd
	URL      string
	Password string // the first administrator's, if this start created it
	out      *strings.Builder
	errs     *lockedBuffer // what it logs
}

// lockedBuffer collects a process's log as it writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var (
	urlRE  = regexp.MustCompile(`https?://127\.0\.0\.1:\d+/`)
	passRE = regexp.MustCompile(`password: (\S+)`)
)

// startAgent runs "chancery-agent serve" on a free loopback port with its
// data in dir and waits until it says where it listens.
func startAgent(t testing.TB, dir string, args ...string) *agent {
	t.Helper()
	return start(t, "chancery-agent", dir, args...)
}

// startHQ runs "chancery-hq serve" likewise.
func startHQ(t testing.TB, dir string, args ...string) *agent {
	t.Helper()
	return start(t, "chancery-hq", dir, args...)
}

// run runs a command of a binary to its end and returns its output.
func run(t testing.TB, binary string, args ...string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(bin, binary), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", binary, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// runErr runs a command that may fail.
func runErr(binary string, args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(bin, binary), args...).CombinedOutput()
	return string(out), err
}

func start(t testing.TB, binary, dir string, args ...string) *agent {
	t.Helper()
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, args...)
	cmd := exec.Command(filepath.Join(bin, binary), args...)
	cmd.Env = os.Environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errb := &lockedBuffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agent{cmd: cmd, out: &strings.Builder{}, errs: errb}
	t.Cleanup(func() { a.stop(t) })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	for a.URL == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("agent exited before it was ready:\n%s\n%s", a.out, errb.String())
			}
			a.out.WriteString(l + "\n")
			if m := urlRE.FindString(l); m != "" && a.URL == "" {
				a.URL = strings.TrimSuffix(m, "/")
			}
			if m := passRE.FindStringSubmatch(l); m != nil {
				a.Password = m[1]
			}
		case <-deadline:
			t.Fatalf("agent did not start within 30s:\n%s", a.out)
		}
	}
	go func() {
		for l := range lines {
			_ = l
		}
	}()
	return a
}

func (a *agent) stop(t testing.TB) {
	if a.cmd.ProcessState != nil {
		return
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		a.cmd.Process.Kill()
		<-done
	}
}
