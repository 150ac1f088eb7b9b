// Package evidence is the files people keep as proof: a screenshot with
// an incident, a signed instruction or a training record with an answer.
// A file is stored under the SHA-256 of its bytes, travels to
// headquarters as a change of its own after the record that names it, and
// is checked against its hash wherever it is read. Its type is sniffed for
// information and never used to serve it: every site hands it out as a
// download in a sandbox.
package evidence

import (
	"crypto/sha256"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"chancery/shared/problem"
	"chancery/shared/text"
)

// Limits on evidence files.
const (
	// MaxSize is the largest file: enough for a phone screenshot, a
	// scanned instruction or a short clip, small enough for a slow link.
	MaxSize = 10 << 20
	// MaxFiles is the most files one record keeps.
	MaxFiles = 100
	MaxName  = 200
	maxType  = 300
	maxID    = 64
	maxBy    = 64
)

// File is an evidence file as the record that keeps it names it; its
// bytes are stored apart, under their hash.
type File struct {
	Name   string    `json:"name"`
	SHA256 string    `json:"sha256"`
	Size   int64     `json:"size"`
	Type   string    `json:"type"` // as sniffed, for information only
	At     time.Time `json:"at"`
	By     string    `json:"by"`
}

// New describes data, a file called name that by keeps at at. The name is
// cut to its last element and cleaned of control characters; a file
// empty or over MaxSize is refused.
func New(name string, data []byte, by string, at time.Time) (File, error) {
	if len(data) == 0 || len(data) > MaxSize {
		return File{}, problem.New(problem.Invalid, "incident.file_size", "Max", MaxSize>>20)
	}
	sum := sha256.Sum256(data)
	return File{Name: CleanName(name), SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)),
		Type: http.DetectContentType(data), At: at.UTC().Truncate(time.Second), By: by}, nil
}

// Upload is a file as a person sends it, before it is kept.
type Upload struct {
	Name string
	Data []byte
}

// Describe describes each upload as [New] does, refusing them all if one
// is refused.
func Describe(uploads []Upload, by string, at time.Time) ([]File, error) {
	out := make([]File, 0, len(uploads))
	for _, u := range uploads {
		f, err := New(u.Name, u.Data, by, at)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// Add returns the files of have with those of add it does not hold yet:
// the same bytes kept twice are one file.
func Add(have []File, add ...File) []File {
	out := slices.Clone(have)
	for _, f := range add {
		if !slices.ContainsFunc(out, func(g File) bool { return g.SHA256 == f.SHA256 }) {
			out = append(out, f)
		}
	}
	return out
}

// CleanName keeps the last element of a name a browser sent, without
// control characters; a name that is nothing after that is "evidence".
func CleanName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	name = strings.Map(func(r rune) rune { // a tab or newline in a name is no one's intent
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "/" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxName {
		return "evidence"
	}
	return name
}

// Matches reports whether data is the file's bytes.
func (f File) Matches(data []byte) bool {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]) == f.SHA256
}

// Check validates a file's description as any site receives it.
func (f File) Check() error {
	if err := check(f.Name, f.SHA256, f.Size); err != nil {
		return err
	}
	return text.First(text.Line("field.file_type", f.Type, maxType), text.Line("field.file_by", f.By, maxBy))
}

// CheckAll validates the files of one record.
func CheckAll(fs []File) error {
	if len(fs) > MaxFiles {
		return problem.New(problem.Invalid, "check.files", "N", len(fs), "Max", MaxFiles)
	}
	for _, f := range fs {
		if err := f.Check(); err != nil {
			return err
		}
	}
	return nil
}

func check(name, sha string, size int64) error {
	if err := text.Line("field.file_name", name, MaxName); err != nil {
		return err
	}
	if b, err := hex.DecodeString(sha); err != nil || len(b) != 32 {
		return problem.New(problem.Invalid, "check.file_sum", "Name", name)
	}
	if size < 0 || size > MaxSize {
		return problem.New(problem.Invalid, "check.file_size", "Name", name, "Size", size, "Max", MaxSize)
	}
	return nil
}

// Data is an evidence file as it travels to headquarters, after the
// record that names it: an incident's, or an answer's (Item). The
// receiver checks Data against SHA256.
type Data struct {
	Incident string `json:"incident"`
	Item     string `json:"item,omitempty"`
	SHA256   string `json:"sha256"`
	Name     string `json:"name"`
	Data     []byte `json:"data"` // base64 in JSON
}

// Check validates a file as it travels.
func (d Data) Check() error {
	if err := text.First(text.Line("field.incident_id", d.Incident, maxID), text.Line("field.item_id", d.Item, maxID)); err != nil {
		return err
	}
	return check(d.Name, d.SHA256, int64(len(d.Data)))
}

// List is a record's files as one TEXT column holds them: JSON, or empty
// text for none.
type List []File

// Value writes the list as JSON, or empty text when there is none.
func (l List) Value() (driver.Value, error) {
	if len(l) == 0 {
		return "", nil
	}
	b, err := json.Marshal([]File(l))
	return string(b), err
}

// Scan reads what Value wrote.
func (l *List) Scan(v any) error {
	var b []byte
	switch v := v.(type) {
	case nil:
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("evidence: cannot scan %T as a list of files", v)
	}
	*l = nil
	if len(b) == 0 {
		return nil
	}
	return json.Unmarshal(b, (*[]File)(l))
}
