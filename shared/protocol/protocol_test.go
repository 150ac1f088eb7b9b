package protocol_test

import (
	"strings"
	"testing"

	"chancery/shared/framework"
	"chancery/shared/i18n"
	"chancery/shared/protocol"
)

func TestDefaults(t *testing.T) {
	ds := protocol.Defaults()
	want := []string{"ai-use", "crisis-escalation", "hq-coordination", "post-crisis-learning", "sensitive-post", "synthetic-media"}
	got := map[string]bool{}
	for _, d := range ds {
		got[d.ID] = true
		if d.Version != 1 || d.Check() != nil {
			t.Errorf("%s: version %d, %v", d.ID, d.Version, d.Check())
		}
	}
	for _, id := range want {
		if !got[id] {
			t.Errorf("default protocol %s missing", id)
		}
	}
	// The escalation pathway names every decision of the domain's model.
	for _, d := range ds {
		if d.ID == "crisis-escalation" {
			for _, step := range []string{"Monitor", "Flag", "Respond", "Wait", "Escalate", "Coordinate with HQ"} {
				if !strings.Contains(d.Body, "**"+step+"**") {
					t.Errorf("the escalation pathway lacks the step %q", step)
				}
			}
		}
	}
}

func TestHTMLIsSafe(t *testing.T) {
	h, err := protocol.HTML("# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n| a | b |\n| - | - |\n| 1 | 2 |\n")
	if err != nil {
		t.Fatal(err)
	}
	s := string(h)
	for _, bad := range []string{"<script", "javascript:", "onerror", "<img"} {
		if strings.Contains(s, bad) {
			t.Errorf("rendered HTML contains %q:\n%s", bad, s)
		}
	}
	if !strings.Contains(s, "<h1") || !strings.Contains(s, "<table>") {
		t.Errorf("Markdown not rendered:\n%s", s)
	}
}

func TestParseRefusesBadHeaders(t *testing.T) {
	for _, c := range []struct{ doc, want string }{
		{"id: x\n---\nbody", "protocol id “x”"},
		{"id: good-id\ntitle: T\n\nbody", "no '---' line"},
		{"id: good-id\ntitle: T\ncategory: C\ncolour: red\n---\nbody", `unknown header "colour"`},
		{"id: good-id\ncategory: C\n---\nbody", "a title is"},
	} {
		if _, err := protocol.Parse([]byte(c.doc)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.doc, err, c.want)
		}
	}
}

func TestDiff(t *testing.T) {
	d := protocol.Diff("a\nb\nc\nd", "a\nc\nd\ne")
	var b strings.Builder
	for _, l := range d {
		b.WriteString([]string{" ", "+", "-"}[l.Op] + l.Text + "|")
	}
	if b.String() != " a|-b| c| d|+e|" {
		t.Fatalf("diff = %s", b.String())
	}
}

// TestDefaultsReadInEveryLanguage: each built-in protocol ships in every
// language Chancery speaks, and a copy HQ published without texts still
// reads in them while its words are the built-in ones.
func TestDefaultsReadInEveryLanguage(t *testing.T) {
	for _, d := range protocol.Defaults() {
		for _, l := range i18n.Languages() {
			if l == d.Language() {
				continue
			}
			if _, got := d.In(l); got != l {
				t.Errorf("%s has no text in %s", d.ID, l)
			}
		}
		bare := d
		bare.Text = nil
		if got, lang := bare.In("fr"); lang != "fr" || got.Body == d.Body {
			t.Errorf("%s as HQ published it reads in %s", d.ID, lang)
		}
		bare.Body += "\nA line HQ added.\n"
		if _, lang := bare.In("fr"); lang != "en" {
			t.Errorf("%s changed by HQ still reads in the built-in French", d.ID)
		}
	}
	esc := protocol.Defaults()
	for _, d := range esc {
		if d.ID != "crisis-escalation" {
			continue
		}
		fr, _ := d.In("fr")
		for _, s := range []string{"monitoring", "flagged", "responding", "holding", "escalated", "coordinating"} {
			if step := i18n.For("fr").T("pathway." + s); !strings.Contains(fr.Body, "| **"+step+"** |") {
				t.Errorf("the French pathway has no step %q", step)
			}
		}
	}
}

// The items that ask about a protocol name one that ships: the two the
// domain calls for (a sovereignty check, platform engagement in a crisis)
// among them.
func TestItemsReferenceDefaultProtocols(t *testing.T) {
	ids := map[string]bool{}
	for _, d := range protocol.Defaults() {
		ids[d.ID] = true
	}
	f := framework.Builtin()
	used := map[string]bool{}
	for _, it := range append(f.Items, f.Ministry...) {
		for _, p := range it.Protocols {
			if !ids[p] {
				t.Errorf("%s names protocol %q, which does not ship", it.ID, p)
			}
			used[p] = true
		}
	}
	for _, p := range []string{"sovereignty-check", "platform-engagement"} {
		if !used[p] {
			t.Errorf("no item references the %s protocol", p)
		}
	}
}
