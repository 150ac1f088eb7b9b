package incident_test

import (
	"strings"
	"testing"
	"time"

	"chancery/shared/incident"
)

func TestTransitions(t *testing.T) {
	S := incident.Statuses
	allowed := map[incident.Status][]incident.Status{
		"monitoring":   {"flagged", "responding", "holding", "escalated", "closed"},
		"flagged":      {"monitoring", "responding", "holding", "escalated", "closed"},
		"responding":   {"holding", "escalated", "coordinating", "closed"},
		"holding":      {"monitoring", "flagged", "responding", "escalated", "closed"},
		"escalated":    {"coordinating", "responding", "holding", "closed"},
		"coordinating": {"responding", "holding", "closed"},
		"closed":       {},
	}
	for _, from := range S {
		for _, to := range S {
			want := false
			for _, a := range allowed[from] {
				want = want || a == to
			}
			if got := incident.CanMove(from, to); got != want {
				t.Errorf("%s → %s: %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestMove(t *testing.T) {
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	in := incident.Incident{Title: "Fake clip of the ambassador", Kind: "synthetic-media", Severity: 4, Status: incident.Monitoring}
	if err := in.Move(incident.Escalated, "hom", "", "", now); err == nil || !strings.Contains(err.Error(), "Say why") {
		t.Fatalf("a decision without a reason: %v", err)
	}
	if err := in.Move(incident.Coordinating, "hom", "HQ leads", "", now); err == nil || !strings.Contains(err.Error(), "cannot move to coordinating") {
		t.Fatalf("monitoring → coordinating: %v", err)
	}
	if err := in.Move(incident.Escalated, "hom", "Synthetic audio of the ambassador", "", now); err != nil || in.EscalatedAt == nil {
		t.Fatalf("escalate: %v", err)
	}
	if err := in.Move(incident.Closed, "hom", "Debunked", "short", now); err == nil || !strings.Contains(err.Error(), "lessons learned") {
		t.Fatalf("closing without lessons: %v", err)
	}
	if err := in.Move(incident.Closed, "hom", "Debunked", "Pre-cleared lines let us answer within the hour.", now); err != nil || in.ClosedAt == nil {
		t.Fatalf("close: %v", err)
	}
	if err := in.Move(incident.Flagged, "amira", "It is back", "", now); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("reopening: %v", err)
	}
	if len(in.Timeline) != 2 || in.Timeline[0].From != incident.Monitoring || in.Timeline[1].To != incident.Closed {
		t.Fatalf("timeline %+v", in.Timeline)
	}
}

func TestCheck(t *testing.T) {
	good := incident.Incident{Title: "x", Kind: "viral-rumour", Severity: 2, Status: incident.Monitoring, Links: []string{"https://example.org/post"}}
	if err := good.Check(time.Now()); err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string]func(*incident.Incident){
		"no title":       func(i *incident.Incident) { i.Title = " " },
		"unknown kind":   func(i *incident.Incident) { i.Kind = "meteor" },
		"severity 5":     func(i *incident.Incident) { i.Severity = 5 },
		"script link":    func(i *incident.Incident) { i.Links = []string{"javascript:alert(1)"} },
		"too long":       func(i *incident.Incident) { i.Summary = strings.Repeat("x", incident.MaxText+1) },
		"negative reach": func(i *incident.Incident) { i.Reach = -1 },
		"too many tags":  func(i *incident.Incident) { i.Platforms = make([]string, 21) },
	} {
		in := good
		edit(&in)
		if err := in.Check(time.Now()); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
