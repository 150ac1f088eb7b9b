package test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"filippo.io/age"

	hqstore "chancery/hq/store"
	"chancery/shared/account"
	"chancery/shared/protocol"
	"chancery/shared/sqlite"
	"chancery/sync/exchange"
)

// TestEnrollByFile: a mission with no link at all enrolls, sends its
// changes and takes HQ's receipt, all by file.
func TestEnrollByFile(t *testing.T) {
	hqDir, agentDir, usb := t.TempDir(), t.TempDir(), t.TempDir()
	startHQ(t, hqDir)
	run(t, "chancery-hq", "mission", "add", "--data", hqDir, "--code", "TD-NDJ", "--name", "Embassy in N'Djamena")
	code := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", hqDir, "--code", "TD-NDJ"))

	run(t, "chancery-agent", "enroll", "--data", agentDir, "--code", code, "--mission", "TD-NDJ", "--request-out", usb)
	out := run(t, "chancery-hq", "mission", "enroll", "--data", hqDir, "--request", filepath.Join(usb, "enroll-request-TD-NDJ.json"), "--out", usb)
	if !strings.Contains(out, "Enrolled TD-NDJ") {
		t.Fatal(out)
	}
	answer := filepath.Join(usb, "enroll-answer-TD-NDJ.json")
	// An answer checked against the wrong code is refused.
	if out, err := runErr("chancery-agent", "enroll", "--data", agentDir, "--code", "AAAA-AAAA-AAAA-AAAA", "--response", answer); err == nil || !strings.Contains(out, "not authenticated by this code") {
		t.Fatalf("wrong code: %v %s", err, out)
	}
	out = run(t, "chancery-agent", "enroll", "--data", agentDir, "--code", code, "--response", answer)
	if !strings.Contains(out, "Enrolled as TD-NDJ") {
		t.Fatal(out)
	}
	a := startAgent(t, agentDir)
	c := login(t, a.URL, "admin", a.Password)
	form(t, c, a.URL+"/areas/ai", a.URL+"/answers/AI-01", url.Values{"level": {"2"}, "evidence": {"AI rules 2026"}})
	if page := get(t, c, a.URL+"/sync"); !strings.Contains(page, "TD-NDJ") {
		t.Fatal("the sync page does not show the enrollment")
	}
	a.stop(t)
	if out, err := runErr("chancery-agent", "sync", "--data", agentDir); err == nil || !strings.Contains(out, "pouch export") {
		t.Fatalf("sync of a mission enrolled by file: %v %s", err, out)
	}
	run(t, "chancery-agent", "pouch", "export", "--data", agentDir, "--out", usb)
	files, _ := filepath.Glob(filepath.Join(usb, "TD-NDJ-1-1-*.pouch"))
	if len(files) != 1 {
		t.Fatalf("exported: %v", files)
	}
	// HQ has meanwhile published a new version of a protocol: it travels
	// back in the reply file, checked like any release.
	hqdb, err := hqstore.Open(context.Background(), filepath.Join(hqDir, "hq.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hqdb.Publish(context.Background(), account.System, protocol.Document{ID: "ai-use", Title: "Rules for using AI tools", Category: "AI readiness", Body: "# Rules\n\nNo AI note-takers in meetings.\n"}, "all"); err != nil {
		t.Fatal(err)
	}
	hqdb.Close()
	run(t, "chancery-hq", "pouch", "import", "--data", hqDir, files[0])
	out = run(t, "chancery-agent", "pouch", "import", "--data", agentDir, filepath.Join(usb, "reply-"+filepath.Base(files[0])))
	if !strings.Contains(out, "HQ holds every change up to 1") {
		t.Fatal(out)
	}
	pw := a.Password
	a = startAgent(t, agentDir)
	c = login(t, a.URL, "admin", pw)
	if page := get(t, c, a.URL+"/protocols/ai-use"); !strings.Contains(page, "No AI note-takers in meetings") || !strings.Contains(page, "Version 2") {
		t.Fatal("the protocol published at HQ did not arrive by file")
	}
}

// TestKeyRotation: the mission rotates its own keys; a pouch signed with
// the old key is refused afterwards; HQ revokes the keys and the mission
// enrolls again with new ones; nothing is lost or doubled on the way.
func TestKeyRotation(t *testing.T) {
	s := newSite(t)
	s.work(3, 20)
	if out, err := s.sync(); err != nil {
		t.Fatal(out)
	}
	// A pouch sealed with the old key, kept back, as a relay might.
	s.work(2, 20)
	usb := t.TempDir()
	run(t, "chancery-agent", "pouch", "export", "--data", s.agentDir, "--out", usb)
	old, _ := filepath.Glob(filepath.Join(usb, "FR-PAR-4-5-*.pouch"))
	if len(old) != 1 {
		t.Fatalf("export before rotation: %v", old)
	}

	out := run(t, "chancery-agent", "keys", "rotate", "--data", s.agentDir)
	if !strings.Contains(out, "confirmed by HQ; they are in use") {
		t.Fatalf("rotate: %s", out)
	}
	if out, err := runErr("chancery-hq", "pouch", "import", "--data", s.hqDir, old[0]); err == nil || !strings.Contains(out, "replaced by a rotation") {
		t.Fatalf("old-key pouch after rotation: %v\n%s", err, out)
	}
	if out, err := s.sync(); err != nil || !strings.Contains(out, "HQ holds every change up to 5; 0 pending") {
		t.Fatalf("sync with the new keys: %v\n%s", err, out)
	}

	// HQ suspects the keys: it revokes them and issues a new code.
	out = run(t, "chancery-hq", "mission", "rekey", "--data", s.hqDir, "--code", "FR-PAR")
	code := codeRE.FindString(out)
	s.work(1, 20)
	if out, err := s.sync(); err == nil || !strings.Contains(out, "revoked key") {
		t.Fatalf("sync after HQ revoked the keys: %v\n%s", err, out)
	}
	run(t, "chancery-agent", "enroll", "--data", s.agentDir, "--hq", s.px.URL(), "--code", code, "--mission", "FR-PAR")
	if out, err := s.sync(); err != nil || !strings.Contains(out, "HQ holds every change up to 6; 0 pending") {
		t.Fatalf("sync after enrolling again: %v\n%s", err, out)
	}
	held, through, _ := s.atHQ()
	if held != 6 || through != 6 {
		t.Fatalf("HQ holds %d changes applied to %d; want 6", held, through)
	}
}

// TestEscrowOpensPouches: with an escrow recipient configured at HQ, a
// mission's pouches open with the escrow identity too, using the upstream
// age tool, so a ministry that loses HQ's key keeps its data.
func TestEscrowOpensPouches(t *testing.T) {
	dir := t.TempDir()
	ageBin := filepath.Join(dir, "age")
	build := exec.Command("go", "build", "-o", ageBin, "filippo.io/age/cmd/age")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build age: %v\n%s", err, out)
	}
	keygen := exec.Command("go", "build", "-o", filepath.Join(dir, "age-keygen"), "filippo.io/age/cmd/age-keygen")
	if out, err := keygen.CombinedOutput(); err != nil {
		t.Fatalf("build age-keygen: %v\n%s", err, out)
	}
	idFile := filepath.Join(dir, "escrow.txt")
	out, err := exec.Command(filepath.Join(dir, "age-keygen"), "-o", idFile).CombinedOutput()
	if err != nil {
		t.Fatalf("age-keygen: %v %s", err, out)
	}
	recipient := regexp.MustCompile(`age1[0-9a-z]+`).FindString(string(out))

	hqDir, agentDir, usb := t.TempDir(), t.TempDir(), t.TempDir()
	if out, err := runErr("chancery-hq", "serve", "--data", hqDir, "--escrow-recipient", "age1nonsense"); err == nil || !strings.Contains(out, "is not an age public key") {
		t.Fatalf("bad escrow recipient: %v %s", err, out)
	}
	hq := startHQ(t, hqDir, "--escrow-recipient", recipient)
	run(t, "chancery-hq", "mission", "add", "--data", hqDir, "--code", "FR-PAR", "--name", "Paris")
	code := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", hqDir, "--code", "FR-PAR"))
	run(t, "chancery-agent", "enroll", "--data", agentDir, "--hq", hq.URL, "--code", code, "--mission", "FR-PAR")
	run(t, "chancery-agent", "pouch", "export", "--data", agentDir, "--out", usb)
	files, _ := filepath.Glob(filepath.Join(usb, "*.pouch"))
	plain, err := exec.Command(ageBin, "-d", "-i", idFile, files[0]).Output()
	if err != nil || !strings.HasPrefix(string(plain), "CHANCERY-POUCH/2\n") {
		t.Fatalf("escrow could not open the pouch: %v", err)
	}
	// HQ still takes the pouch: it is one of the recipients.
	if out := run(t, "chancery-hq", "pouch", "import", "--data", hqDir, files[0]); !strings.Contains(out, "1 taken in") {
		t.Fatal(out)
	}
}

// TestAuditVerify: "audit verify" at the mission and at HQ says the log
// is intact, and names the entry someone removed, even with the
// append-only triggers dropped.
func TestAuditVerify(t *testing.T) {
	agentDir, hqDir := t.TempDir(), t.TempDir()
	run(t, "chancery-agent", "user", "add", "--data", agentDir, "--username", "lena", "--role", "staff")
	run(t, "chancery-agent", "user", "add", "--data", agentDir, "--username", "omar", "--role", "staff")
	run(t, "chancery-hq", "mission", "add", "--data", hqDir, "--code", "FR-PAR", "--name", "Paris")
	run(t, "chancery-hq", "mission", "code", "--data", hqDir, "--code", "FR-PAR")
	for _, c := range []struct{ bin, db string }{{"chancery-agent", filepath.Join(agentDir, "agent.db")}, {"chancery-hq", filepath.Join(hqDir, "hq.db")}} {
		if out := run(t, c.bin, "audit", "verify", "--data", filepath.Dir(c.db)); !strings.Contains(out, "intact") {
			t.Fatalf("%s audit verify on an untouched log: %s", c.bin, out)
		}
		db, err := sql.Open("sqlite", sqlite.DSN(c.db))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"DROP TRIGGER audit_append_only_delete", "DELETE FROM audit WHERE id = (SELECT min(id) FROM audit)"} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()
		out, err := runErr(c.bin, "audit", "verify", "--data", filepath.Dir(c.db))
		if err == nil || !strings.Contains(out, "tampered") {
			t.Fatalf("%s audit verify after an entry was removed: %v\n%s", c.bin, err, out)
		}
	}
}

// TestRestoreWithoutLoss: a mission backs up, works and syncs, is restored
// from the backup, works again and syncs: HQ holds the change made after
// the restore, though its number was one HQ already held.
func TestRestoreWithoutLoss(t *testing.T) {
	s := newSite(t)
	s.work(2, 40)
	if out, err := s.sync(); err != nil {
		t.Fatalf("first sync: %v\n%s", err, out)
	}
	id, _ := age.GenerateX25519Identity()
	keyFile := filepath.Join(t.TempDir(), "backup-key.txt")
	os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600)
	backupFile := filepath.Join(t.TempDir(), "agent.age")
	run(t, "chancery-agent", "backup", "--data", s.agentDir, "--out", backupFile, "--recipient", id.Recipient().String())
	s.work(2, 40)
	if out, err := s.sync(); err != nil || !strings.Contains(out, "up to 4; 0 pending") {
		t.Fatalf("sync after the backup: %v\n%s", err, out)
	}
	out := run(t, "chancery-agent", "restore", "--data", s.agentDir, "--from", backupFile, "--identity", keyFile)
	if !strings.Contains(out, "Restored") {
		t.Fatal(out)
	}
	s.work(1, 40) // numbered 3 at the mission: HQ holds a change 3 already
	out, err := s.sync()
	if err != nil || !strings.Contains(out, "up to 5; 0 pending") {
		t.Fatalf("sync after the restore: %v\n%s", err, out)
	}
	if held, through, _ := s.atHQ(); held != 5 || through != 5 {
		t.Fatalf("HQ holds %d changes, applied up to %d; want the change made after the restore as the fifth", held, through)
	}
	// A second restore of a damaged file replaces nothing.
	os.WriteFile(backupFile, []byte("not a backup"), 0o600)
	if out, err := runErr("chancery-agent", "restore", "--data", s.agentDir, "--from", backupFile, "--identity", keyFile); err == nil {
		t.Fatalf("a damaged backup was restored:\n%s", out)
	}
	if out, err := s.sync(); err != nil || !strings.Contains(out, "up to 5; 0 pending") {
		t.Fatalf("after a refused restore: %v\n%s", err, out)
	}
}

// TestEscrowDrill: HQ is given an escrow key after a mission enrolled. The
// key is kept with HQ (it holds without the flag after a restart), the
// mission learns it from its next receipt, a mission enrolled by file
// gets it in HQ's answer, and a pouch the mission writes afterwards opens
// with the escrow key alone.
func TestEscrowDrill(t *testing.T) {
	s := newSite(t)
	s.work(1, 40)
	if out, err := s.sync(); err != nil {
		t.Fatalf("sync: %v\n%s", err, out)
	}
	escrow, _ := age.GenerateX25519Identity()
	s.restartHQ("CHANCERY_HQ_ESCROW_RECIPIENT=" + escrow.Recipient().String())
	s.restartHQ() // kept with HQ: no flag needed any more
	if out, err := s.sync(); err != nil {
		t.Fatalf("sync after the escrow key was set: %v\n%s", err, out)
	}
	s.work(1, 40)
	usb := t.TempDir()
	run(t, "chancery-agent", "pouch", "export", "--data", s.agentDir, "--out", usb)
	files, _ := filepath.Glob(filepath.Join(usb, "FR-PAR-*.pouch"))
	if len(files) != 1 {
		t.Fatalf("exported: %v", files)
	}
	raw, _ := os.ReadFile(files[0])
	r, err := age.Decrypt(bytes.NewReader(raw), escrow)
	if err != nil {
		t.Fatalf("the mission's pouch does not open with the escrow key: %v", err)
	}
	plain, _ := io.ReadAll(r)
	if !bytes.HasPrefix(plain, []byte("CHANCERY-POUCH/2")) {
		t.Fatal("the escrow key opened something that is not a pouch")
	}
	// A mission enrolled by file learns the escrow key from HQ's answer.
	run(t, "chancery-hq", "mission", "add", "--data", s.hqDir, "--code", "TD-NDJ", "--name", "N'Djamena")
	code := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", s.hqDir, "--code", "TD-NDJ"))
	other := t.TempDir()
	run(t, "chancery-agent", "enroll", "--data", other, "--code", code, "--mission", "TD-NDJ", "--request-out", usb)
	run(t, "chancery-hq", "mission", "enroll", "--data", s.hqDir, "--request", filepath.Join(usb, "enroll-request-TD-NDJ.json"), "--out", usb)
	answer, _ := os.ReadFile(filepath.Join(usb, "enroll-answer-TD-NDJ.json"))
	if !bytes.Contains(answer, []byte(escrow.Recipient().String())) {
		t.Fatalf("the answer to an enrollment by file lacks the escrow key:\n%s", answer)
	}

	// HQ is lost, with its backup keys: its backup opens with the escrow
	// key alone, and the HQ brought back from it reads the mission's
	// pouch.
	bk := filepath.Join(t.TempDir(), "hq.age")
	if out := run(t, "chancery-hq", "backup", "--data", s.hqDir, "--out", bk, "--with-keys"); !strings.Contains(out, "the escrow key kept with HQ among them") {
		t.Fatal(out)
	}
	escrowFile := filepath.Join(t.TempDir(), "escrow.key")
	os.WriteFile(escrowFile, []byte(escrow.String()+"\n"), 0o600)
	fresh := t.TempDir()
	run(t, "chancery-hq", "restore", "--data", fresh, "--from", bk, "--keys", bk+".keys", "--identity", escrowFile)
	if out := run(t, "chancery-hq", "pouch", "import", "--data", fresh, "--replies", usb, files[0]); !strings.Contains(out, "FR-PAR") {
		t.Fatalf("the HQ restored by escrow does not take the mission's pouch: %s", out)
	}
}

// TestHQBackupHoldsNoUsableKey: HQ's backup opens with the backup key,
// and is a sound database; but HQ's private keys in it open only with
// HQ's key file, which goes with it only when asked for.
func TestHQBackupHoldsNoUsableKey(t *testing.T) {
	hqDir := t.TempDir()
	hq := startHQ(t, hqDir)
	run(t, "chancery-hq", "mission", "add", "--data", hqDir, "--code", "FR-PAR", "--name", "Paris")
	bk, _ := age.GenerateX25519Identity()
	out := filepath.Join(t.TempDir(), "hq.age")
	if o := run(t, "chancery-hq", "backup", "--data", hqDir, "--out", out, "--recipient", bk.Recipient().String()); !strings.Contains(o, "holds no usable private key") {
		t.Fatal(o)
	}
	open := func(file string) []byte {
		t.Helper()
		raw, _ := os.ReadFile(file)
		r, err := age.Decrypt(bytes.NewReader(raw), bk)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		return b
	}
	restored := filepath.Join(t.TempDir(), "hq.db")
	os.WriteFile(restored, open(out), 0o600)
	if _, err := hqstore.Open(context.Background(), restored); err == nil || !strings.Contains(err.Error(), "key file") {
		t.Fatalf("HQ's backup opened without the key file: %v", err)
	}
	out2 := filepath.Join(t.TempDir(), "hq-with-keys.age")
	run(t, "chancery-hq", "backup", "--data", hqDir, "--out", out2, "--recipient", bk.Recipient().String(), "--with-keys")
	os.WriteFile(restored, open(out2), 0o600)
	os.WriteFile(hqstore.KeyFile(restored), open(out2+".keys"), 0o600)
	db, err := hqstore.Open(context.Background(), restored)
	if err != nil {
		t.Fatalf("HQ's backup with its key file: %v", err)
	}
	defer db.Close()
	if m, err := db.Mission(context.Background(), "FR-PAR"); err != nil || m.Name != "Paris" {
		t.Fatalf("the restored registry: %+v %v", m, err)
	}
	if !strings.Contains(hq.out.String(), exchange.Fingerprint(db.HQSigningPublic())) {
		t.Fatal("the restored HQ's signing key is not HQ's")
	}
	// chancery-hq restore, on a machine that lost both the database and
	// the key file, with the identity that opens the backups.
	hq.stop(t)
	keyFile := filepath.Join(t.TempDir(), "backup-key.txt")
	os.WriteFile(keyFile, []byte(bk.String()+"\n"), 0o600)
	fresh := t.TempDir()
	o := run(t, "chancery-hq", "restore", "--data", fresh, "--from", out2, "--keys", out2+".keys", "--identity", keyFile)
	if !strings.Contains(o, "Restored") || !strings.Contains(o, exchange.Fingerprint(db.HQSigningPublic())) {
		t.Fatalf("chancery-hq restore: %s", o)
	}
	if o := run(t, "chancery-hq", "audit", "verify", "--data", fresh); !strings.Contains(o, "intact") {
		t.Fatalf("the restored HQ's audit log: %s", o)
	}
}

// TestRewrittenHistorySeenAtHQ: someone at the mission removes the last
// audit entries from its database (the chain that is left still
// verifies there, as the start of a chain does) and more work follows,
// so that the log is as long as before. The mission's next pouch gives
// HQ the chain's hash, recomputed from the entries, at the entry HQ held:
// it differs, and HQ's page for the mission says the history was
// rewritten.
func TestRewrittenHistorySeenAtHQ(t *testing.T) {
	s := newSite(t)
	s.work(1, 40)
	if out, err := s.sync(); err != nil {
		t.Fatalf("first sync: %v\n%s", err, out)
	}
	c := login(t, s.hq.URL, "admin", s.hqPassword())
	page := get(t, c, s.hq.URL+"/missions/FR-PAR")
	if !strings.Contains(page, `id="audit-entries"`) || strings.Contains(page, `id="audit-problem"`) {
		t.Fatalf("HQ's page before any tampering:\n%s", page)
	}
	// The second sync takes HQ's receipt, which says how far HQ holds the
	// chain; only now is there an entry to compare.
	if out, err := s.sync(); err != nil {
		t.Fatalf("second sync: %v\n%s", err, out)
	}
	db, err := sql.Open("sqlite", sqlite.DSN(filepath.Join(s.agentDir, "agent.db")))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER audit_append_only_delete", "DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id DESC LIMIT 2)"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if out := run(t, "chancery-agent", "audit", "verify", "--data", s.agentDir); !strings.Contains(out, "intact") {
		t.Fatalf("the mission's own check: %s", out)
	}
	s.work(1, 40)
	s.work(1, 40)
	if out, err := s.sync(); err != nil {
		t.Fatalf("sync after the tampering: %v\n%s", err, out)
	}
	page = get(t, c, s.hq.URL+"/missions/FR-PAR")
	if !strings.Contains(page, `id="audit-problem"`) || !strings.Contains(page, "is not the one HQ saw") {
		t.Fatalf("HQ's page does not say the history was rewritten:\n%s", page)
	}
	if out := run(t, "chancery-hq", "audit", "verify", "--data", s.hqDir); !strings.Contains(out, "intact") {
		t.Fatalf("HQ's own log: %s", out)
	}
}
