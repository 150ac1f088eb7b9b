package i18n_test

import (
	"os"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/BurntSushi/toml"

	"chancery/shared/i18n"
)

// TestEveryKeyInEveryLanguage: a catalog that lacks a key shows the
// English message on a French page; one with an extra key has a typo.
func TestEveryKeyInEveryLanguage(t *testing.T) {
	src := i18n.Keys(i18n.Source)
	if len(src) < 500 {
		t.Fatalf("the source catalog has %d keys; it has far more", len(src))
	}
	if langs := i18n.Languages(); !slices.Equal(langs, []string{"en", "fr"}) {
		t.Fatalf("languages %v, want [en fr]", langs)
	}
	for _, l := range i18n.Languages()[1:] {
		got := i18n.Keys(l)
		for _, k := range src {
			if !slices.Contains(got, k) {
				t.Errorf("%s.toml lacks %s", l, k)
			}
		}
		for _, k := range got {
			if !slices.Contains(src, k) {
				t.Errorf("%s.toml has %s, which en.toml does not", l, k)
			}
		}
	}
}

var paramRE = regexp.MustCompile(`\{\{\s*\.(\w+)\s*\}\}`)

// TestMessagesKeepTheirParameters: a translation that drops {{.Count}} or
// misspells {{.Since}} says something other than the English.
func TestMessagesKeepTheirParameters(t *testing.T) {
	read := func(lang string) map[string]map[string]bool {
		var raw map[string]any
		if _, err := toml.DecodeFile("catalog/"+lang+".toml", &raw); err != nil {
			t.Fatal(err)
		}
		out := map[string]map[string]bool{}
		var walk func(prefix string, v any)
		walk = func(prefix string, v any) {
			switch x := v.(type) {
			case string:
				ps := map[string]bool{}
				for _, m := range paramRE.FindAllStringSubmatch(x, -1) {
					ps[m[1]] = true
				}
				key := prefix
				if out[key] == nil {
					out[key] = ps
				} else {
					for p := range ps {
						out[key][p] = true
					}
				}
			case map[string]any:
				plural := x["other"] != nil
				for f := range x {
					plural = plural && slices.Contains([]string{"zero", "one", "two", "few", "many", "other"}, f)
				}
				for k, y := range x {
					if plural {
						walk(prefix, y)
					} else if prefix == "" {
						walk(k, y)
					} else {
						walk(prefix+"."+k, y)
					}
				}
			}
		}
		walk("", raw)
		return out
	}
	en := read(i18n.Source)
	for _, l := range i18n.Languages()[1:] {
		other := read(l)
		for k, want := range en {
			got := other[k]
			for p := range want {
				if !got[p] && p != "Count" {
					t.Errorf("%s %s lacks the parameter %s", l, k, p)
				}
			}
			for p := range got {
				if !want[p] {
					t.Errorf("%s %s has the parameter %s, which the English does not", l, k, p)
				}
			}
		}
	}
}

func TestPluralsAndNumbers(t *testing.T) {
	en, fr := i18n.For("en"), i18n.For("fr")
	for _, c := range []struct {
		p    *i18n.Printer
		n    int
		want string
	}{
		{en, 1, "1 day"}, {en, 2, "2 days"}, {fr, 0, "0 jour"}, {fr, 1, "1 jour"}, {fr, 2, "2 jours"},
	} {
		if got := c.p.T("span.days", "Count", c.n); got != c.want {
			t.Errorf("%s span.days %d = %q, want %q", c.p.Lang(), c.n, got, c.want)
		}
	}
	if got := en.Num(12000); got != "12,000" {
		t.Errorf("English 12000 = %q", got)
	}
	if got := fr.Num(12000); got != "12\u00a0000" && got != "12\u202f000" {
		t.Errorf("French 12000 = %q", got)
	}
	if got := fr.Dec(2.5, 1); got != "2,5" {
		t.Errorf("French 2.5 = %q", got)
	}
	at := time.Date(2026, 12, 1, 14, 5, 0, 0, time.UTC)
	if got := fr.Date(at); got != "1 déc. 2026 à 14:05" {
		t.Errorf("French date %q", got)
	}
	if got := en.Date(at); got != "1 Dec 2026 14:05" {
		t.Errorf("English date %q", got)
	}
}

// TestKeysAsParameters: a parameter given as a Key is itself translated,
// and parameters are escaped in messages with markup.
func TestKeysAsParameters(t *testing.T) {
	fr := i18n.For("fr")
	if got := fr.T("users.added", "User", "lena", "Role", i18n.Key("role.head")); got != "lena a été ajouté avec le rôle chef de poste." {
		t.Errorf("got %q", got)
	}
	if got := string(fr.HTML("delivery.failed", "Why", "<b>x</b>")); got != "<strong>Échec</strong> : &lt;b&gt;x&lt;/b&gt;." {
		t.Errorf("got %q", got)
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		prefs []string
		want  string
	}{
		{[]string{"fr-CH, fr;q=0.9, en;q=0.8"}, "fr"},
		{[]string{"de-DE,de;q=0.9"}, "en"},
		{[]string{"", "de", "fr"}, "fr"},
		{[]string{"fr", "en"}, "fr"},
		{nil, "en"},
		{[]string{"en-GB,en;q=0.9,fr;q=0.8"}, "en"},
	} {
		if got := i18n.Match(c.prefs...); got != c.want {
			t.Errorf("Match(%q) = %s, want %s", c.prefs, got, c.want)
		}
	}
	if _, err := os.Stat("catalog/en.toml"); err != nil {
		t.Fatal(err)
	}
}
