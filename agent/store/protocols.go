package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"chancery/shared/account"
	"chancery/shared/changelog"
	"chancery/shared/problem"
	"chancery/shared/protocol"
	"chancery/shared/sqlite"
)

// Install adds protocol versions to the library. A version the library
// already holds is left as it is; one older than the version in force is
// refused, so that an old document can never replace a newer one.
func (d *DB) Install(ctx context.Context, by account.Actor, docs []protocol.Document) (int, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	added := 0
	now := sqlite.Time(d.Now())
	for _, doc := range docs {
		if err := doc.Check(); err != nil {
			return 0, err
		}
		var cur int
		if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM protocols WHERE id = ?", doc.ID).Scan(&cur); err != nil {
			return 0, err
		}
		switch {
		case doc.Version == cur:
			continue
		case doc.Version < cur:
			return 0, problem.New(problem.Conflict, "protocol.older", "ID", doc.ID, "Version", doc.Version, "Current", cur)
		}
		issued := doc.Issued
		if issued.IsZero() {
			issued = d.Now()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO protocols (id, version, title, category, body, note, issued_at, received_at, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			doc.ID, doc.Version, doc.Title, doc.Category, doc.Body, doc.Note, sqlite.Time(issued), now, texts(doc)); err != nil {
			return 0, err
		}
		if err := index(ctx, tx, doc); err != nil {
			return 0, err
		}
		if err := account.Audit(ctx, tx, by, "protocol.install", doc.ID, fmt.Sprintf("version %d", doc.Version)); err != nil {
			return 0, err
		}
		added++
	}
	return added, tx.Commit()
}

// Shelf is a protocol as its library page shows it to one person.
type Shelf struct {
	protocol.Document
	Acked bool // this person acknowledged the version in force
}

const protoCols = "id, version, title, category, body, note, issued_at, text"

func scanDoc(r interface{ Scan(...any) error }) (protocol.Document, error) {
	var d protocol.Document
	var text string
	if err := r.Scan(&d.ID, &d.Version, &d.Title, &d.Category, &d.Body, &d.Note, (*sqlite.Time)(&d.Issued), &text); err != nil {
		return d, err
	}
	return d, readTexts(&d, text)
}

// texts is the text column of a document: its other languages, as JSON.
func texts(d protocol.Document) string {
	if len(d.Text) == 0 {
		return ""
	}
	b, _ := json.Marshal(d.Text) // strings only: cannot fail
	return string(b)
}

func readTexts(d *protocol.Document, text string) error {
	if text == "" {
		return nil
	}
	if err := json.Unmarshal([]byte(text), &d.Text); err != nil {
		return fmt.Errorf("protocol %s version %d: its texts in the database are damaged: %w", d.ID, d.Version, err)
	}
	return nil
}

// Library lists the version in force of every protocol, by category and
// title, with whether username has acknowledged it.
func (d *DB) Library(ctx context.Context, username string) ([]Shelf, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT `+protoCols+`, EXISTS (SELECT 1 FROM acks a WHERE a.protocol = p.id AND a.version = p.version AND a.username = ?)
		FROM protocols p WHERE version = (SELECT max(version) FROM protocols q WHERE q.id = p.id) ORDER BY category, title`, username)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Shelf
	for rows.Next() {
		var s Shelf
		var text string
		if err := rows.Scan(&s.ID, &s.Version, &s.Title, &s.Category, &s.Body, &s.Note, (*sqlite.Time)(&s.Issued), &text, &s.Acked); err != nil {
			return nil, err
		}
		if err := readTexts(&s.Document, text); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// Versions returns every version of a protocol, newest first.
func (d *DB) Versions(ctx context.Context, id string) ([]protocol.Document, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT "+protoCols+" FROM protocols WHERE id = ? ORDER BY version DESC", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []protocol.Document
	for rows.Next() {
		doc, err := scanDoc(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, doc)
	}
	if len(out) == 0 {
		return nil, problem.New(problem.NotFound, "protocol.none", "ID", id)
	}
	return out, rows.Err()
}

// Hit is a search result.
type Hit struct {
	ID, Title string
	// Snippet is plain text around the match; the page escapes it.
	Snippet string
}

// Search finds the protocols in force whose title or text contain every
// word of the query (each word may be the start of a longer one).
func (d *DB) Search(ctx context.Context, query string) ([]Hit, error) {
	var prefixes, stems []string
	for _, w := range strings.FieldsFunc(query, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		prefixes = append(prefixes, `"`+w+`"*`)
		// The word stemmed, or a phrase it stands for (protocol.Synonyms).
		alts := []string{`"` + w + `"`}
		for _, p := range protocol.SynonymsOf(w) {
			alts = append(alts, `"`+p+`"`)
		}
		stems = append(stems, "("+strings.Join(alts, " OR ")+")")
		if len(prefixes) == 10 {
			break
		}
	}
	if len(prefixes) == 0 {
		return nil, nil
	}
	// Whole words first, by their stems and synonyms; then what the words
	// begin, as typed.
	out, err := d.search(ctx, "protocols_stem", strings.Join(stems, " AND "), nil)
	if err != nil {
		return nil, err
	}
	return d.search(ctx, "protocols_fts", strings.Join(prefixes, " "), out)
}

// search appends to out the hits of one index not already in it.
func (d *DB) search(ctx context.Context, table, match string, out []Hit) ([]Hit, error) {
	rows, err := d.sql.QueryContext(ctx, `SELECT id, title, snippet(`+table+`, 2, '', '', '…', 16) FROM `+table+`
		WHERE `+table+` MATCH ? ORDER BY rank LIMIT 50`, match)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var h Hit
		if err := rows.Scan(&h.ID, &h.Title, &h.Snippet); err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(x Hit) bool { return x.ID == h.ID }) {
			out = append(out, h)
		}
	}
	return out, rows.Err()
}

// index puts a protocol's version in force in both search indexes.
// index puts a document's words, in every language it has, in the
// search indexes.
func index(ctx context.Context, tx *sql.Tx, doc protocol.Document) error {
	id := doc.ID
	title, body := doc.Words()
	for _, table := range []string{"protocols_fts", "protocols_stem"} {
		if _, err := tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE id = ?", id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO "+table+" (id, title, body) VALUES (?, ?, ?)", id, title, body); err != nil {
			return err
		}
	}
	return nil
}

// Ack is one acknowledgement, as it travels in the change log.
type Ack = changelog.Ack

// Acknowledge records that a person has read and understood the version
// of a protocol in force. Acknowledgements travel to HQ, for the rollout
// ledger.
func (d *DB) Acknowledge(ctx context.Context, by account.Actor, id string, version int) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var cur int
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM protocols WHERE id = ?", id).Scan(&cur); err != nil {
		return err
	}
	switch {
	case cur == 0:
		return problem.New(problem.NotFound, "protocol.none", "ID", id)
	case version != cur:
		return problem.New(problem.Conflict, "protocol.superseded", "Version", version, "Current", cur)
	}
	a := Ack{Protocol: id, Version: version, Username: by.Username, At: d.Now().UTC().Truncate(time.Millisecond)}
	res, err := tx.ExecContext(ctx, "INSERT INTO acks (protocol, version, username, at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
		a.Protocol, a.Version, a.Username, sqlite.Time(a.At))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil // acknowledged already
	}
	if err := appendChange(ctx, tx, changelog.EntityAck, fmt.Sprintf("%s@%d@%s", id, version, by.Username), a, a.At); err != nil {
		return err
	}
	if err := account.Audit(ctx, tx, by, "protocol.ack", id, fmt.Sprintf("version %d", version)); err != nil {
		return err
	}
	return tx.Commit()
}

// Acks returns who acknowledged a version, and when.
func (d *DB) Acks(ctx context.Context, id string, version int) (map[string]time.Time, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT username, at FROM acks WHERE protocol = ? AND version = ?", id, version)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var u string
		var at sqlite.Time
		if err := rows.Scan(&u, &at); err != nil {
			return nil, err
		}
		out[u] = time.Time(at)
	}
	return out, rows.Err()
}
