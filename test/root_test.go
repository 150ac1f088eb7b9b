package test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"chancery/shared/sqlite"
)

var fpRE = regexp.MustCompile(`[0-9a-f]{4}( [0-9a-f]{4}){7}`)

// syncPage is the mission's Sync page as its staff see it.
func (s *site) syncPage() string {
	s.t.Helper()
	a := startAgent(s.t, s.agentDir)
	if a.Password != "" {
		os.WriteFile(filepath.Join(s.agentDir, "test-password"), []byte(a.Password), 0o600)
	}
	c := login(s.t, a.URL, "admin", s.password())
	page := get(s.t, c, a.URL+"/sync")
	a.stop(s.t)
	return page
}

// reloadHQ sends HQ SIGHUP, as systemctl reload does, and waits until it
// says it took its keys again.
func (s *site) reloadHQ() {
	s.t.Helper()
	n := strings.Count(s.hq.errs.String(), "HQ's keys reloaded")
	if err := s.hq.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		s.t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(s.hq.errs.String(), "HQ's keys reloaded") <= n {
		if time.Now().After(deadline) {
			s.t.Fatalf("HQ did not reload its keys:\n%s", s.hq.errs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRootOfTrust: the ministry makes a root key off line and certifies
// HQ's keys with it; a mission enrolled before follows. HQ then rotates
// its online keys under a new root version that two root keys must sign;
// the mission follows at its next exchange, a mission enrolled after
// starts from the new version, and a mission refuses HQ's old keys, keys
// of a compromised server's own making and a root statement the root
// keys did not sign.
func TestRootOfTrust(t *testing.T) {
	s := newSite(t)
	usb := t.TempDir() // the root keys' stick, never on the HQ server
	a, b := filepath.Join(usb, "a.key"), filepath.Join(usb, "b.key")
	run(t, "chancery-hq", "root", "keygen", "--out", a)
	run(t, "chancery-hq", "root", "keygen", "--out", b)
	if fi, _ := os.Stat(a); fi.Mode().Perm() != 0o600 {
		t.Fatalf("root key file mode %v", fi.Mode().Perm())
	}

	// Version 1 certifies HQ's keys in use.
	run(t, "chancery-hq", "root", "online", "--data", s.hqDir, "--out", filepath.Join(usb, "online-1.json"))
	out := run(t, "chancery-hq", "root", "sign", "--out", filepath.Join(usb, "root-1.json"), "--online", filepath.Join(usb, "online-1.json"), "--key", a)
	if !strings.Contains(out, "root version 1, complete") {
		t.Fatal(out)
	}
	if out, err := runErr("chancery-hq", "root", "install", "--data", s.hqDir, filepath.Join(usb, "online-1.json")); err == nil || !strings.Contains(out, "not a root statement") {
		t.Fatalf("installing the wrong file: %v %s", err, out)
	}
	run(t, "chancery-hq", "root", "install", "--data", s.hqDir, filepath.Join(usb, "root-1.json"))
	s.reloadHQ()
	oldFP := fpRE.FindString(s.syncPage())
	hqdb := openRaw(t, filepath.Join(s.hqDir, "hq.db"))
	oldKey := signingSeed(t, hqdb)

	s.work(2, 50)
	if out, err := s.sync(); err != nil {
		t.Fatalf("sync after root 1: %v\n%s", err, out)
	}
	if page := s.syncPage(); !strings.Contains(page, "version 1: HQ") || !strings.Contains(page, oldFP) {
		t.Fatalf("the mission does not follow root 1:\n%s", page)
	}

	// Rotation: HQ makes new online keys; version 2 certifies them, and
	// from now on needs two root keys of two. One signature is not enough.
	out = run(t, "chancery-hq", "root", "online", "--new", "--data", s.hqDir, "--out", filepath.Join(usb, "online-2.json"))
	newFP := fpRE.FindString(out)
	if newFP == "" || newFP == oldFP {
		t.Fatalf("new online keys: %s", out)
	}
	root2 := filepath.Join(usb, "root-2.json")
	out = run(t, "chancery-hq", "root", "sign", "--out", root2, "--previous", filepath.Join(usb, "root-1.json"), "--online", filepath.Join(usb, "online-2.json"),
		"--root-key", a, "--root-key", b, "--threshold", "2", "--key", a)
	if !strings.Contains(out, "not yet complete") {
		t.Fatal(out)
	}
	if out, err := runErr("chancery-hq", "root", "install", "--data", s.hqDir, root2); err == nil || !strings.Contains(out, "not signed by enough") {
		t.Fatalf("an incomplete version 2 installed: %v %s", err, out)
	}
	out = run(t, "chancery-hq", "root", "sign", "--out", root2, "--previous", filepath.Join(usb, "root-1.json"), "--key", b)
	if !strings.Contains(out, "root version 2, complete") {
		t.Fatal(out)
	}
	out = run(t, "chancery-hq", "root", "install", "--data", s.hqDir, root2)
	if !strings.Contains(out, "online keys are now the new ones") {
		t.Fatal(out)
	}
	s.reloadHQ()

	s.work(1, 50)
	if out, err := s.sync(); err != nil {
		t.Fatalf("sync after the rotation: %v\n%s", err, out)
	}
	page := s.syncPage()
	if !strings.Contains(page, "version 2: HQ") || !strings.Contains(page, newFP) {
		t.Fatalf("the mission did not follow the rotation:\n%s", page)
	}
	if held, through, _ := s.atHQ(); held != 3 || through != 3 {
		t.Fatalf("HQ holds %d, through %d", held, through)
	}

	// A mission enrolled now starts from version 2.
	run(t, "chancery-hq", "mission", "add", "--data", s.hqDir, "--code", "FR-LYO", "--name", "Lyon")
	code := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", s.hqDir, "--code", "FR-LYO"))
	lyon := t.TempDir()
	out = run(t, "chancery-agent", "enroll", "--data", lyon, "--hq", s.hq.URL, "--code", code, "--mission", "FR-LYO")
	if !strings.Contains(out, newFP) {
		t.Fatalf("enrolled after the rotation: %s", out)
	}
	run(t, "chancery-agent", "sync", "--data", lyon)

	// A compromised server puts keys of its own making in use, with no
	// root statement for them: the mission refuses its replies, and
	// takes nothing from them.
	evilDir := t.TempDir()
	run(t, "chancery-hq", "root", "online", "--new", "--data", s.hqDir, "--out", filepath.Join(evilDir, "online.json"))
	genuineKey := signingSeed(t, hqdb)
	setSigningSeed(t, hqdb, "(SELECT value FROM meta WHERE key = 'hq_pending_signing_seed')")
	s.restartHQ()
	s.work(1, 50)
	out, err := s.sync()
	if err == nil || !strings.Contains(out, "not certified by HQ's root of trust (version 2)") {
		t.Fatalf("a reply signed with an uncertified key: %v\n%s", err, out)
	}

	// It also makes a version 3 for them, signed with a root key of its
	// own: not signed by the root keys of version 2, it is refused.
	evil := filepath.Join(evilDir, "evil.key")
	run(t, "chancery-hq", "root", "keygen", "--out", evil)
	root3 := filepath.Join(evilDir, "root-3.json")
	run(t, "chancery-hq", "root", "sign", "--out", root3, "--previous", root2, "--online", filepath.Join(evilDir, "online.json"),
		"--root-key", evil, "--threshold", "1", "--key", evil)
	forged, _ := os.ReadFile(root3)
	if _, err := hqdb.Exec("INSERT INTO hq_roots (version, body, installed_at) VALUES (3, ?, ?)", strings.TrimSpace(string(forged)), sqlite.Time(time.Now())); err != nil {
		t.Fatal(err)
	}
	s.reloadHQ()
	out, err = s.sync()
	if err == nil || !strings.Contains(out, "not signed by enough of the root keys of version 2") {
		t.Fatalf("a forged version 3: %v\n%s", err, out)
	}
	if page := s.syncPage(); !strings.Contains(page, "version 2: HQ") || !strings.Contains(page, newFP) {
		t.Fatalf("the mission's trust moved:\n%s", page)
	}

	// HQ's old keys brought back (a backup from before the rotation, or
	// keys stolen then): refused too, as a rollback.
	if _, err := hqdb.Exec("DELETE FROM hq_roots WHERE version > 1"); err != nil {
		t.Fatal(err)
	}
	setSigningSeed(t, hqdb, "?", oldKey)
	s.restartHQ()
	out, err = s.sync()
	if err == nil || !strings.Contains(out, "not certified by HQ's root of trust (version 2)") {
		t.Fatalf("HQ's keys from before the rotation: %v\n%s", err, out)
	}

	// The genuine HQ again: the mission syncs, and nothing was lost.
	if _, err := hqdb.Exec("INSERT INTO hq_roots (version, body, installed_at) SELECT 2, ?, ?", strings.TrimSpace(readFile(t, root2)), sqlite.Time(time.Now())); err != nil {
		t.Fatal(err)
	}
	setSigningSeed(t, hqdb, "?", genuineKey)
	s.restartHQ()
	if out, err := s.sync(); err != nil {
		t.Fatalf("sync with the genuine HQ: %v\n%s", err, out)
	}
	if held, through, _ := s.atHQ(); held != 4 || through != 4 {
		t.Fatalf("HQ holds %d, through %d", held, through)
	}
}

func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// signingSeed is HQ's signing key as the database keeps it (sealed).
func signingSeed(t *testing.T, db *sql.DB) string {
	t.Helper()
	var v string
	if err := db.QueryRow("SELECT value FROM meta WHERE key = 'hq_signing_seed'").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// setSigningSeed puts another signing key in HQ's use behind its root's
// back, as someone holding the server's database and key file could.
func setSigningSeed(t *testing.T, db *sql.DB, expr string, args ...any) {
	t.Helper()
	if _, err := db.Exec("UPDATE meta SET value = "+expr+" WHERE key = 'hq_signing_seed'", args...); err != nil {
		t.Fatal(err)
	}
}
