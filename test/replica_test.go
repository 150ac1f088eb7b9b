package test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"chancery/shared/sqlite"
)

// litestream builds, once per run, the Litestream release that
// deploy/litestream pins, as make litestream does.
var litestream = sync.OnceValues(func() (string, error) {
	out := filepath.Join(bin, "litestream")
	build := exec.Command("go", "build", "-trimpath", "-o", out, "github.com/benbjohnson/litestream/cmd/litestream")
	build.Dir = filepath.Join("..", "deploy", "litestream")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build litestream: %v\n%s", err, b)
	}
	return out, nil
})

// replicating runs "litestream replicate" on HQ's database with the
// configuration deploy/litestream.yml ships, to a file replica.
func replicating(t *testing.T, hqDir, replica string) *exec.Cmd {
	t.Helper()
	ls, err := litestream()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ls, "replicate", "-config", filepath.Join("..", "deploy", "litestream.yml"))
	cmd.Env = append(os.Environ(), "CHANCERY_HQ_DB="+filepath.Join(hqDir, "hq.db"), "CHANCERY_HQ_REPLICA=file://"+replica)
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("litestream:\n%s", log)
		}
	})
	return cmd
}

// restoreReplica runs "litestream restore" of the replica into a new
// database file, as on a new machine.
func restoreReplica(replica, db string) error {
	ls, err := litestream()
	if err != nil {
		return err
	}
	if out, err := exec.Command(ls, "restore", "-o", db, "file://"+replica).CombinedOutput(); err != nil {
		return fmt.Errorf("litestream restore: %v\n%s", err, out)
	}
	return nil
}

// replicaHolds restores the replica aside and counts the changes of the
// mission it holds.
func replicaHolds(t *testing.T, replica, mission string) (int, error) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "hq.db")
	if err := restoreReplica(replica, db); err != nil {
		return 0, err
	}
	conn, err := sql.Open("sqlite", sqlite.DSN(db))
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n int
	err = conn.QueryRowContext(context.Background(), "SELECT count(*) FROM received WHERE mission = ?", mission).Scan(&n)
	return n, err
}

// TestHQReplicaRecovery: HQ's database is replicated by Litestream, with
// the configuration deploy/ ships, to a file replica. HQ's machine is
// lost just after it acknowledged changes the replica never got (the
// replication stopped first, as when the link to the replica breaks before
// the machine dies). The replica is restored on a new machine, with HQ's
// key file from where the ministry keeps it; the mission carries on at the
// same address, sends again what the lost machine had acknowledged, and
// HQ ends up holding every change, the later ones too.
func TestHQReplicaRecovery(t *testing.T) {
	s := newSite(t)
	replica := t.TempDir()
	ls := replicating(t, s.hqDir, replica)

	s.work(2, 40)
	if out, err := s.sync(); err != nil || !strings.Contains(out, "up to 2; 0 pending") {
		t.Fatalf("first sync: %v\n%s", err, out)
	}
	// Replication is continuous: the replica catches up by itself.
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := replicaHolds(t, replica, "FR-PAR")
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not take the first sync's changes within a minute: it holds %d (%v)", n, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	ls.Process.Kill() // the replication dies first
	ls.Wait()
	s.work(2, 40)
	if out, err := s.sync(); err != nil || !strings.Contains(out, "up to 4; 0 pending") {
		t.Fatalf("second sync: %v\n%s", err, out)
	}
	s.hq.cmd.Process.Kill() // then HQ's machine, at once
	s.hq.cmd.Wait()
	if n, err := replicaHolds(t, replica, "FR-PAR"); n != 2 {
		t.Fatalf("the replica holds %d changes (%v); this test needs it to lack the two HQ acknowledged last", n, err)
	}

	// A new machine: the replica and the key file, nothing else.
	password := s.hqPassword()
	fresh := t.TempDir()
	if err := restoreReplica(replica, filepath.Join(fresh, "hq.db")); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(s.hqDir, "keys.key"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(fresh, "keys.key"), key, 0o600)
	os.WriteFile(filepath.Join(fresh, "test-password"), []byte(password), 0o600)
	s.hqDir = fresh
	s.hq = startHQ(t, fresh)
	s.px.target.Store(strings.TrimPrefix(s.hq.URL, "http://"))
	if held, through, _ := s.atHQ(); held != 2 || through != 2 {
		t.Fatalf("the restored HQ holds %d changes, applied up to %d; want the replica's 2", held, through)
	}
	// The restored HQ replicates again, to a new replica.
	replicating(t, fresh, t.TempDir())

	s.work(1, 40) // the mission worked on meanwhile
	var out string
	for range 3 {
		if out, err = s.sync(); err == nil && strings.Contains(out, "up to 5; 0 pending") {
			break
		}
	}
	if !strings.Contains(out, "up to 5; 0 pending") {
		t.Fatalf("the mission did not carry on with the restored HQ: %v\n%s", err, out)
	}
	if held, through, _ := s.atHQ(); held != 5 || through != 5 {
		t.Fatalf("the restored HQ holds %d changes, applied up to %d; want all 5, the two the lost machine acknowledged among them", held, through)
	}
	if _, _, at := s.atHQ(); at != s.atMission() {
		t.Fatalf("HQ shows the mission's scores as %q; the mission's own are %q", at, s.atMission())
	}
}
