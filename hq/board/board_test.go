package board_test

import (
	"testing"
	"time"

	"chancery/hq/board"
	"chancery/hq/store"
	"chancery/shared/incident"
)

func TestBoard(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	at := func(h float64) *time.Time { x := t0.Add(time.Duration(h * float64(time.Hour))); return &x }
	inc := func(mission, id, title string, kind incident.Kind, sev int, esc, closed *time.Time, links ...string) store.Reported {
		return store.Reported{Mission: mission, Incident: incident.Incident{ID: id, Title: title, Kind: kind, Severity: incident.Severity(sev),
			FirstSeen: t0, EscalatedAt: esc, ClosedAt: closed, Links: links}}
	}
	reported := []store.Reported{
		inc("FR-PAR", "A", "Fake audio of the foreign minister on trade", "synthetic-media", 4, at(1), at(6)),
		inc("DE-BER", "B", "Fake audio: foreign minister, trade deal", "synthetic-media", 3, at(3), nil),
		inc("KE-NBO", "C", "Rumour about visa fees", "viral-rumour", 2, nil, at(24), "https://www.example.org/post/1?utm_source=x"),
		inc("SG-SIN", "D", "Visa fee hoax", "viral-rumour", 2, nil, nil, "http://example.org/post/1/"),
		inc("FR-PAR", "E", "Fake audio of the foreign minister on trade, again", "synthetic-media", 4, nil, nil),
	}
	missions := []store.Mission{{Code: "FR-PAR", Region: "Europe"}, {Code: "DE-BER", Region: "Europe"}, {Code: "KE-NBO", Region: "Africa"}, {Code: "SG-SIN", Region: "Asia and Pacific"}}
	rows := board.Rows(reported, missions, board.Filter{})
	// Time to escalate: 1 h and 3 h: median 2 h over 2 incidents.
	if m, n := board.Median(rows, func(r board.Row) time.Duration { return r.ToEscalate }); m != 2*time.Hour || n != 2 {
		t.Errorf("median time to escalate %v over %d", m, n)
	}
	// Time to close: 6 h and 24 h: median 15 h.
	if m, n := board.Median(rows, func(r board.Row) time.Duration { return r.ToClose }); m != 15*time.Hour || n != 2 {
		t.Errorf("median time to close %v over %d", m, n)
	}
	if got := board.Rows(reported, missions, board.Filter{Region: "Europe", MinSeverity: 4}); len(got) != 2 {
		t.Errorf("Europe, severity 4: %d rows", len(got))
	}
	if got := board.Rows(reported, missions, board.Filter{OpenOnly: true}); len(got) != 3 {
		t.Errorf("open only: %d rows", len(got))
	}
	groups := board.Groups(rows)
	if len(groups) != 2 {
		t.Fatalf("%d groups, want 2 (the fake audio across Paris and Berlin, the visa hoax by link)", len(groups))
	}
	if len(groups[0]) != 3 || len(groups[1]) != 2 {
		t.Errorf("group sizes %d and %d, want 3 and 2", len(groups[0]), len(groups[1]))
	}
}
