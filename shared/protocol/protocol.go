// Package protocol is the mission's reference library: the protocols HQ
// publishes (crisis escalation, synthetic media response, AI-use rules…),
// each a Markdown document with a version that only goes up. It parses
// documents, renders them safely, and shows what changed between two
// versions.
package protocol

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"

	"chancery/shared/problem"
)

// Document is one version of one protocol.
type Document struct {
	ID       string    `json:"id"`
	Title    string    `json:"title"`
	Category string    `json:"category"`
	Version  int       `json:"version"`
	Body     string    `json:"body"` // Markdown
	Note     string    `json:"note,omitempty"`
	Issued   time.Time `json:"issued"`
	// Lang is the language of the title, category and body (the
	// ministry's own); "" is English. Text holds the document in other
	// languages, by language tag, so that each person reads it in theirs
	// (see [Document.In]).
	Lang string          `json:"lang,omitempty"`
	Text map[string]Text `json:"text,omitempty"`
}

// Text is a protocol's words in one more language.
type Text struct {
	Title    string `json:"title"`
	Category string `json:"category"`
	Body     string `json:"body"` // Markdown
}

// Language returns the language of the document's own text.
func (d Document) Language() string {
	if d.Lang == "" {
		return "en"
	}
	return d.Lang
}

// In returns the document as read in lang, and the language its words
// are then in: its text in lang if it has one, else its own (the
// ministry's language). A built-in protocol that HQ published without
// texts is read with the texts it ships with.
func (d Document) In(lang string) (Document, string) {
	t, ok := d.Text[lang]
	if !ok && d.Text == nil {
		t, ok = builtinText(d, lang)
	}
	if !ok || lang == d.Language() {
		return d, d.Language()
	}
	d.Title, d.Category, d.Body = t.Title, t.Category, t.Body
	return d, lang
}

// Words returns the document's title and body in every language it has,
// one after the other, for the search index.
func (d Document) Words() (title, body string) {
	titles, bodies := []string{d.Title}, []string{d.Body}
	texts := d.Text
	if texts == nil {
		for _, l := range builtinLangs() {
			if t, ok := builtinText(d, l); ok {
				titles, bodies = append(titles, t.Title), append(bodies, t.Body)
			}
		}
	}
	for _, l := range slices.Sorted(maps.Keys(texts)) {
		titles, bodies = append(titles, texts[l].Title), append(bodies, texts[l].Body)
	}
	return strings.Join(titles, " · "), strings.Join(bodies, "\n\n")
}

// Limits on a document.
const (
	MaxBody  = 200_000
	MaxTitle = 200
)

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,63}$`)

// Check validates a document.
func (d Document) Check() error {
	switch {
	case !idRE.MatchString(d.ID):
		return problem.New(problem.Invalid, "doc_check.id", "ID", d.ID)
	case strings.TrimSpace(d.Title) == "" || utf8.RuneCountInString(d.Title) > MaxTitle:
		return problem.New(problem.Invalid, "doc_check.title", "ID", d.ID, "Max", MaxTitle)
	case strings.TrimSpace(d.Category) == "":
		return problem.New(problem.Invalid, "doc_check.category", "ID", d.ID)
	case d.Version < 1:
		return problem.New(problem.Invalid, "doc_check.version", "ID", d.ID)
	case len(d.Body) > MaxBody || !utf8.ValidString(d.Body):
		return problem.New(problem.Invalid, "doc_check.body", "ID", d.ID, "Max", MaxBody)
	case d.Lang != "" && !langRE.MatchString(d.Lang):
		return problem.New(problem.Invalid, "doc_check.lang", "ID", d.ID, "Lang", d.Lang)
	}
	for _, l := range slices.Sorted(maps.Keys(d.Text)) {
		t := d.Text[l]
		switch {
		case !langRE.MatchString(l):
			return problem.New(problem.Invalid, "doc_check.lang", "ID", d.ID, "Lang", l)
		case strings.TrimSpace(t.Title) == "" || utf8.RuneCountInString(t.Title) > MaxTitle:
			return problem.New(problem.Invalid, "doc_check.text_title", "ID", d.ID, "Lang", l, "Max", MaxTitle)
		case strings.TrimSpace(t.Category) == "":
			return problem.New(problem.Invalid, "doc_check.text_category", "ID", d.ID, "Lang", l)
		case len(t.Body) > MaxBody || !utf8.ValidString(t.Body):
			return problem.New(problem.Invalid, "doc_check.text_body", "ID", d.ID, "Lang", l, "Max", MaxBody)
		}
	}
	return nil
}

var langRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)

//go:embed defaults
var defaults embed.FS

// Parse reads a document file: "key: value" lines (id, title, category),
// a line of three dashes, then the Markdown body.
func Parse(b []byte) (Document, error) {
	head, body, ok := strings.Cut(string(b), "\n---\n")
	if !ok {
		return Document{}, fmt.Errorf("protocol: no '---' line between the header and the text")
	}
	d := Document{Body: strings.TrimLeft(body, "\n"), Version: 1}
	for _, line := range strings.Split(head, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "id":
			d.ID = v
		case "title":
			d.Title = v
		case "category":
			d.Category = v
		default:
			return Document{}, fmt.Errorf("protocol: unknown header %q; use id, title and category", k)
		}
	}
	return d, d.Check()
}

// Defaults returns the protocols every mission starts with, version 1,
// each with its texts in the languages it ships in: defaults/<lang>/ holds
// a file of the same name for each.
func Defaults() []Document {
	out := slices.Clone(loadDefaults().docs)
	for i := range out {
		out[i].Text = maps.Clone(out[i].Text)
	}
	return out
}

type builtins struct {
	docs  []Document
	langs []string
}

var loadDefaults = sync.OnceValue(func() builtins {
	names, _ := fs.Glob(defaults, "defaults/*.md")
	dirs, _ := fs.ReadDir(defaults, "defaults")
	var b builtins
	for _, d := range dirs {
		if d.IsDir() {
			b.langs = append(b.langs, d.Name())
		}
	}
	for _, n := range names {
		d := mustParse(n)
		for _, l := range b.langs {
			tn := "defaults/" + l + "/" + path.Base(n)
			if _, err := fs.Stat(defaults, tn); err != nil {
				continue
			}
			t := mustParse(tn)
			if t.ID != d.ID {
				panic("protocol: built-in " + tn + " has id " + t.ID + ", not " + d.ID)
			}
			if d.Text == nil {
				d.Text = map[string]Text{}
			}
			d.Text[l] = Text{Title: t.Title, Category: t.Category, Body: t.Body}
		}
		if err := d.Check(); err != nil {
			panic("protocol: built-in " + n + ": " + err.Error())
		}
		b.docs = append(b.docs, d)
	}
	slices.SortFunc(b.docs, func(a, b Document) int { return strings.Compare(a.Title, b.Title) })
	return b
})

func mustParse(name string) Document {
	b, _ := defaults.ReadFile(name)
	d, err := Parse(b)
	if err != nil {
		panic("protocol: built-in " + name + ": " + err.Error()) // caught by the package tests
	}
	return d
}

func builtinLangs() []string { return loadDefaults().langs }

// builtinText is the text in lang that a built-in protocol ships with,
// if d is that protocol's built-in version, word for word.
func builtinText(d Document, lang string) (Text, bool) {
	for _, b := range loadDefaults().docs {
		if b.ID == d.ID && b.Version == d.Version && b.Body == d.Body && b.Title == d.Title {
			t, ok := b.Text[lang]
			return t, ok
		}
	}
	return Text{}, false
}

// md renders Markdown with tables; raw HTML in a document is never passed
// through (goldmark escapes it unless told it is safe, and it is not).
var md = goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))

// HTML renders a document's Markdown as safe HTML.
func HTML(markdown string) (template.HTML, error) {
	var b bytes.Buffer
	if err := md.Convert([]byte(markdown), &b); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // goldmark output with raw HTML omitted and links sanitised
}
