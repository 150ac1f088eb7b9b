package store_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"chancery/agent/store"
	"chancery/shared/readiness"
)

// The crash test runs this test binary again as a writer (see TestMain),
// kills it with SIGKILL at a random moment, and checks what is on disk.
const writerEnv = "CHANCERY_TEST_CRASH_WRITER"

func TestMain(m *testing.M) {
	if path := os.Getenv(writerEnv); path != "" {
		crashWriter(path)
		return
	}
	os.Exit(m.Run())
}

// crashWriter saves answers as fast as it can and prints each one's
// number once its transaction has committed.
func crashWriter(path string) {
	ctx := context.Background()
	db, err := store.Open(ctx, path)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	f, err := db.Framework(ctx)
	if err != nil {
		fmt.Println("framework:", err)
		os.Exit(1)
	}
	items := f.Items
	start, _ := strconv.Atoi(os.Getenv(writerEnv + "_START"))
	for i := start; ; i++ {
		a := readiness.Answer{ItemID: items[i%len(items)].ID, Level: readiness.Level(i % 5), Evidence: "write " + strconv.Itoa(i)}
		if _, err := db.SaveAnswer(ctx, staff, a); err != nil {
			fmt.Println("save:", err)
			os.Exit(1)
		}
		fmt.Printf("committed %d\n", i)
	}
}

func TestKillNineLosesNoCommittedRow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.db")
	committed := map[int]bool{}
	next := 1
	for round := range 6 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), writerEnv+"="+path, writerEnv+"_START="+strconv.Itoa(next))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 10 + rand.IntN(60)
		sc := bufio.NewScanner(out)
		seen := 0
		for sc.Scan() {
			line := sc.Text()
			n, ok := strings.CutPrefix(line, "committed ")
			if !ok {
				t.Fatalf("round %d: writer said %q", round, line)
			}
			i, _ := strconv.Atoi(n)
			committed[i] = true
			next = i + 1
			if seen++; seen == killAfter {
				cmd.Process.Signal(syscall.SIGKILL)
			}
		}
		cmd.Wait()
		if seen < killAfter {
			t.Fatalf("round %d: writer stopped by itself after %d writes", round, seen)
		}
	}

	// What was reported committed must be there, the log must have no gap,
	// and the answers must be exactly what the log says.
	ctx := context.Background()
	db, err := store.Open(ctx, path) // runs quick_check
	if err != nil {
		t.Fatalf("database after kill -9: %v", err)
	}
	defer db.Close()
	changes, err := db.Changes(ctx, 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	inLog := map[int]bool{}
	latest := map[string]readiness.Answer{}
	for i, c := range changes {
		if c.Seq != int64(i+1) {
			t.Fatalf("gap in the change log at %d (seq %d)", i+1, c.Seq)
		}
		var a readiness.Answer
		if err := json.Unmarshal(c.Body, &a); err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(strings.TrimPrefix(a.Evidence, "write "))
		inLog[n] = true
		latest[a.ItemID] = a
	}
	for i := range committed {
		if !inLog[i] {
			t.Errorf("write %d was committed but is not in the change log", i)
		}
	}
	answers, err := db.Answers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for id, a := range latest {
		if answers[id].Evidence != a.Evidence || answers[id].Level != a.Level {
			t.Errorf("item %s: table says %q, log says %q: a record and its change must commit together", id, answers[id].Evidence, a.Evidence)
		}
	}
	t.Logf("%d writes committed across 6 kills; %d changes on disk", len(committed), len(changes))
}
