package web

import (
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"text/template/parse"

	"github.com/labstack/echo/v4"

	"chancery/shared/i18n"
)

// templateText rebuilds a template file with every action replaced by a
// NUL, so that what is left is the text a reader would see whatever the
// data, and collects the catalog keys its t and th calls name.
func templateText(t *testing.T, name, src string) (string, []string) {
	t.Helper()
	trees := map[string]*parse.Tree{}
	tr := parse.New(name)
	tr.Mode = parse.SkipFuncCheck
	if _, err := tr.Parse(src, "", "", trees); err != nil {
		t.Fatal(err)
	}
	trees[name] = tr
	var text strings.Builder
	var keys []string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.TextNode:
			text.Write(n.Text)
		case *parse.ActionNode:
			text.WriteByte(0)
			pipeKeys(n.Pipe, &keys)
		case *parse.IfNode:
			pipeKeys(n.Pipe, &keys)
			walk(n.List)
			if n.ElseList != nil {
				walk(n.ElseList)
			}
		case *parse.RangeNode:
			pipeKeys(n.Pipe, &keys)
			walk(n.List)
			if n.ElseList != nil {
				walk(n.ElseList)
			}
		case *parse.WithNode:
			pipeKeys(n.Pipe, &keys)
			walk(n.List)
			if n.ElseList != nil {
				walk(n.ElseList)
			}
		case *parse.TemplateNode:
			text.WriteByte(0)
		}
	}
	for _, tr := range trees {
		walk(tr.Root)
		text.WriteByte(0)
	}
	return text.String(), keys
}

// pipeKeys collects the literal keys of t and th calls in a pipeline.
func pipeKeys(p *parse.PipeNode, keys *[]string) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for i, a := range c.Args {
			switch a := a.(type) {
			case *parse.IdentifierNode:
				if (a.Ident == "t" || a.Ident == "th") && i+1 < len(c.Args) {
					if s, ok := c.Args[i+1].(*parse.StringNode); ok {
						*keys = append(*keys, s.Text)
					}
				}
			case *parse.PipeNode:
				pipeKeys(a, keys)
			}
		}
	}
}

var (
	verbatimRE = regexp.MustCompile(`(?s)<(pre|code|script|style)\b[^>]*>.*?</(pre|code|script|style)>|<!--.*?-->`)
	tagRE      = regexp.MustCompile(`(?s)<[^>]*>`)
	attrRE     = regexp.MustCompile(`\b(title|alt|placeholder|aria-label|value|label)="([^"\x00]*)"`)
	entityRE   = regexp.MustCompile(`&#?\w+;`)
	// What a page may say in any language: the product's name, formats,
	// units and example values.
	allowedRE = regexp.MustCompile(`\b(Chancery|CSV|JSON|GeoJSON|UTC|SHA-256|X, TikTok, Telegram|fr, ar|FR-PAR, KE-NBO)\b|\bv\x00|\x00`)
	letterRE  = regexp.MustCompile(`\pL{2,}`)
)

// TestTemplatesHoldNoUntranslatedText: every word a page shows comes
// from the catalog; a sentence typed into a template would read in
// English on every page, whatever the reader's language.
func TestTemplatesHoldNoUntranslatedText(t *testing.T) {
	names, err := fs.Glob(files, "templates/*/*.html")
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, "templates/layout.html")
	src := i18n.Keys(i18n.Source)
	has := map[string]bool{}
	for _, k := range src {
		has[k] = true
	}
	used := 0
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		text, keys := templateText(t, n, string(b))
		for _, k := range keys {
			used++
			if !has[k] {
				t.Errorf("%s: the catalog has no key %q", n, k)
			}
		}
		text = verbatimRE.ReplaceAllString(text, "\x00")
		for _, m := range attrRE.FindAllStringSubmatch(text, -1) {
			if m[1] == "value" {
				continue // form values are data, not words
			}
			if w := letterRE.FindString(allowedRE.ReplaceAllString(m[2], "")); w != "" {
				t.Errorf("%s: the %s %q is not from the catalog", n, m[1], m[2])
			}
		}
		visible := entityRE.ReplaceAllString(tagRE.ReplaceAllString(text, "\x00"), "")
		for _, chunk := range strings.Split(visible, "\x00") {
			if w := letterRE.FindString(allowedRE.ReplaceAllString(chunk, "")); w != "" {
				t.Errorf("%s: %q is not from the catalog", n, strings.TrimSpace(chunk))
			}
		}
	}
	if used < 300 {
		t.Fatalf("the templates name %d catalog keys; they name far more", used)
	}
}

// TestTheTestSeesEnglish: the check above finds a sentence typed into a
// template, in text or in an attribute.
func TestTheTestSeesEnglish(t *testing.T) {
	for _, src := range []string{`<p>{{t "home.title"}} Sign off now</p>`, `<input aria-label="Search here">`, `{{if .X}}Never{{end}}`} {
		text, _ := templateText(t, "probe", src)
		text = verbatimRE.ReplaceAllString(text, "\x00")
		found := false
		for _, m := range attrRE.FindAllStringSubmatch(text, -1) {
			found = found || letterRE.MatchString(allowedRE.ReplaceAllString(m[2], ""))
		}
		for _, chunk := range strings.Split(entityRE.ReplaceAllString(tagRE.ReplaceAllString(text, "\x00"), ""), "\x00") {
			found = found || letterRE.MatchString(allowedRE.ReplaceAllString(chunk, ""))
		}
		if !found {
			t.Errorf("the check misses the English in %s", src)
		}
	}
}

// TestSiteLanguage: a browser that asks for no language Chancery speaks
// gets the site's default; one that asks for one it speaks gets that.
func TestSiteLanguage(t *testing.T) {
	pages, err := Parse("agent", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Site{Pages: pages, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Name: "Embassy", Language: "fr"}
	e := s.Echo()
	e.GET("/login", func(c echo.Context) error {
		return c.Render(http.StatusOK, "login", s.Page(c, "login.title", loginData{}))
	})
	for _, c := range []struct{ accept, want string }{{"", "fr"}, {"de-DE", "fr"}, {"en-GB,en;q=0.8", "en"}, {"fr-CA", "fr"}} {
		req := httptest.NewRequest("GET", "/login", nil)
		if c.accept != "" {
			req.Header.Set("Accept-Language", c.accept)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), `<html lang="`+c.want+`">`) {
			t.Errorf("Accept-Language %q: want a page in %s", c.accept, c.want)
		}
	}
	// The links at the foot of the login page choose for this browser.
	req := httptest.NewRequest("GET", "/lang?to=en&next=/login", nil)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Fatalf("choosing a language: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	req = httptest.NewRequest("GET", "/login", nil)
	for _, ck := range rec.Result().Cookies() {
		req.AddCookie(ck)
	}
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `<html lang="en">`) || !strings.Contains(rec.Body.String(), `id="lang-fr"`) {
		t.Error("the language chosen at the login page does not hold, or the page offers no way back")
	}
	for _, bad := range []string{"/lang?to=xx", "/lang?to=en&next=https://evil.example/"} {
		rec = httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", bad, nil))
		if loc := rec.Header().Get("Location"); strings.Contains(loc, "evil") || (strings.Contains(bad, "xx") && rec.Code != http.StatusBadRequest) {
			t.Errorf("%s: %d %s", bad, rec.Code, loc)
		}
	}
}
