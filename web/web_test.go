package web_test

import (
	"strings"
	"testing"

	"chancery/web"
)

func TestTemplatesParse(t *testing.T) {
	if _, err := web.Parse("agent", nil); err != nil {
		t.Fatal(err)
	}
	tp, err := web.Parse("hq", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"login", "error", "users", "audit"} {
		found := false
		for _, q := range tp.Pages() {
			found = found || q == p
		}
		if !found {
			t.Errorf("shared page %q missing", p)
		}
	}
	u := tp.StaticURL("chancery.css")
	if !strings.HasPrefix(u, "/static/") || !strings.HasSuffix(u, "/chancery.css") || len(u) < len("/static//chancery.css")+12 {
		t.Errorf("static URL %q carries no content hash", u)
	}
}
