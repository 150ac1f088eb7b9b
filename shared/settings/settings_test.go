package settings_test

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"chancery/shared/settings"
)

func bind(env []string, args ...string) (string, time.Duration, error) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	s := settings.New(fs, "APP_", env)
	var addr string
	var idle time.Duration
	s.String(&addr, "addr", "127.0.0.1:1", "address")
	s.Duration(&idle, "session-idle", time.Minute, "idle")
	if err := s.Check(); err != nil {
		return "", 0, err
	}
	err := fs.Parse(args)
	return addr, idle, err
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
	if err == nil || !strings.Contains(err.Error(), "unknown setting APP_ADRR in the environment; the known ones are APP_ADDR, APP_SESSION_IDLE") ||
		!strings.Contains(err.Error(), `APP_SESSION_IDLE="ten" is not a duration`) {
		t.Fatalf("err = %v", err)
	}
}
