package test

import (
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"chancery/shared/clock"
)

// TestClocksWrongBothWays: the mission's clock runs a day ahead and is
// then set right, and HQ's clock steps back an hour. What is newer is
// decided by the mission's change sequence and HQ's reply counter, so
// every change lands once, the incident's later decision is HQ's record
// of it, and no reply is refused as a replay.
func TestClocksWrongBothWays(t *testing.T) {
	s := newSite(t)
	withClock := func(skew string, f func()) {
		t.Helper()
		os.Setenv(clock.Env, skew)
		defer os.Unsetenv(clock.Env)
		f()
	}
	var id string
	withClock("24h", func() {
		a := startAgent(t, s.agentDir)
		if a.Password != "" {
			os.WriteFile(s.agentDir+"/test-password", []byte(a.Password), 0o600)
		}
		c := login(t, a.URL, "admin", s.password())
		r := form(t, c, a.URL+"/incidents/new", a.URL+"/incidents", url.Values{"title": {"A forged letter from the ambassador"}, "kind": {"impersonation"}, "severity": {"2"}})
		id = regexp.MustCompile(`INC-\d{8}-[0-9A-F]{10}`).FindString(r.Request.URL.Path)
		a.stop(t)
		if out, err := s.sync(clock.Env + "=24h"); err != nil {
			t.Fatalf("sync a day ahead: %v\n%s", err, out)
		}
		// The Sync page says the clock is off.
		a = startAgent(t, s.agentDir)
		c = login(t, a.URL, "admin", s.password())
		if page := get(t, c, a.URL+"/sync"); !strings.Contains(page, `id="clock-skew"`) || !strings.Contains(page, "ahead of HQ") {
			t.Fatal("the Sync page does not say the clock runs a day ahead of HQ's")
		}
		a.stop(t)
	})
	if id == "" {
		t.Fatal("no incident recorded")
	}
	// The clock is set right: the next decision is stamped a day earlier
	// than the record HQ holds.
	a := startAgent(t, s.agentDir)
	c := login(t, a.URL, "admin", s.password())
	form(t, c, a.URL+"/incidents/"+id, a.URL+"/incidents/"+id+"/move", url.Values{"to": {"flagged"}, "reason": {"Picked up by a journalist"}})
	a.stop(t)
	if out, err := s.sync(); err != nil {
		t.Fatalf("sync once the clock is right: %v\n%s", err, out)
	}
	hc := login(t, s.hq.URL, "admin", s.hqPassword())
	if page := get(t, hc, s.hq.URL+"/incidents/FR-PAR/"+id); !strings.Contains(page, "Picked up by a journalist") {
		t.Fatal("HQ ignored the mission's later decision because its clock had run ahead")
	}

	// HQ's clock steps back an hour: its replies are still taken.
	s.restartHQ(clock.Env + "=-1h")
	s.work(3, 40)
	out, err := s.sync()
	if err != nil || strings.Contains(out, "replay") {
		t.Fatalf("sync after HQ's clock stepped back: %v\n%s", err, out)
	}
	if held, through, _ := s.atHQ(); held != 5 || through != 5 {
		t.Fatalf("HQ holds %d changes, applied up to %d; want 5 each, once", held, through)
	}
}
