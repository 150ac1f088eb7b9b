//go:build !windows

package app_test

import (
	"strings"
	"testing"
)

// TestServiceIsForWindows: elsewhere, the command says what to use.
func TestServiceIsForWindows(t *testing.T) {
	code, _, errs := run(t, nil, "service", "install", "--data", t.TempDir())
	if code != 1 || !strings.Contains(errs, "deploy/systemd/chancery-agent.service") {
		t.Fatalf("%d %s", code, errs)
	}
	if code, _, errs := run(t, nil, "service", "start"); code != 2 || !strings.Contains(errs, "install|uninstall") {
		t.Fatalf("%d %s", code, errs)
	}
}
