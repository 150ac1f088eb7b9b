package test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkAgentBinary reports the size of the static agent binary and the
// resident memory of an agent that has started, served a login and a
// checklist page, and then sat idle for two seconds. The design brief's
// target for idle memory is under 60 MB.
func BenchmarkAgentBinary(b *testing.B) {
	st, err := os.Stat(filepath.Join(bin, "chancery-agent"))
	if err != nil {
		b.Fatal(err)
	}
	var rss float64
	for b.Loop() {
		a := startAgent(b, b.TempDir())
		c := login(b, a.URL, "admin", a.Password)
		get(b, c, a.URL+"/areas/strategy")
		time.Sleep(2 * time.Second)
		rss = residentMB(b, a.cmd.Process.Pid)
		a.stop(b)
	}
	b.ReportMetric(float64(st.Size())/1e6, "binary-MB")
	b.ReportMetric(rss, "idle-RSS-MB")
}

func residentMB(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
