package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chancery/hq/store"
	"chancery/shared/account"
)

// NoteAudit: a chain that grows is taken; a replay of an older pouch, or
// an older pouch of the same second, changes nothing; fewer entries, or
// another hash at the entry HQ held, is a rewritten history, found once
// and kept.
func TestNoteAudit(t *testing.T) {
	ctx := context.Background()
	d, err := store.Open(ctx, filepath.Join(t.TempDir(), "hq.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.AddMission(ctx, account.System, store.Mission{Code: "FR-PAR", Name: "Paris"}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	note := func(at time.Time, m store.AuditMark) store.AuditState {
		t.Helper()
		if _, err := d.NoteAudit(ctx, "FR-PAR", at, m); err != nil {
			t.Fatal(err)
		}
		s, err := d.AuditOf(ctx, "FR-PAR")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := note(t0, store.AuditMark{Entries: 5, Head: "h5"}); s.Entries != 5 || s.Problem != "" {
		t.Fatalf("first mark: %+v", s)
	}
	if s := note(t0.Add(time.Minute), store.AuditMark{Entries: 8, Head: "h8", At: 5, AtHash: "h5"}); s.Entries != 8 || s.Problem != "" {
		t.Fatalf("the chain grew: %+v", s)
	}
	if s := note(t0, store.AuditMark{Entries: 5, Head: "h5"}); s.Entries != 8 || s.Problem != "" {
		t.Fatalf("a replay of the first pouch: %+v", s)
	}
	if s := note(t0.Add(time.Minute), store.AuditMark{Entries: 7, Head: "h7", At: 5, AtHash: "h5"}); s.Entries != 8 || s.Problem != "" {
		t.Fatalf("an older pouch of the same second: %+v", s)
	}
	s := note(t0.Add(2*time.Minute), store.AuditMark{Entries: 9, Head: "x9", At: 8, AtHash: "x8"})
	if !strings.Contains(s.Problem, "up to entry 8 is not the one HQ saw") {
		t.Fatalf("another hash at entry 8: %+v", s)
	}
	if s := note(t0.Add(3*time.Minute), store.AuditMark{Entries: 2, Head: "y2"}); !strings.Contains(s.Problem, "up to entry 8") {
		t.Fatalf("the first finding is kept: %+v", s)
	}
	var n int
	d.SQL().QueryRowContext(ctx, "SELECT count(*) FROM audit WHERE action = 'mission-audit-rewritten' AND target = 'FR-PAR'").Scan(&n)
	if n != 1 {
		t.Fatalf("%d audit entries for the finding", n)
	}
}
