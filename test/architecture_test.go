package test

import (
	"os/exec"
	"strings"
	"testing"
)

// The module arrows point one way (docs/architecture.md): the domain in
// shared/ depends on no other module, the stores stand on the domain and
// the database alone, the sync module knows nothing of the programs, and
// nothing but the programs' HTTP halves links the web framework.
func TestArchitectureArrows(t *testing.T) {
	for _, c := range []struct {
		pkgs      []string
		forbidden []string
	}{
		{[]string{"chancery/agent/store", "chancery/hq/store"}, []string{"github.com/labstack/", "chancery/sync/", "chancery/web"}},
		{[]string{"chancery/shared/..."}, []string{"github.com/labstack/", "chancery/sync/", "chancery/web", "chancery/agent/", "chancery/hq/"}},
		{[]string{"chancery/sync/pouch"}, []string{"github.com/labstack/", "chancery/web", "chancery/agent/", "chancery/hq/"}},
		{[]string{"chancery/sync/..."}, []string{"chancery/web", "chancery/agent/", "chancery/hq/"}},
		{[]string{"chancery/web/..."}, []string{"chancery/sync/", "chancery/agent/", "chancery/hq/"}},
	} {
		args := append([]string{"list", "-deps"}, c.pkgs...)
		out, err := exec.Command("go", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range c.forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s", strings.Join(c.pkgs, " "), dep)
				}
			}
		}
	}
}
