package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"chancery/shared/account"
	"chancery/shared/sqlite"
)

// Link is the mission's link to HQ, as one typed record: who the mission
// is, what it pinned of HQ at enrollment, its own key pairs, what HQ's
// receipts cover and how the last sync went. The key pairs are kept as
// the text uplink writes ("AGE-SECRET-KEY-1… base64-seed"); empty means
// the slot is empty.
type Link struct {
	Mission string // the mission's code, once enrolled
	Name    string // the mission's name, as configured or as HQ knows it

	HQURL        string   // empty for a mission enrolled by file
	HQRecipients []string // HQ's age recipients, age1…
	HQSigning    string   // HQ's Ed25519 public key, base64
	Card         string   // HQ's card for the signing key in use

	Keys Keys

	Acked       int64     // the highest sequence HQ's receipts cover
	ReceiptAt   time.Time // when HQ signed the newest reply taken, by HQ's clock
	ReplySerial int64     // HQ's reply counter on the newest reply taken
	// ClockSkew is how far this machine's clock was ahead of HQ's (behind,
	// if negative) at the last direct exchange.
	ClockSkew time.Duration

	LastOK, LastTry time.Time
	LastError       string
	// UploadSent of UploadTotal bytes of the last resumable upload.
	UploadSent, UploadTotal int64

	// PeerDocuments is the newest release the peers held when the last
	// pouch asked HQ to leave a release's documents out; -1 if it did not
	// ask.
	PeerDocuments int64
	// Deferred is the release that waits because the peers lacked its
	// documents (0 if none waits), DeferredHad the newest release they
	// held then.
	Deferred, DeferredHad int64
}

// Keys are the mission's key pairs by slot.
type Keys struct {
	Current   string // signs pouches, reads replies
	Next      string // rotated to; in use once HQ confirms it
	Previous  string // reads replies sealed before a rotation
	Enrolling string // made for an enrollment HQ has not answered
}

// Enrolled reports whether the mission has pinned HQ's keys.
func (l Link) Enrolled() bool { return l.HQSigning != "" && l.Keys.Current != "" }

const linkCols = `mission, name, hq_url, hq_recipients, hq_signing, card,
	key_current, key_next, key_previous, key_enrolling, acked, receipt_at, last_ok, last_try, last_error,
	upload_sent, upload_total, reply_serial, clock_skew_ms`

// Link returns the mission's link record.
func (d *DB) Link(ctx context.Context) (Link, error) {
	return readLink(ctx, d.sql)
}

func readLink(ctx context.Context, q queryer) (Link, error) {
	var l Link
	var recips string
	var receipt, ok, try sqlite.NullTime
	var skew int64
	err := q.QueryRowContext(ctx, "SELECT "+linkCols+", coalesce(peer_documents, -1), deferred, deferred_had FROM link WHERE id = 1").Scan(
		&l.Mission, &l.Name, &l.HQURL, &recips, &l.HQSigning, &l.Card,
		&l.Keys.Current, &l.Keys.Next, &l.Keys.Previous, &l.Keys.Enrolling, &l.Acked, &receipt, &ok, &try, &l.LastError,
		&l.UploadSent, &l.UploadTotal, &l.ReplySerial, &skew, &l.PeerDocuments, &l.Deferred, &l.DeferredHad)
	if errors.Is(err, sql.ErrNoRows) {
		return Link{PeerDocuments: -1}, nil
	}
	if err != nil {
		return l, fmt.Errorf("read the link to HQ: %w", err)
	}
	if err := json.Unmarshal([]byte(recips), &l.HQRecipients); err != nil {
		return l, fmt.Errorf("read the link to HQ: HQ's recipients: %w", err)
	}
	l.ReceiptAt, l.LastOK, l.LastTry = time.Time(receipt), time.Time(ok), time.Time(try)
	l.ClockSkew = time.Duration(skew) * time.Millisecond
	return l, nil
}

func writeLink(ctx context.Context, tx *sql.Tx, l Link) error {
	recips, err := json.Marshal(l.HQRecipients)
	if err != nil {
		return err
	}
	if l.HQRecipients == nil {
		recips = []byte("[]")
	}
	var peerDocs any
	if l.PeerDocuments >= 0 {
		peerDocs = l.PeerDocuments
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO link (id, `+linkCols+`, peer_documents, deferred, deferred_had)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET mission = excluded.mission, name = excluded.name, hq_url = excluded.hq_url,
			hq_recipients = excluded.hq_recipients, hq_signing = excluded.hq_signing, card = excluded.card,
			key_current = excluded.key_current, key_next = excluded.key_next, key_previous = excluded.key_previous,
			key_enrolling = excluded.key_enrolling, acked = excluded.acked, receipt_at = excluded.receipt_at,
			last_ok = excluded.last_ok, last_try = excluded.last_try, last_error = excluded.last_error,
			upload_sent = excluded.upload_sent, upload_total = excluded.upload_total, reply_serial = excluded.reply_serial, clock_skew_ms = excluded.clock_skew_ms,
			peer_documents = excluded.peer_documents, deferred = excluded.deferred, deferred_had = excluded.deferred_had`,
		l.Mission, l.Name, l.HQURL, string(recips), l.HQSigning, l.Card,
		l.Keys.Current, l.Keys.Next, l.Keys.Previous, l.Keys.Enrolling, l.Acked, sqlite.NullTime(l.ReceiptAt),
		sqlite.NullTime(l.LastOK), sqlite.NullTime(l.LastTry), l.LastError,
		l.UploadSent, l.UploadTotal, l.ReplySerial, l.ClockSkew.Milliseconds(), peerDocs, l.Deferred, l.DeferredHad)
	if err != nil {
		return fmt.Errorf("write the link to HQ: %w", err)
	}
	return nil
}

// UpdateLink changes the link record with change, reading and writing it
// in one transaction: two changes at once (a sync and a key rotation)
// cannot undo each other. If change returns an error nothing is written.
func (d *DB) UpdateLink(ctx context.Context, change func(*Link) error) error {
	return d.changeLink(ctx, func(_ *sql.Tx, l *Link) error { return change(l) })
}

// SetName records the mission's name as its staff configured it.
func (d *DB) SetName(ctx context.Context, by account.Actor, name string) error {
	return d.changeLink(ctx, func(tx *sql.Tx, l *Link) error {
		if l.Name == name {
			return nil
		}
		l.Name = name
		return account.Audit(ctx, tx, by, "setting", "mission_name", name)
	})
}

func (d *DB) changeLink(ctx context.Context, change func(*sql.Tx, *Link) error) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	l, err := readLink(ctx, tx)
	if err != nil {
		return err
	}
	if err := change(tx, &l); err != nil {
		return err
	}
	if err := writeLink(ctx, tx, l); err != nil {
		return err
	}
	return tx.Commit()
}
