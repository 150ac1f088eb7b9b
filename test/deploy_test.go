package test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestUnitsAreHardened: every systemd unit (the agent, HQ and HQ's
// replica sidecar) runs its program unprivileged, with its config file,
// in the sandbox the deployment guide promises.
func TestUnitsAreHardened(t *testing.T) {
	for _, unit := range []string{"chancery-agent.service", "chancery-hq.service", "chancery-hq-replica.service"} {
		b, err := os.ReadFile(filepath.Join("..", "deploy", "systemd", unit))
		if err != nil {
			t.Fatal(err)
		}
		set := map[string]bool{}
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(l), "="); ok && !strings.HasPrefix(l, "#") {
				set[k+"="+v] = true
			}
		}
		for _, want := range []string{"NoNewPrivileges=yes", "CapabilityBoundingSet=", "SystemCallFilter=@system-service", "RestrictNamespaces=yes",
			"ProtectClock=yes", "UMask=0077", "ProtectSystem=strict", "ProtectHome=yes", "PrivateDevices=yes", "MemoryDenyWriteExecute=yes"} {
			if !set[want] {
				t.Errorf("%s lacks %s", unit, want)
			}
		}
		if set["User=root"] || !strings.Contains(string(b), "-config /etc/chancery/") {
			t.Errorf("%s runs as root or without its config file", unit)
		}
	}
}

var exprMetricRE = regexp.MustCompile(`chancery_hq_[a-z_]+`)

// TestDashboardNamesHQsMetrics: every metric the Grafana dashboard in
// deploy/ draws is one HQ serves.
func TestDashboardNamesHQsMetrics(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "deploy", "grafana", "chancery-hq.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil || len(d.Panels) == 0 {
		t.Fatalf("the dashboard: %v", err)
	}
	hq := startHQ(t, t.TempDir())
	if r, err := http.Get(hq.URL + "/healthz"); err == nil { // one request counted
		r.Body.Close()
	}
	r, err := http.Get(hq.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			for _, m := range exprMetricRE.FindAllString(tg.Expr, -1) {
				if !strings.Contains(string(served), "\n"+m) && !strings.Contains(string(served), "# TYPE "+strings.TrimSuffix(m, "_bucket")+" ") {
					t.Errorf("panel %q draws %s, which HQ does not serve", p.Title, m)
				}
			}
		}
	}
}
