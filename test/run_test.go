package test

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort returns a port on loopback that nothing listens on now.
func freePort(t *testing.T, n int) int {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		ok := true
		for i := 1; i < n; i++ { // the next ports must be free too
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return p
		}
	}
}

// TestMakeRun runs what `make run` runs, on a fresh data folder, as a new
// user would, and checks that everything it prints is true: HQ and three
// missions answer, the login works, and the map has the demo missions.
func TestMakeRun(t *testing.T) {
	run := t.TempDir()
	hqPort, agentPort, relayPort := freePort(t, 1), freePort(t, 3), freePort(t, 3)
	cmd := exec.Command("bash", filepath.Join("..", "deploy", "demo.sh"))
	cmd.Env = append(os.Environ(), "CHANCERY_BIN="+bin, "CHANCERY_RUN="+run, "HQ_PORT="+strconv.Itoa(hqPort), "AGENT_PORT="+strconv.Itoa(agentPort), "RELAY_PORT="+strconv.Itoa(relayPort))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var printed strings.Builder
	deadline := time.After(90 * time.Second)
	for !strings.Contains(printed.String(), "Ctrl-C stops everything") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("make run ended:\n%s", printed.String())
			}
			printed.WriteString(l + "\n")
		case <-deadline:
			t.Fatalf("make run did not say it was ready:\n%s", printed.String())
		}
	}
	text := printed.String()
	pw := regexp.MustCompile(`admin / (\S+)`).FindStringSubmatch(text)
	urls := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`).FindAllString(text, -1)
	if pw == nil || len(urls) != 4 {
		t.Fatalf("make run printed:\n%s", text)
	}
	for i, u := range urls {
		c := login(t, strings.TrimSuffix(u, "/"), "admin", pw[1])
		page := get(t, c, u)
		if i == 0 {
			if n := strings.Count(page, `data-code="`); n < 60 {
				t.Fatalf("HQ's map shows %d missions", n)
			}
		} else if !strings.Contains(page, "demo data") {
			t.Fatalf("%s does not say it holds demo data", u)
		}
		if i == 1 { // the demo missions share a network
			waitFor(t, 20*time.Second, func() bool {
				p := get(t, c, u+"peers")
				return strings.Contains(p, `data-mission="KE-NBO" data-state="alive"`) && strings.Contains(p, `data-mission="SG-SIN" data-state="alive"`)
			})
		}
	}
}
