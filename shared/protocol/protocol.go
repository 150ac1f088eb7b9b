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
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
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
		return fmt.Errorf("protocol id %q: use 2 to 64 lower-case letters, digits and dashes", d.ID)
	case strings.TrimSpace(d.Title) == "" || utf8.RuneCountInString(d.Title) > MaxTitle:
		return fmt.Errorf("protocol %s: a title is 1 to %d characters", d.ID, MaxTitle)
	case strings.TrimSpace(d.Category) == "":
		return fmt.Errorf("protocol %s: a category is required", d.ID)
	case d.Version < 1:
		return fmt.Errorf("protocol %s: versions start at 1", d.ID)
	case len(d.Body) > MaxBody || !utf8.ValidString(d.Body):
		return fmt.Errorf("protocol %s: the text must be valid UTF-8 and at most %d bytes", d.ID, MaxBody)
	}
	return nil
}

//go:embed defaults/*.md
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

// Defaults returns the protocols every mission starts with, version 1.
func Defaults() []Document {
	names, _ := fs.Glob(defaults, "defaults/*.md")
	var out []Document
	for _, n := range names {
		b, _ := defaults.ReadFile(n)
		d, err := Parse(b)
		if err != nil {
			panic("protocol: built-in " + n + ": " + err.Error()) // caught by the package tests
		}
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Document) int { return strings.Compare(a.Title, b.Title) })
	return out
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
