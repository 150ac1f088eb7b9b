package app_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chancery/agent/app"
)

// TestServiceLine: what service install registers names every file by
// its full path, since Windows starts services in its system folder; a
// relative path in the config file, or a bad setting, is refused at
// install rather than at the next boot.
func TestServiceLine(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	line, c, err := app.ServiceLine([]string{"--data", "mission", "--addr=0.0.0.0:8080", "-hq-ca=ca.pem"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"service", "run", "--data=" + filepath.Join(dir, "mission"), "--addr=0.0.0.0:8080", "--hq-ca=" + filepath.Join(dir, "ca.pem")}
	if strings.Join(line, " ") != strings.Join(want, " ") {
		t.Fatalf("the service runs\n  %q\nnot\n  %q", line, want)
	}
	if c.Data != filepath.Join(dir, "mission") {
		t.Fatalf("data %q", c.Data)
	}

	// No --data: the default folder, by its full path.
	line, _, err = app.ServiceLine(nil, io.Discard)
	if err != nil || !strings.HasPrefix(line[len(line)-1], "--data="+dir) {
		t.Fatalf("%q %v", line, err)
	}

	// A config file, with a relative path in it.
	cfg := filepath.Join(dir, "agent.toml")
	os.WriteFile(cfg, []byte("data = \"chancery-data\"\n"), 0o600)
	if _, _, err := app.ServiceLine([]string{"--config", "agent.toml"}, io.Discard); err == nil || !strings.Contains(err.Error(), `data is "chancery-data"`) || !strings.Contains(err.Error(), "full path") {
		t.Fatalf("a relative data folder in the config file: %v", err)
	}
	os.WriteFile(cfg, []byte("data = '"+filepath.Join(dir, "d")+"'\n"), 0o600)
	line, _, err = app.ServiceLine([]string{"--config", "agent.toml"}, io.Discard)
	if err != nil || strings.Join(line, " ") != "service run --config="+cfg {
		t.Fatalf("%q %v", line, err)
	}

	// A bad setting is refused now.
	if _, _, err := app.ServiceLine([]string{"--addr", "nowhere"}, io.Discard); err == nil {
		t.Fatal("a bad address was taken for the service")
	}
}
