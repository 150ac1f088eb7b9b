package store_test

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"chancery/agent/store"
	"chancery/shared/account"
	"chancery/shared/framework"
	"chancery/shared/problem"
	"chancery/shared/readiness"
)

// MustOpen opens a fresh database in a temporary folder.
func MustOpen(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), filepath.Join(tb.TempDir(), "agent.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

var staff = account.Actor{Username: "amira", Remote: "192.0.2.10"}

func answer(item string, l readiness.Level, ev string) readiness.Answer {
	return readiness.Answer{ItemID: item, Level: l, Evidence: ev}
}

func TestMigrationsFromEmptyAndReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agent.db")
	db, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SaveAnswer(ctx, staff, answer("STR-01", 2, "strategy 2025")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A second open applies nothing twice and keeps the data.
	db, err = store.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	var n int
	files, _ := filepath.Glob("migrations/*.sql")
	accountFiles, _ := fs.Glob(account.Migrations, "*.sql")
	want := len(files) + len(accountFiles)
	if err := db.SQL().QueryRow("SELECT count(*) FROM migrations").Scan(&n); err != nil || n != want {
		t.Fatalf("migrations recorded = %d, %v; want %d, each once", n, err, want)
	}
	got, err := db.Answers(ctx)
	if err != nil || got["STR-01"].Evidence != "strategy 2025" {
		t.Fatalf("answers after reopen = %v, %v", got, err)
	}
}

func TestSaveAnswerLogsChangeAndAudit(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	for _, a := range []readiness.Answer{
		answer("STR-01", 2, "plan"),
		answer("STR-01", 3, "plan, applied"),
		answer("STR-01", 3, "plan, applied"), // unchanged: no new change
		{ItemID: "MIS-04", NA: true},
	} {
		if _, err := db.SaveAnswer(ctx, staff, a); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := db.Changes(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(ch) != 3 {
		t.Fatalf("got %d changes, want 3", len(ch))
	}
	for i, c := range ch {
		if c.Seq != int64(i+1) {
			t.Errorf("change %d has seq %d: the log must count 1, 2, 3", i, c.Seq)
		}
	}
	if ch[2].Key != "MIS-04" || !strings.Contains(string(ch[2].Body), `"na":true`) {
		t.Errorf("last change = %+v", ch[2])
	}
	entries, err := account.New(db.SQL()).AuditLog(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 3 || entries[0].Actor != "amira" || entries[0].Remote != "192.0.2.10" || entries[0].Action != "answer" {
		t.Fatalf("audit = %+v", entries)
	}
	// The log refuses edits.
	if _, err := db.SQL().Exec("UPDATE changes SET key = 'X' WHERE seq = 1"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Errorf("update of the change log: err = %v", err)
	}
	if _, err := db.SQL().Exec("DELETE FROM audit"); err == nil {
		t.Errorf("audit log could be deleted")
	}
}

func TestBadAnswersChangeNothing(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	if _, err := db.SaveAnswer(ctx, staff, answer("GOV-01", 1, "draft")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		a    readiness.Answer
		want string
	}{
		{"unknown item", answer("XYZ-99", 2, ""), `no checklist item “XYZ-99”`},
		{"level too high", answer("GOV-01", 5, ""), "Level 5 is not on the scale"},
		{"level negative", answer("GOV-01", -1, ""), "Level -1 is not on the scale"},
		{"oversized note", answer("GOV-01", 2, strings.Repeat("x", readiness.MaxEvidence+1)), "the limit is 4,000"},
		{"invalid text", answer("GOV-01", 2, "\xff\xfe"), "not valid text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := db.SaveAnswer(ctx, staff, tt.a)
			if problem.CodeOf(err) != problem.Invalid || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want invalid %q", err, tt.want)
			}
			got, _ := db.Answers(ctx)
			if len(got) != 1 || got["GOV-01"].Level != 1 || got["GOV-01"].Evidence != "draft" {
				t.Fatalf("answers changed: %+v", got)
			}
			if n, _ := db.LastSeq(ctx); n != 1 {
				t.Fatalf("change log grew to %d", n)
			}
		})
	}
}

func TestSignOffFreezes(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	if _, err := db.SignOff(ctx, staff, ""); problem.CodeOf(err) != problem.Conflict {
		t.Fatalf("sign-off of an empty assessment: %v", err)
	}
	db.SaveAnswer(ctx, staff, answer("NAR-02", 2, "pathway v1"))
	s, err := db.SignOff(ctx, account.Actor{Username: "hom"}, "first review")
	if err != nil {
		t.Fatal(err)
	}
	db.SaveAnswer(ctx, staff, answer("NAR-02", 4, "pathway v2, exercised"))

	got, err := db.Snapshot(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Answers) != 1 || got.Answers[0].Level != 2 || got.Note != "first review" || got.SignedBy != "hom" {
		t.Fatalf("snapshot changed after sign-off: %+v", got)
	}
	if _, err := db.SQL().Exec("UPDATE snapshots SET note = 'x'"); err == nil {
		t.Fatal("a snapshot could be edited")
	}
	if _, err := db.Snapshot(ctx, "nope"); problem.CodeOf(err) != problem.NotFound {
		t.Fatalf("missing snapshot: %v", err)
	}
	if _, err := db.SignOff(ctx, staff, strings.Repeat("n", store.MaxNote+1)); problem.CodeOf(err) != problem.Invalid {
		t.Fatalf("oversized note: %v", err)
	}
}

// TestReplayRebuildsRecords shows the promise the change log makes: its
// changes, replayed in another database, rebuild the same records, and
// replaying them again changes nothing.
func TestReplayRebuildsRecords(t *testing.T) {
	ctx := context.Background()
	src, dst := MustOpen(t), MustOpen(t)
	clock := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	src.Now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	src.SaveAnswer(ctx, staff, answer("STR-01", 1, ""))
	src.SaveAnswer(ctx, staff, answer("AI-03", 3, "rule 4/2026"))
	src.SignOff(ctx, staff, "Q1")
	src.SaveAnswer(ctx, staff, answer("STR-01", 3, "plan"))
	src.SaveAnswer(ctx, staff, readiness.Answer{ItemID: "MIS-04", NA: true})
	src.SignOff(ctx, staff, "Q2")

	ch, err := src.Changes(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := dst.Apply(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	wantA, _ := src.Answers(ctx)
	gotA, _ := dst.Answers(ctx)
	if !reflect.DeepEqual(gotA, wantA) {
		t.Errorf("answers differ after replay:\n got %+v\nwant %+v", gotA, wantA)
	}
	wantS, _ := src.Snapshots(ctx)
	gotS, _ := dst.Snapshots(ctx)
	if !reflect.DeepEqual(gotS, wantS) {
		t.Errorf("snapshots differ after replay:\n got %+v\nwant %+v", gotS, wantS)
	}
	if len(gotS) != 2 {
		t.Errorf("got %d snapshots, want 2", len(gotS))
	}
}

func TestApplyRefusesMismatchedChange(t *testing.T) {
	ctx := context.Background()
	src, dst := MustOpen(t), MustOpen(t)
	src.SaveAnswer(ctx, staff, answer("STR-01", 1, ""))
	src.SaveAnswer(ctx, staff, answer("STR-02", 1, ""))
	ch, _ := src.Changes(ctx, 0, 10)
	ch[1].Key = "STR-09"
	err := dst.Apply(ctx, ch)
	if err == nil {
		t.Fatal("a change whose key and body disagree was applied")
	}
	if got, _ := dst.Answers(ctx); len(got) != 0 {
		t.Fatalf("a failed apply left %d answers: it must be all or nothing", len(got))
	}
	_ = errors.New
}

// fwInForce returns the framework in force at the mission.
func fwInForce(tb testing.TB, db *store.DB) *framework.Framework {
	tb.Helper()
	f, err := db.Framework(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return f
}
