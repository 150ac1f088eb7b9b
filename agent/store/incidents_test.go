package store_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"chancery/shared/changelog"
	"chancery/shared/incident"
	"chancery/shared/problem"
)

func TestIncidentLog(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	in, err := db.CreateIncident(ctx, staff, incident.Incident{Title: "Fake letter on embassy letterhead", Kind: "impersonation", Severity: 3,
		Platforms: []string{"X", "Telegram"}, Languages: []string{"fr"}, Reach: 12000})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateIncident(ctx, staff, incident.Incident{Title: "x", Kind: "meteor", Severity: 1}); problem.CodeOf(err) != problem.Invalid {
		t.Fatalf("unknown kind: %v", err)
	}
	hom := staff
	hom.Username = "hom"
	if _, err := db.MoveIncident(ctx, hom, in.ID, incident.Coordinating, "HQ leads", ""); problem.CodeOf(err) != problem.Invalid || !strings.Contains(err.Error(), "cannot move") {
		t.Fatalf("monitoring → coordinating: %v", err)
	}
	if _, err := db.MoveIncident(ctx, hom, in.ID, incident.Escalated, "Forged signature of the ambassador", ""); err != nil {
		t.Fatal(err)
	}
	script := []byte("<html><script>alert(1)</script></html>")
	got, err := db.AddAttachment(ctx, staff, in.ID, "../../etc/letter.html", script)
	if err != nil {
		t.Fatal(err)
	}
	a := got.Attachments[0]
	if a.Name != "letter.html" || a.Size != int64(len(script)) || !strings.HasPrefix(a.Type, "text/html") {
		t.Fatalf("attachment %+v", a)
	}
	if _, data, err := db.Attachment(ctx, in.ID, a.SHA256); err != nil || string(data) != string(script) {
		t.Fatalf("read back: %v", err)
	}
	if _, err := db.AddAttachment(ctx, staff, in.ID, "big.bin", make([]byte, incident.MaxAttachment+1)); problem.CodeOf(err) != problem.Invalid {
		t.Fatalf("oversized attachment: %v", err)
	}
	if _, err := db.MoveIncident(ctx, hom, in.ID, incident.Closed, "Platform removed it", ""); err == nil {
		t.Fatal("closed without lessons")
	}
	if _, err := db.MoveIncident(ctx, hom, in.ID, incident.Closed, "Platform removed it", "The platform contact acted within two hours; keep it current."); err != nil {
		t.Fatal(err)
	}

	// Every step went into the change log; replaying it elsewhere rebuilds
	// the incident.
	ch, _ := db.Changes(ctx, 0, 100)
	n := 0
	for _, c := range ch {
		if c.Entity == changelog.EntityIncident {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d incident changes, want 4 (create, escalate, attach, close)", n)
	}
	other := MustOpen(t)
	if err := other.Apply(ctx, ch); err != nil {
		t.Fatal(err)
	}
	want, _ := db.Incident(ctx, in.ID)
	rebuilt, err := other.Incident(ctx, in.ID)
	if err != nil || !reflect.DeepEqual(rebuilt, want) {
		t.Fatalf("replayed incident differs: %v", err)
	}
	list, _ := db.Incidents(ctx, 10)
	if len(list) != 1 || list[0].Status != incident.Closed || list[0].Title != "Fake letter on embassy letterhead" || list[0].Kind != "impersonation" {
		t.Fatalf("list %+v", list)
	}
}
