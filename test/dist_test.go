package test

import (
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

var versionRE = regexp.MustCompile(`^chancery-(agent|hq) \S+ \(commit [0-9a-f]{12}(-modified)?, go1\.\d+(\.\d+)?\)\n$`)

// TestVersionSaysTheCommit: both programs answer --version (and
// "version") with their version and the commit they were built from.
func TestVersionSaysTheCommit(t *testing.T) {
	for _, b := range []string{"chancery-agent", "chancery-hq"} {
		for _, arg := range []string{"--version", "version"} {
			if out := run(t, b, arg); !versionRE.MatchString(out) {
				t.Fatalf("%s %s: %q", b, arg, out)
			}
		}
	}
}

// TestDistIsReproducible: two builds of the same commit with make dist's
// flags, in different folders, give the same bytes.
func TestDistIsReproducible(t *testing.T) {
	var sums [2][32]byte
	for i := range sums {
		out := filepath.Join(t.TempDir(), "chancery-agent")
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=true", "-ldflags", "-s -w -buildid= -X chancery/agent/app.Version=test",
			"-o", out, "chancery/agent/cmd/chancery-agent")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, b)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("vcs.revision")) {
			t.Fatal("the binary does not carry its commit")
		}
		sums[i] = sha256.Sum256(b)
	}
	if sums[0] != sums[1] {
		t.Fatalf("two builds of one commit differ: %x and %x", sums[0], sums[1])
	}
}
