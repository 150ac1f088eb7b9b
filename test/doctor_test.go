package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/agent/store"
	hqstore "chancery/hq/store"
	"chancery/shared/account"
	"chancery/shared/protocol"
)

// doctor runs a program's doctor with env added; it returns the output
// and whether it found a problem (exit status 1).
func doctor(t *testing.T, program, dir string, env ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, program), "doctor", "--data", dir)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("%s doctor: %v\n%s", program, err, out)
	}
	return string(out), err != nil
}

func wants(t *testing.T, what, out string, found bool, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(out, l) {
			t.Fatalf("%s: the doctor does not say %q:\n%s", what, l, out)
		}
	}
	if found != strings.Contains(out, "PROBLEM") {
		t.Fatalf("%s: problems found %v:\n%s", what, found, out)
	}
}

// backupNow takes a backup where the doctor looks for scheduled ones,
// dated age ago.
func backupNow(t *testing.T, program, dir, prefix string, old time.Duration) {
	t.Helper()
	id := recipient(t)
	when := time.Now().Add(-old)
	out := filepath.Join(dir, "backups", prefix+"-"+when.UTC().Format("20060102T150405Z")+".age")
	os.MkdirAll(filepath.Dir(out), 0o700)
	run(t, program, "backup", "--data", dir, "--out", out, "--recipient", id)
	os.Chtimes(out, when, when)
}

// recipient makes an age key and returns its public half.
func recipient(t *testing.T) string {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id.Recipient().String()
}

// TestAgentDoctor: the agent's doctor finds each problem it knows, and
// says what to do: no enrollment, no backup or an old one, HQ not
// answering, a clock off HQ's, keys HQ
// revoked, a key file that is not the database's, an expired release,
// and a damaged database; and nothing on a sound mission. HQ's
// certificate not trusted is in TestTLS, a full disk in
// TestDoctorSeesAFullDisk.
func TestAgentDoctor(t *testing.T) {
	fresh := t.TempDir()
	out, found := doctor(t, "chancery-agent", fresh)
	wants(t, "no database", out, found, "PROBLEM  database", "is --data (CHANCERY_AGENT_DATA) the program's data folder?")
	a := startAgent(t, fresh)
	a.stop(t)
	out, found = doctor(t, "chancery-agent", fresh)
	wants(t, "not enrolled", out, found, "PROBLEM  enrollment", "chancery-agent enroll")

	s := newSite(t)
	s.work(1, 40)
	if out, err := s.sync(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	out, found = doctor(t, "chancery-agent", s.agentDir)
	wants(t, "no backup", out, found, "PROBLEM  backup", "set backup-schedule")
	backupNow(t, "chancery-agent", s.agentDir, "agent", 3*24*time.Hour)
	out, found = doctor(t, "chancery-agent", s.agentDir)
	wants(t, "an old backup", out, found, "PROBLEM  backup", "is 3 days old")
	backupNow(t, "chancery-agent", s.agentDir, "agent", time.Minute)
	out, found = doctor(t, "chancery-agent", s.agentDir)
	wants(t, "a sound mission", out, found, "ok       hq", "ok       clock", "ok       keys", "ok       database", "ok       backup", "Nothing wrong found.")

	out, found = doctor(t, "chancery-agent", s.agentDir, "CHANCERY_CLOCK_SKEW=2h")
	wants(t, "a clock ahead", out, found, "PROBLEM  clock", "2h0m0s ahead of HQ's", "network time")

	// The card HQ issued is not for the key the agent signs with.
	other := t.TempDir()
	run(t, "chancery-hq", "mission", "add", "--data", s.hqDir, "--code", "DE-BER", "--name", "Berlin")
	code := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", s.hqDir, "--code", "DE-BER"))
	run(t, "chancery-agent", "enroll", "--data", other, "--hq", s.px.URL(), "--code", code, "--mission", "DE-BER")
	theirs := linkOf(t, other).Card
	ours := linkOf(t, s.agentDir).Card
	setCard(t, s.agentDir, theirs)
	out, found = doctor(t, "chancery-agent", s.agentDir)
	wants(t, "a card for another key", out, found, "PROBLEM  keys", "HQ pinned key", "for DE-BER", "keys rotate")
	setCard(t, s.agentDir, ours)

	s.px.down.Store(true)
	out, found = doctor(t, "chancery-agent", s.agentDir)
	wants(t, "HQ down", out, found, "PROBLEM  hq", "does not answer")
	s.px.down.Store(false)

	// HQ publishes; then the mission hears nothing for three weeks.
	hqdb, err := hqstore.Open(context.Background(), filepath.Join(s.hqDir, "hq.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hqdb.Publish(context.Background(), account.System, protocol.Document{ID: "ai-use", Title: "Rules for using AI tools", Category: "AI readiness", Body: "# Rules\n\nNone.\n"}, "all"); err != nil {
		t.Fatal(err)
	}
	hqdb.Close()
	if out, err := s.sync(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	out, found = doctor(t, "chancery-agent", s.agentDir, "CHANCERY_CLOCK_SKEW=500h")
	wants(t, "an expired release", out, found, "PROBLEM  updates", "expired on")

	// HQ revokes the mission's keys.
	run(t, "chancery-hq", "mission", "rekey", "--data", s.hqDir, "--code", "FR-PAR")
	s.sync()
	out, found = doctor(t, "chancery-agent", s.agentDir)
	wants(t, "revoked keys", out, found, "PROBLEM  keys", "re-enrollment code")

	// The key file is another one.
	kf := filepath.Join(s.agentDir, "keys.key")
	keep, _ := os.ReadFile(kf)
	os.WriteFile(kf, []byte(strings.Repeat("A", len(keep))), 0o600)
	out, found = doctor(t, "chancery-agent", s.agentDir)
	wants(t, "another key file", out, found, "PROBLEM  database", "key file")
	os.WriteFile(kf, keep, 0o600)

	// The database is damaged.
	db := filepath.Join(s.agentDir, "agent.db")
	b, _ := os.ReadFile(db)
	for i := 4096 * 2; i < len(b) && i < 4096*6; i++ {
		b[i] = 0x55
	}
	os.WriteFile(db, b, 0o600)
	out, found = doctor(t, "chancery-agent", s.agentDir)
	wants(t, "a damaged database", out, found, "PROBLEM  database", "restore the last backup")
}

// TestDoctorSeesAFullDisk: on a disk with less than 64 MB free, both
// doctors say so. The disk is a small tmpfs.
func TestDoctorSeesAFullDisk(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=40m", "chancery-test", mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs (the test runs as root, as CI does): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	for _, p := range []string{"chancery-agent", "chancery-hq"} {
		dir := filepath.Join(mnt, p)
		os.MkdirAll(dir, 0o700)
		a := start(t, p, dir)
		a.stop(t)
		out, found := doctor(t, p, dir)
		wants(t, p+" on a full disk", out, found, "PROBLEM  disk", "MB free on the disk of")
	}
}

// TestHQDoctor: HQ's doctor finds no root of trust, no escrow key, no
// backup, a certificate about to expire and a damaged database; and
// nothing on a sound HQ.
func TestHQDoctor(t *testing.T) {
	dir := t.TempDir()
	out, found := doctor(t, "chancery-hq", dir)
	wants(t, "no database", out, found, "PROBLEM  database", "is --data (CHANCERY_HQ_DATA) the program's data folder?")
	hq := startHQ(t, dir)
	hq.stop(t)
	out, found = doctor(t, "chancery-hq", dir)
	wants(t, "a new HQ", out, found, "PROBLEM  keys", "no root of trust", "PROBLEM  escrow", "PROBLEM  backup")

	usb := t.TempDir()
	run(t, "chancery-hq", "root", "keygen", "--out", filepath.Join(usb, "a.key"))
	run(t, "chancery-hq", "root", "online", "--data", dir, "--out", filepath.Join(usb, "online.json"))
	run(t, "chancery-hq", "root", "sign", "--out", filepath.Join(usb, "root-1.json"), "--online", filepath.Join(usb, "online.json"), "--key", filepath.Join(usb, "a.key"))
	run(t, "chancery-hq", "root", "install", "--data", dir, filepath.Join(usb, "root-1.json"))
	escrow := recipient(t)
	out, found = doctor(t, "chancery-hq", dir, "CHANCERY_HQ_ESCROW_RECIPIENT="+escrow)
	wants(t, "with root and escrow", out, found, "ok       keys", "certified by root version 1", "ok       escrow", "PROBLEM  backup")
	backupNow(t, "chancery-hq", dir, "hq", time.Hour)
	out, found = doctor(t, "chancery-hq", dir)
	wants(t, "a sound HQ", out, found, "ok       backup", "Nothing wrong found.")

	ca := newTestCA(t)
	cert, key := ca.issue(t, t.TempDir(), 3) // good for a day
	out, found = doctor(t, "chancery-hq", dir, "CHANCERY_HQ_TLS_CERT="+cert, "CHANCERY_HQ_TLS_KEY="+key)
	wants(t, "a certificate about to expire", out, found, "PROBLEM  tls", "renew it")

	db := filepath.Join(dir, "hq.db")
	b, _ := os.ReadFile(db)
	for i := 4096 * 3; i < len(b) && i < 4096*8; i++ {
		b[i] = 0x55
	}
	os.WriteFile(db, b, 0o600)
	out, found = doctor(t, "chancery-hq", dir)
	wants(t, "a damaged database", out, found, "PROBLEM  database", "restore the last backup")
}

func linkOf(t *testing.T, dir string) store.Link {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dir, "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := db.Link(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func setCard(t *testing.T, dir, card string) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dir, "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.UpdateLink(context.Background(), func(l *store.Link) error { l.Card = card; return nil }); err != nil {
		t.Fatal(err)
	}
}
