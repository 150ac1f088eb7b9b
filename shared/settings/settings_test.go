package settings_test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chancery/shared/settings"
)

func bind(env []string, args ...string) (string, time.Duration, error) {
	c, err := bindAll(env, args...)
	return c.addr, c.idle, err
}

type conf struct {
	addr  string
	idle  time.Duration
	tries int
	fast  bool
}

func bindAll(env []string, args ...string) (conf, error) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := settings.New(fs, "APP_", env, args...)
	var c conf
	s.String(&c.addr, "addr", "127.0.0.1:1", "address")
	s.Duration(&c.idle, "session-idle", time.Minute, "idle")
	s.Int(&c.tries, "sync-attempts", 5, 1, "tries")
	s.Bool(&c.fast, "relay-fast", false, "fast")
	if err := s.Check(); err != nil {
		return conf{}, err
	}
	err := fs.Parse(args)
	return c, err
}

func file(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.toml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A config file sets what neither the environment nor a flag sets; the
// file is named by --config or by APP_CONFIG.
func TestConfigFile(t *testing.T) {
	f := file(t, "# the mission's settings\naddr = \"0.0.0.0:8080\"\nsession-idle = \"45m\"\nsync-attempts = 3\nrelay-fast = true\n")
	c, err := bindAll(nil, "--config", f)
	if err != nil || c.addr != "0.0.0.0:8080" || c.idle != 45*time.Minute || c.tries != 3 || !c.fast {
		t.Fatalf("from the file: %+v %v", c, err)
	}
	c, err = bindAll([]string{"APP_CONFIG=" + f, "APP_SESSION_IDLE=5m"}, "--sync-attempts", "9")
	if err != nil || c.addr != "0.0.0.0:8080" || c.idle != 5*time.Minute || c.tries != 9 {
		t.Fatalf("environment over the file, flag over both: %+v %v", c, err)
	}
	c, err = bindAll(nil, "--config="+f, "--addr", "[::1]:3")
	if err != nil || c.addr != "[::1]:3" {
		t.Fatalf("--config=: %+v %v", c, err)
	}
}

// Each mistake in a file names the file, the key and what is wrong, and
// nothing of it is used.
func TestConfigFileMistakesAreNamed(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"adress = \"x\"\n", `app.toml: unknown key “adress”; the known ones are addr, session-idle, sync-attempts, relay-fast`},
		{"session-idle = \"ten\"\n", `app.toml: session-idle = "ten" is not a duration`},
		{"sync-attempts = 0\n", `app.toml: sync-attempts = 0 is not a whole number of at least 1`},
		{"sync-attempts = \"3\"\n", `app.toml: sync-attempts = "3" is not a whole number`},
		{"relay-fast = \"yes\"\n", `app.toml: relay-fast = "yes" is not true or false`},
		{"addr = 8080\n", `app.toml: addr = 8080 is not text`},
		{"addr = \"a\"\naddr \"b\"\n", `app.toml, line 2:`},
	} {
		_, err := bindAll(nil, "--config", file(t, tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.text, err, tc.want)
		}
	}
	if _, err := bindAll(nil, "--config", filepath.Join(t.TempDir(), "none.toml")); err == nil || !strings.Contains(err.Error(), "cannot read the config file") {
		t.Errorf("a missing file: %v", err)
	}
}

func TestPrecedence(t *testing.T) {
	a, d, err := bind(nil)
	if err != nil || a != "127.0.0.1:1" || d != time.Minute {
		t.Fatalf("defaults: %q %v %v", a, d, err)
	}
	a, d, _ = bind([]string{"APP_ADDR=0.0.0.0:2", "APP_SESSION_IDLE=5m", "OTHER=x"})
	if a != "0.0.0.0:2" || d != 5*time.Minute {
		t.Fatalf("environment: %q %v", a, d)
	}
	a, _, _ = bind([]string{"APP_ADDR=0.0.0.0:2"}, "--addr", "[::1]:3")
	if a != "[::1]:3" {
		t.Fatalf("flag over environment: %q", a)
	}
}

func TestMistakesAreNamed(t *testing.T) {
	_, _, err := bind([]string{"APP_ADRR=x", "APP_SESSION_IDLE=ten"})
	if err == nil || !strings.Contains(err.Error(), "unknown setting APP_ADRR in the environment; the known ones are APP_ADDR, APP_SESSION_IDLE, APP_SYNC_ATTEMPTS, APP_RELAY_FAST, APP_CONFIG") ||
		!strings.Contains(err.Error(), `APP_SESSION_IDLE=“ten” is not a duration`) {
		t.Fatalf("err = %v", err)
	}
}
