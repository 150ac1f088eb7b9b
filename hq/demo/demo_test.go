package demo_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chancery/hq/demo"
	"chancery/hq/store"
)

func TestGenerate(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "hq.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o := demo.Options{Missions: 120, Snapshots: 3, Seed: 1, Now: time.Now()}
	n, err := demo.Generate(ctx, db, o)
	if err != nil || n != 120 {
		t.Fatalf("added %d, %v; want 120", n, err)
	}
	// Again: nothing is added twice.
	if n, _ := demo.Generate(ctx, db, o); n != 0 {
		t.Fatalf("second run added %d", n)
	}
	ms, _ := db.Missions(ctx)
	if len(ms) != 120 {
		t.Fatalf("%d missions: codes were not unique", len(ms))
	}
	for _, m := range ms {
		if !m.Demo || m.Lat == nil {
			t.Fatalf("%s is not marked demo, or has no place", m.Code)
		}
	}
	answers, _ := db.Answers(ctx, ms[0].Code)
	snaps, _ := db.Snapshots(ctx, ms[0].Code)
	scores, _ := db.AllScores(ctx)
	cat, _ := db.Catalog(ctx)
	if r, ok := scores[ms[0].Code].Summary.Report(cat.Of(ms[0])); !ok || r.Overall.Answered != len(answers) {
		t.Fatalf("stored scores of %s do not match its %d answers", ms[0].Code, len(answers))
	}
	if len(answers) < 30 || len(snaps) != 3 || !strings.HasPrefix(snaps[0].Note, "Demo data") {
		t.Fatalf("%s: %d answers, %d snapshots", ms[0].Code, len(answers), len(snaps))
	}
}

func TestFirstMissionsSpanEveryRegion(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "hq.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	demo.Generate(ctx, db, demo.Options{Missions: 15, Snapshots: 0, Seed: 1, Now: time.Now()})
	ms, _ := db.Missions(ctx)
	regions := map[string]bool{}
	for _, m := range ms {
		regions[m.Region] = true
	}
	if len(regions) != 5 {
		t.Fatalf("15 demo missions cover %d regions, want all 5: %v", len(regions), regions)
	}
}
