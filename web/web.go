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
	"chancery/shared/readiness"
)

//go:embed templates static
var files embed.FS

// Templates renders the pages of one program.
type Templates struct {
	pages  map[string]*template.Template
	static map[string]string // file name → hashed URL
	byHash map[string]string // hashed URL path → file name
}

// Parse parses the shared pages and those of program ("agent" or "hq"),
// with funcs available to every template in addition to the built-in ones:
// static (the URL of a static file), and the helpers below.
func Parse(program string, funcs template.FuncMap) (*Templates, error) {
	t := &Templates{pages: map[string]*template.Template{}, static: map[string]string{}, byHash: map[string]string{}}
	if err := t.hashStatic(); err != nil {
		return nil, err
	}
	all := template.FuncMap{
		"static": t.StaticURL,
		"add":    func(a, b int) int { return a + b },
		"sub":    func(a, b int) int { return a - b },
		"band":   Band,
		"int":    func(l readiness.Level) int { return int(l) },
		"list":   func(xs ...int) []int { return xs },
		"dur":    duration,
		"skew":   skew,
		"when":   When,
		"deref":  func(p *int) int { return *p },
	}
	for k, v := range funcs {
		all[k] = v
	}
	base, err := template.New("layout.html").Funcs(all).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout: %w", err)
	}
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
			t.pages[strings.TrimSuffix(path.Base(n), ".html")] = page
		}
	}
	return t, nil
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
func (t *Templates) Render(w io.Writer, name string, data any, _ echo.Context) error {
	p, ok := t.pages[name]
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
	for n := range t.pages {
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

// duration says a span of time as people do: minutes, hours, then days;
// nothing for zero.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 72*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
}

// skew says how far one clock is from another: "2.5 h ahead of",
// "12 min behind".
func skew(d time.Duration) string {
	if d < 0 {
		return duration(-d) + " behind"
	}
	return duration(d) + " ahead of"
}

// When writes a moment the one way every page does, "1 Dec 2026 14:05
// UTC", with how long ago (or how soon) as a hint: times are read across
// time zones, so the absolute one leads. It takes a time.Time or a
// *time.Time; a zero or nil one is "never".
func When(v any) template.HTML {
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
		return "never"
	}
	t = t.UTC()
	d := clock.Now().Sub(t)
	var hint string
	switch {
	case d > -time.Minute && d < time.Minute:
		hint = "just now"
	case d > 0:
		hint = ago(d) + " ago"
	default:
		hint = "in " + ago(-d)
	}
	return template.HTML(fmt.Sprintf(`<time datetime="%s">%s UTC</time> <span class="ago">(%s)</span>`,
		t.Format(time.RFC3339), t.Format("2 Jan 2006 15:04"), hint))
}

// ago says a span the way people do: "8 min", "3 h", "2 days".
func ago(d time.Duration) string {
	switch {
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d days", int(d.Hours()/24))
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
