// Package web holds what both Chancery user interfaces are made of: the
// HTML templates, the style sheet, and any script and data files, all
// embedded in the binaries so that a mission with no link to the outside
// world still has a complete interface. Nothing is fetched from a CDN.
//
// Templates are parsed once, at start: a page is a file under
// templates/<program>/ rendered inside templates/layout.html, and a broken
// template stops the program before it serves anything. Static files are
// served under a URL that contains a hash of their content, so browsers
// may cache them for good and still see each new version at once.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/shared/clock"
	"chancery/shared/i18n"
	"chancery/shared/readiness"
)

//go:embed templates static
var files embed.FS

// Templates renders the pages of one program, in each shipped language.
type Templates struct {
	pages  map[string]map[string]*template.Template // language → page name → page
	static map[string]string                        // file name → hashed URL
	byHash map[string]string                        // hashed URL path → file name
}

// Parse parses the shared pages and those of program ("agent" or "hq"),
// once for each shipped language, with funcs available to every template
// in addition to the built-in ones: static (the URL of a static file), t
// and th (a catalog message, as text or with its own markup), when, dur,
// skew and num (a moment, a span, a clock's difference and a number, in
// the page's language) and the helpers below.
func Parse(program string, funcs template.FuncMap) (*Templates, error) {
	t := &Templates{pages: map[string]map[string]*template.Template{}, static: map[string]string{}, byHash: map[string]string{}}
	if err := t.hashStatic(); err != nil {
		return nil, err
	}
	for _, lang := range i18n.Languages() {
		pages, err := t.parse(program, i18n.For(lang), funcs)
		if err != nil {
			return nil, err
		}
		t.pages[lang] = pages
	}
	return t, nil
}

func (t *Templates) parse(program string, p *i18n.Printer, funcs template.FuncMap) (map[string]*template.Template, error) {
	all := template.FuncMap{
		"static": t.StaticURL,
		"add":    func(a, b int) int { return a + b },
		"join":   func(xs []string) string { return List(p, xs) },
		"sub":    func(a, b int) int { return a - b },
		"band":   Band,
		"int":    func(l readiness.Level) int { return int(l) },
		"list":   func(xs ...int) []int { return xs },
		"deref":  func(p *int) int { return *p },
		"t":      p.T,
		"th":     p.HTML,
		"lang":   p.Lang,
		"when":   func(v any) template.HTML { return When(p, v) },
		"day":    func(v time.Time) string { return p.Day(v) },
		"dur":    func(d time.Duration) string { return Duration(p, d) },
		"skew":   func(d time.Duration) string { return skew(p, d) },
		"num":    func(v any) string { return num(p, v) },
		"ago":    func(t *time.Time) string { return Ago(p, t) },
		"scope":  func(s string) string { return Scope(p, s) },
		// say is a catalog key's message, or, for text that is not a
		// key (an error from elsewhere), the text itself.
		"say": func(s string) string {
			if i18n.Has(s) {
				return p.T(s)
			}
			return s
		},
		// fieldKind is the last part of a form field's name: "guidance"
		// of "item.STR-01.guidance".
		"fieldKind": func(name string) string { return name[strings.LastIndex(name, ".")+1:] },

		"versions": func(vs []int) string {
			out := make([]string, len(vs))
			for i, v := range vs {
				out[i] = fmt.Sprintf("v%d", v)
			}
			return List(p, out)
		},
	}
	for k, v := range funcs {
		all[k] = v
	}
	base, err := template.New("layout.html").Funcs(all).ParseFS(files, "templates/layout.html", "templates/partials/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
	pages := map[string]*template.Template{}
	for _, dir := range []string{"templates/common", "templates/" + program} {
		names, err := fs.Glob(files, dir+"/*.html")
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			page, err := base.Clone()
			if err != nil {
				return nil, err
			}
			if _, err := page.ParseFS(files, n); err != nil {
				return nil, fmt.Errorf("web: %s: %w", n, err)
			}
			pages[strings.TrimSuffix(path.Base(n), ".html")] = page
		}
	}
	return pages, nil
}

func (t *Templates) hashStatic() error {
	return fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		url := "/static/" + hex.EncodeToString(sum[:6]) + "/" + name
		t.static[name] = url
		t.byHash[url] = name
		return nil
	})
}

// StaticURL returns the cache-safe URL of a static file; it panics on an
// unknown name, which the template tests catch.
func (t *Templates) StaticURL(name string) string {
	u, ok := t.static[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return u
}

// Render writes the page name with data; it implements echo.Renderer.
// The page is rendered into a buffer first so that a template error
// becomes an error page, not half a page.
func (t *Templates) Render(w io.Writer, name string, data any, c echo.Context) error {
	p, ok := t.pages[Lang(c)][name]
	if !ok {
		return fmt.Errorf("web: no page %q", name)
	}
	var buf bytes.Buffer
	if err := p.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}

// Pages lists the names of the parsed pages.
func (t *Templates) Pages() []string {
	var out []string
	for n := range t.pages[i18n.Source] {
		out = append(out, n)
	}
	return out
}

// Static serves the embedded static files at their hashed URLs.
func (t *Templates) Static(c echo.Context) error {
	name, ok := t.byHash[c.Request().URL.Path]
	if !ok {
		return echo.ErrNotFound
	}
	b, err := files.ReadFile("static/" + name)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	ct := mimeOf(name)
	return c.Blob(http.StatusOK, ct, b)
}

func mimeOf(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".json":
		return "application/json"
	case ".png":
		return "image/png"
	case ".txt", ".md":
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// List joins items the language's way: "a, b and c".
func List(p *i18n.Printer, items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return p.T("list.and", "Some", strings.Join(items[:len(items)-1], ", "), "Last", items[len(items)-1])
}

// Scope says which missions a publication is for, from its scope ("all",
// "region:Africa", "missions:FR-PAR,KE-NBO").
func Scope(p *i18n.Printer, scope string) string {
	kind, arg, _ := strings.Cut(scope, ":")
	switch kind {
	case "all":
		return p.T("scope.all")
	case "region":
		return p.T("scope.region", "Region", arg)
	case "missions":
		return p.T("scope.missions", "Missions", strings.ReplaceAll(arg, ",", ", "))
	}
	return scope
}

// Ago says how long ago t was, "3 h ago", or "never" for nil.
func Ago(p *i18n.Printer, t *time.Time) string {
	if t == nil || t.IsZero() {
		return p.T("when.never")
	}
	d := clock.Now().Sub(*t)
	if d < time.Minute {
		return p.T("when.now")
	}
	return p.T("when.ago", "Span", p.Span(d))
}

// num writes a whole number of any integer type the page's way.
func num(p *i18n.Printer, v any) string {
	switch x := v.(type) {
	case int:
		return p.Num(x)
	case int64:
		return p.Num(int(x))
	}
	return fmt.Sprint(v)
}

// Duration says a span of time as people do: minutes, hours, then days;
// nothing for zero.
func Duration(p *i18n.Printer, d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Hour:
		return p.T("span.min", "Count", int(d.Minutes()))
	case d < 72*time.Hour:
		return p.T("span.hours", "N", p.Dec(d.Hours(), 1))
	}
	return p.T("span.days", "Count", int(d.Hours()/24))
}

// skew says how far one clock is from another: "2.5 h ahead of",
// "12 min behind".
func skew(p *i18n.Printer, d time.Duration) string {
	if d < 0 {
		return p.T("skew.behind", "Span", Duration(p, -d))
	}
	return p.T("skew.ahead", "Span", Duration(p, d))
}

// When writes a moment the one way every page does, "1 Dec 2026 14:05
// UTC", with how long ago (or how soon) as a hint: times are read across
// time zones, so the absolute one leads. It takes a time.Time or a
// *time.Time; a zero or nil one is "never".
func When(p *i18n.Printer, v any) template.HTML {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x != nil {
			t = *x
		}
	}
	if t.IsZero() {
		return template.HTML(template.HTMLEscapeString(p.T("when.never")))
	}
	t = t.UTC()
	d := clock.Now().Sub(t)
	var hint string
	switch {
	case d > -time.Minute && d < time.Minute:
		hint = p.T("when.now")
	case d > 0:
		hint = p.T("when.ago", "Span", p.Span(d))
	default:
		hint = p.T("when.in", "Span", p.Span(-d))
	}
	return template.HTML(fmt.Sprintf(`<time datetime="%s">%s UTC</time> <span class="ago">(%s)</span>`,
		t.Format(time.RFC3339), template.HTMLEscapeString(p.Date(t)), template.HTMLEscapeString(hint)))
}

// StaticFile returns an embedded static file, for programs that build
// something from one (the world map from its outlines).
func StaticFile(name string) ([]byte, error) { return files.ReadFile("static/" + name) }

// Band puts a 0–100 score into one of five colour bands, for CSS classes.
func Band(score int) int {
	switch {
	case score >= 80:
		return 4
	case score >= 60:
		return 3
	case score >= 40:
		return 2
	case score >= 20:
		return 1
	}
	return 0
}
