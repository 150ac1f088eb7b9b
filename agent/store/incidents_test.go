package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

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

// People working on one incident at once lose nothing: every evidence
// file, decision and piece of HQ guidance acknowledged is in the incident
// afterwards, and in the change that goes to HQ.
func TestConcurrentWorkOnOneIncident(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	in, err := db.CreateIncident(ctx, staff, incident.Incident{Title: "A fake video", Kind: "synthetic-media", Severity: 2})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	files, guidance := map[string]bool{}, map[string]bool{}
	moved := 0
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch i % 3 {
			case 0:
				data := []byte(fmt.Sprintf("evidence file %d", i))
				if _, err := db.AddAttachment(ctx, staff, in.ID, fmt.Sprintf("scan-%d.png", i), data); err == nil {
					sum := sha256.Sum256(data)
					mu.Lock()
					files[hex.EncodeToString(sum[:])] = true
					mu.Unlock()
				}
			case 1:
				id := fmt.Sprintf("G-%d", i)
				if err := db.AddGuidance(ctx, in.ID, id, "hq.duty", "Hold the statement "+id, time.Now(), false); err == nil {
					mu.Lock()
					guidance[id] = true
					mu.Unlock()
				}
			case 2:
				// Flag and back to monitoring: one of each pair may find the
				// incident already moved, and is refused, not lost.
				to := incident.Flagged
				if i%2 == 0 {
					to = incident.Monitoring
				}
				if _, err := db.MoveIncident(ctx, staff, in.ID, to, "checking "+fmt.Sprint(i), ""); err == nil {
					mu.Lock()
					moved++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	got, err := db.Incident(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range got.Attachments {
		delete(files, a.SHA256)
	}
	moves := 0
	for _, e := range got.Timeline {
		delete(guidance, e.GuidanceID)
		if strings.HasPrefix(e.Reason, "checking ") {
			moves++
		}
	}
	if len(files) != 0 || len(guidance) != 0 || moves != moved {
		t.Fatalf("lost: %d evidence files, %d pieces of guidance; %d of %d decisions kept", len(files), len(guidance), moves, moved)
	}
	// The latest change of the incident, which HQ takes, holds it all.
	cs, _ := db.Changes(ctx, 0, 1000)
	var last changelog.Change
	for _, c := range cs {
		if c.Entity == changelog.EntityIncident {
			last = c
		}
	}
	var sent incident.Incident
	json.Unmarshal(last.Body, &sent)
	if len(sent.Attachments) != len(got.Attachments) || len(sent.Timeline) != len(got.Timeline) {
		t.Fatalf("the change HQ gets has %d files and %d entries; the incident %d and %d", len(sent.Attachments), len(sent.Timeline), len(got.Attachments), len(got.Timeline))
	}
}
