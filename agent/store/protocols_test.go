package store_test

import (
	"context"
	"strings"
	"testing"

	"chancery/shared/account"
	"chancery/shared/problem"
	"chancery/shared/protocol"
)

func TestProtocolLibrary(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	if n, err := db.Install(ctx, account.System, protocol.Defaults()); err != nil || n != len(protocol.Defaults()) {
		t.Fatalf("install defaults: %d, %v", n, err)
	}
	if n, _ := db.Install(ctx, account.System, protocol.Defaults()); n != 0 {
		t.Fatalf("installing the same versions again added %d", n)
	}
	// Search finds documents by words in their body, by word prefix, and
	// ignores punctuation that would break the query language. It finds
	// what people type, too: the protocols say "synthetic media" and
	// "impersonation"; staff type "deepfake" and "impersonate".
	for q, want := range map[string]string{
		"impersonating accounts": "synthetic-media",
		"démarches":              "ai-use",
		"duty offic":             "hq-coordination",
		`"escalat* OR (`:         "crisis-escalation",
		"deepfake":               "synthetic-media",
		"deepfakes":              "synthetic-media",
		"impersonate":            "synthetic-media",
		"impersonated":           "crisis-escalation",
		"escalations":            "crisis-escalation",
		"deepfake officials":     "synthetic-media",
	} {
		hits, err := db.Search(ctx, q)
		if err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		found := false
		for _, h := range hits {
			found = found || h.ID == want
		}
		if !found {
			t.Errorf("search %q did not find %s: %+v", q, want, hits)
		}
	}
	if hits, _ := db.Search(ctx, "zzyzx"); len(hits) != 0 {
		t.Errorf("nonsense found %d", len(hits))
	}

	// Acknowledgement is per version: a new version resets it.
	amira := account.Actor{Username: "amira"}
	if err := db.Acknowledge(ctx, amira, "ai-use", 1); err != nil {
		t.Fatal(err)
	}
	lib, _ := db.Library(ctx, "amira")
	for _, s := range lib {
		if s.ID == "ai-use" && !s.Acked {
			t.Fatal("acknowledgement not shown")
		}
	}
	v2 := protocol.Defaults()[0]
	for _, d := range protocol.Defaults() {
		if d.ID == "ai-use" {
			v2 = d
		}
	}
	v2.Version, v2.Body, v2.Note = 2, v2.Body+"\n## Meetings\n\nNo AI note-takers in meetings.\n", "Meetings added"
	if _, err := db.Install(ctx, account.System, []protocol.Document{v2}); err != nil {
		t.Fatal(err)
	}
	lib, _ = db.Library(ctx, "amira")
	for _, s := range lib {
		if s.ID == "ai-use" && (s.Acked || s.Version != 2) {
			t.Fatalf("after version 2: %+v", s)
		}
	}
	if err := db.Acknowledge(ctx, amira, "ai-use", 1); problem.CodeOf(err) != problem.Conflict {
		t.Fatalf("acknowledging a version no longer in force: %v", err)
	}
	if hits, _ := db.Search(ctx, "note-takers"); len(hits) != 1 {
		t.Fatal("search does not see the new version")
	}
	// An older version can never come back in force.
	if _, err := db.Install(ctx, account.System, []protocol.Document{{ID: "ai-use", Title: "x", Category: "y", Version: 1, Body: "tampered"}}); problem.CodeOf(err) != problem.Conflict {
		t.Fatalf("installing an older version: %v", err)
	}
	vs, _ := db.Versions(ctx, "ai-use")
	if len(vs) != 2 || strings.Contains(vs[1].Body, "tampered") {
		t.Fatalf("versions: %d", len(vs))
	}
	// Acknowledgements travel in the change log.
	ch, _ := db.Changes(ctx, 0, 10)
	if len(ch) != 1 || ch[0].Key != "ai-use@1@amira" {
		t.Fatalf("change log: %+v", ch)
	}
}
