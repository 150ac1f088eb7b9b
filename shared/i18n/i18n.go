// Package i18n is Chancery's one message catalog: every sentence a person
// reads on a page, in an error or from the command line is looked up here
// by its key, in the reader's language, with named parameters and plural
// forms.
//
// # Catalog files
//
// The catalog is one TOML file per language under catalog/, named by its
// BCP 47 tag (en.toml, fr.toml). A key is a dotted path ("home.title");
// a message is a string or, where it counts something, a table of plural
// forms (one, other; few and many where the language has them). Text in
// {{.Name}} is a named parameter. English is the source: every key is
// there first, and a key missing from another language is shown in
// English (the package tests refuse a catalog with a missing key). Adding
// a language is adding a file: no code names the languages.
//
// # Parameters
//
// T takes its parameters as name, value pairs. A parameter named Count
// also chooses the plural form. A value of type [Key] is itself looked up
// first, so a message can name a thing ("the title") in the reader's
// language. Numbers (int, float64) are written the reader's way: "1,250"
// and "2.5" in English, "1 250" and "2,5" in French.
package i18n

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Source is the language every key is written in first, and the one a
// reader gets when no other matches.
const Source = "en"

// Localizable is a value that says itself in a printer's language, such
// as an error with a catalog message: passed as a parameter, it is put in
// the message in the reader's language.
type Localizable interface {
	In(p *Printer) string
}

// Key is a catalog key passed as a parameter: it is looked up in the
// reader's language before it is put into the message.
type Key string

//go:embed catalog/*.toml
var files embed.FS

type catalog struct {
	bundle *goi18n.Bundle
	langs  []string                   // tags, the source first, then in order of name
	keys   map[string]map[string]bool // tag → keys defined
	tags   []language.Tag
	match  language.Matcher
}

var load = sync.OnceValue(func() *catalog {
	c, err := parseCatalog(files)
	if err != nil {
		// The embedded catalog is checked by the package tests; a failure
		// here is a build that skipped them.
		panic("i18n: " + err.Error())
	}
	return c
})

func parseCatalog(fsys fs.FS) (*catalog, error) {
	c := &catalog{bundle: goi18n.NewBundle(language.English), keys: map[string]map[string]bool{}}
	names, err := fs.Glob(fsys, "catalog/*.toml")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, err
		}
		tag := strings.TrimSuffix(path.Base(n), ".toml")
		if _, err := language.Parse(tag); err != nil {
			return nil, fmt.Errorf("%s: the file name must be a language tag such as fr or pt-BR: %w", n, err)
		}
		var raw map[string]any
		if err := toml.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		var msgs []*goi18n.Message
		if err := flatten("", raw, &msgs); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if err := c.bundle.AddMessages(language.Make(tag), msgs...); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		keys := map[string]bool{}
		for _, m := range msgs {
			keys[m.ID] = true
		}
		c.keys[tag] = keys
		c.langs = append(c.langs, tag)
	}
	if c.keys[Source] == nil {
		return nil, fmt.Errorf("no catalog/%s.toml, the source language", Source)
	}
	sort.Slice(c.langs, func(i, j int) bool {
		if (c.langs[i] == Source) != (c.langs[j] == Source) {
			return c.langs[i] == Source
		}
		return c.langs[i] < c.langs[j]
	})
	for _, l := range c.langs {
		c.tags = append(c.tags, language.Make(l))
	}
	c.match = language.NewMatcher(c.tags)
	return c, nil
}

var pluralForms = map[string]bool{"zero": true, "one": true, "two": true, "few": true, "many": true, "other": true}

// flatten turns a catalog file's tables into messages with dotted keys.
// A table whose keys are all plural forms, "other" among them, is one
// message with those forms; any other table holds more keys (so a key
// may be named "other", as the incident kind is).
func flatten(prefix string, v map[string]any, out *[]*goi18n.Message) error {
	for k, x := range v {
		id := k
		if prefix != "" {
			id = prefix + "." + k
		}
		switch x := x.(type) {
		case string:
			*out = append(*out, &goi18n.Message{ID: id, Other: x})
		case map[string]any:
			plural := x["other"] != nil
			for f := range x {
				plural = plural && pluralForms[f]
			}
			if !plural {
				if err := flatten(id, x, out); err != nil {
					return err
				}
				continue
			}
			m := &goi18n.Message{ID: id}
			for f, s := range x {
				str, ok := s.(string)
				if !ok {
					return fmt.Errorf("%s.%s: a plural form is a string", id, f)
				}
				switch f {
				case "zero":
					m.Zero = str
				case "one":
					m.One = str
				case "two":
					m.Two = str
				case "few":
					m.Few = str
				case "many":
					m.Many = str
				case "other":
					m.Other = str
				}
			}
			*out = append(*out, m)
		default:
			return fmt.Errorf("%s: a message is a string, or a table of plural forms", id)
		}
	}
	return nil
}

// Languages returns the tags of the shipped languages, the source first.
func Languages() []string { return slices.Clone(load().langs) }

// Supported reports whether tag is a shipped language, exactly.
func Supported(tag string) bool { return load().keys[tag] != nil }

// Keys returns the keys a language's catalog defines, sorted.
func Keys(tag string) []string {
	var out []string
	for k := range load().keys[tag] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Match returns the shipped language that best serves a reader whose
// preferences are prefs, in order: each a tag ("fr") or an
// Accept-Language header ("fr-CH, fr;q=0.9, en;q=0.8"). Empty ones are
// skipped; with none that matches, it is the source language.
func Match(prefs ...string) string {
	c := load()
	for _, p := range prefs {
		if strings.TrimSpace(p) == "" {
			continue
		}
		tags, _, err := language.ParseAcceptLanguage(p)
		if err != nil || len(tags) == 0 {
			continue
		}
		if _, i, conf := c.match.Match(tags...); conf > language.No {
			return c.langs[i]
		}
	}
	return Source
}

// FromEnv returns the language of a POSIX locale environment (LC_ALL,
// then LC_MESSAGES, then LANG: "fr_FR.UTF-8" is fr-FR), or "" for none or
// for the C locale: the command line's language.
func FromEnv(environ []string) string {
	env := map[string]string{}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, k := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		v := env[k]
		if v == "" {
			continue
		}
		v, _, _ = strings.Cut(v, ".")
		v, _, _ = strings.Cut(v, "@")
		if v == "C" || v == "POSIX" {
			return ""
		}
		return strings.ReplaceAll(v, "_", "-")
	}
	return ""
}

// Local is the printer of the process's locale (see FromEnv): the
// language of the command line.
var Local = sync.OnceValue(func() *Printer { return For(Match(FromEnv(os.Environ()))) })

// Printer writes messages, numbers and dates in one language.
type Printer struct {
	lang string
	loc  *goi18n.Localizer
	num  *message.Printer
}

var printers sync.Map // tag → *Printer

// For returns the printer of a shipped language; an unknown tag gets the
// best match (so "fr-CH" gets French).
func For(tag string) *Printer {
	if !Supported(tag) {
		tag = Match(tag)
	}
	if p, ok := printers.Load(tag); ok {
		return p.(*Printer)
	}
	p := &Printer{lang: tag, loc: goi18n.NewLocalizer(load().bundle, tag, Source), num: message.NewPrinter(language.Make(tag))}
	printers.Store(tag, p)
	return p
}

// English is the printer of the source language, for logs and for
// messages that have no reader yet.
func English() *Printer { return For(Source) }

// Lang returns the printer's language tag, for lang="…" attributes.
func (p *Printer) Lang() string { return p.lang }

// T returns the message key with its parameters, given as name, value
// pairs. A key the catalog lacks comes back as itself, so a page never
// goes blank (and the catalog test names it).
func (p *Printer) T(key string, args ...any) string {
	data, count := p.params(args, false)
	return p.localize(key, data, count)
}

// HTML is T for messages that hold markup of their own (<strong>, a
// link): parameters are escaped, except those already template.HTML.
func (p *Printer) HTML(key string, args ...any) template.HTML {
	data, count := p.params(args, true)
	return template.HTML(p.localize(key, data, count))
}

func (p *Printer) localize(key string, data map[string]any, count any) string {
	if key == "" {
		return ""
	}
	s, err := p.loc.Localize(&goi18n.LocalizeConfig{MessageID: key, TemplateData: data, PluralCount: count})
	if err != nil && s == "" {
		missing.Store(key, true)
		return key
	}
	return s
}

// missing holds the keys asked for that no catalog has.
var missing sync.Map

// Missing returns the keys asked for since the program started that no
// catalog has, sorted: a page that showed one showed its key instead of
// words. The tests that render every page check it is empty.
func Missing() []string {
	var out []string
	missing.Range(func(k, _ any) bool { out = append(out, k.(string)); return true })
	sort.Strings(out)
	return out
}

// Lacking returns, as "fr: key", each of keys that a shipped language's
// catalog lacks: for tests of the values a program says through the
// catalog.
func Lacking(keys ...string) []string {
	var out []string
	for _, l := range Languages() {
		for _, k := range keys {
			if !load().keys[l][k] {
				out = append(out, l+": "+k)
			}
		}
	}
	return out
}

// Has reports whether the source catalog has key.
func Has(key string) bool { return load().keys[Source][key] }

func (p *Printer) params(args []any, escape bool) (map[string]any, any) {
	if len(args) == 0 {
		return nil, nil
	}
	data := make(map[string]any, len(args)/2)
	var count any
	for i := 0; i+1 < len(args); i += 2 {
		name := fmt.Sprint(args[i])
		v := args[i+1]
		if name == "Count" {
			count = v
		}
		var s string
		switch x := v.(type) {
		case Key:
			s = p.T(string(x))
		case Localizable:
			s = x.In(p)
		case template.HTML:
			data[name] = string(x)
			continue
		case int:
			s = p.Num(x)
		case int64:
			s = p.Num(int(x))
		case float64:
			s = p.Dec(x, 1)
		case fmt.Stringer:
			s = x.String()
		case error:
			s = x.Error()
		default:
			s = fmt.Sprint(v)
		}
		if escape {
			s = template.HTMLEscapeString(s)
		}
		data[name] = s
	}
	return data, count
}

// Num writes a whole number with the language's grouping: 1,250 or 1 250.
func (p *Printer) Num(n int) string { return p.num.Sprintf("%d", n) }

// Dec writes a number with digits decimals: 2.5 or 2,5.
func (p *Printer) Dec(f float64, digits int) string {
	return p.num.Sprintf("%.*f", digits, f)
}

// Date writes a moment as every page does, "1 Dec 2026 14:05" (in UTC:
// the caller says so), with the month's short name in the language.
func (p *Printer) Date(t time.Time) string {
	t = t.UTC()
	return p.T("date.format", "Day", fmt.Sprint(t.Day()), "Month", Key(fmt.Sprintf("date.month.%d", int(t.Month()))),
		"Year", fmt.Sprint(t.Year()), "Time", t.Format("15:04"))
}

// Day writes a date without the time: "1 Dec 2026".
func (p *Printer) Day(t time.Time) string {
	t = t.UTC()
	return p.T("date.day", "Day", fmt.Sprint(t.Day()), "Month", Key(fmt.Sprintf("date.month.%d", int(t.Month()))), "Year", fmt.Sprint(t.Year()))
}

// Span says a length of time the way people do: "8 min", "3 h", "2 days"
// (whole units).
func (p *Printer) Span(d time.Duration) string {
	switch {
	case d < time.Hour:
		return p.T("span.min", "Count", int(d.Minutes()))
	case d < 48*time.Hour:
		return p.T("span.h", "Count", int(d.Hours()))
	}
	return p.T("span.days", "Count", int(d.Hours()/24))
}
