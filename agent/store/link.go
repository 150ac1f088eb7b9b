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
	// Root is HQ's root of trust as followed (see chancery/shared/root):
	// the newest statement taken, empty when none yet. With one, HQSigning
	// is an online key it certifies.
	Root string
	// Revoked are the mission key ids whose cards HQ has withdrawn.
	Revoked []string
	// AuditAt is the audit entry up to which HQ holds this mission's
	// chain, as its latest receipt says.
	AuditAt int64
	// PeerKey and PeerKeyPrev are the peer keys HQ handed out, the one in
	// force and the one before ("epoch.key"; see chancery/sync/relay).
	PeerKey, PeerKeyPrev string

	Keys Keys

	Acked       int64     // the highest sequence HQ's receipts cover
	ReceiptAt   time.Time // when HQ signed the newest reply taken, by HQ's clock
	ReplySerial int64     // HQ's reply counter on the newest reply taken
	// ClockSkew is how far this machine's clock was ahead of HQ's (behind,
	// if negative) at the last direct exchange.
	ClockSkew time.Duration
	// RestoredSeq is the last change of the backup the database was
	// restored from, until HQ's receipt has reconciled the log; -1 when
	// there is nothing to reconcile.
	RestoredSeq int64
	// SeqFloor is, after a reconciled restore, the last change HQ holds:
	// the next change is numbered after it.
	SeqFloor int64

	LastOK, LastTry time.Time
	LastError       string
	// Refused is HQ's answer when it last refused the mission in a way
	// trying again cannot mend (a revoked mission or key); empty once a
	// sync succeeds.
	Refused string
	// CarriedThrough is the last change of the newest pouch a peer took
	// to carry to HQ, CarriedBy that peer and CarriedAt when.
	CarriedThrough int64
	CarriedBy      string
	CarriedAt      time.Time
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
	// PouchFormat is the newest pouch format HQ has said it reads, which
	// the mission's pouches are written in (see chancery/sync/pouch); 1
	// until HQ says more.
	PouchFormat int
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
	upload_sent, upload_total, reply_serial, clock_skew_ms, restored_seq, seq_floor, hq_root, audit_at, revoked, peer_key, peer_key_prev,
	refused, carried_through, carried_by, carried_at, pouch_format`

// Link returns the mission's link record.
func (d *DB) Link(ctx context.Context) (Link, error) {
	return d.readLink(ctx, d.sql)
}

func (d *DB) readLink(ctx context.Context, q queryer) (Link, error) {
	var l Link
	var recips, revoked string
	var receipt, ok, try, carried sqlite.NullTime
	var skew int64
	err := q.QueryRowContext(ctx, "SELECT "+linkCols+", coalesce(peer_documents, -1), deferred, deferred_had FROM link WHERE id = 1").Scan(
		&l.Mission, &l.Name, &l.HQURL, &recips, &l.HQSigning, &l.Card,
		&l.Keys.Current, &l.Keys.Next, &l.Keys.Previous, &l.Keys.Enrolling, &l.Acked, &receipt, &ok, &try, &l.LastError,
		&l.UploadSent, &l.UploadTotal, &l.ReplySerial, &skew, &l.RestoredSeq, &l.SeqFloor, &l.Root, &l.AuditAt, &revoked, &l.PeerKey, &l.PeerKeyPrev,
		&l.Refused, &l.CarriedThrough, &l.CarriedBy, &carried, &l.PouchFormat, &l.PeerDocuments, &l.Deferred, &l.DeferredHad)
	if errors.Is(err, sql.ErrNoRows) {
		return Link{PeerDocuments: -1, RestoredSeq: -1, PouchFormat: 1}, nil
	}
	if err != nil {
		return l, fmt.Errorf("read the link to HQ: %w", err)
	}
	if err := json.Unmarshal([]byte(recips), &l.HQRecipients); err != nil {
		return l, fmt.Errorf("read the link to HQ: HQ's recipients: %w", err)
	}
	if err := json.Unmarshal([]byte(revoked), &l.Revoked); err != nil {
		return l, fmt.Errorf("read the link to HQ: revoked keys: %w", err)
	}
	if len(l.Revoked) == 0 {
		l.Revoked = nil
	}
	l.ReceiptAt, l.LastOK, l.LastTry, l.CarriedAt = time.Time(receipt), time.Time(ok), time.Time(try), time.Time(carried)
	// The key pairs are kept sealed under the key file (see package
	// secret): the database alone opens none of them.
	for _, k := range []*string{&l.Keys.Current, &l.Keys.Next, &l.Keys.Previous, &l.Keys.Enrolling, &l.PeerKey, &l.PeerKeyPrev} {
		if *k, err = d.box.Open(*k); err != nil {
			return l, err
		}
	}
	l.ClockSkew = time.Duration(skew) * time.Millisecond
	return l, nil
}

func (d *DB) writeLink(ctx context.Context, tx *sql.Tx, l Link) error {
	recips, err := json.Marshal(l.HQRecipients)
	if err != nil {
		return err
	}
	if l.HQRecipients == nil {
		recips = []byte("[]")
	}
	revoked, err := json.Marshal(l.Revoked)
	if err != nil {
		return err
	}
	if l.Revoked == nil {
		revoked = []byte("[]")
	}
	var peerDocs any
	if l.PeerDocuments >= 0 {
		peerDocs = l.PeerDocuments
	}
	keys := Keys{Current: d.box.Seal(l.Keys.Current), Next: d.box.Seal(l.Keys.Next), Previous: d.box.Seal(l.Keys.Previous), Enrolling: d.box.Seal(l.Keys.Enrolling)}
	_, err = tx.ExecContext(ctx, `INSERT INTO link (id, `+linkCols+`, peer_documents, deferred, deferred_had)
		VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET mission = excluded.mission, name = excluded.name, hq_url = excluded.hq_url,
			hq_recipients = excluded.hq_recipients, hq_signing = excluded.hq_signing, card = excluded.card,
			key_current = excluded.key_current, key_next = excluded.key_next, key_previous = excluded.key_previous,
			key_enrolling = excluded.key_enrolling, acked = excluded.acked, receipt_at = excluded.receipt_at,
			last_ok = excluded.last_ok, last_try = excluded.last_try, last_error = excluded.last_error,
			upload_sent = excluded.upload_sent, upload_total = excluded.upload_total, reply_serial = excluded.reply_serial, clock_skew_ms = excluded.clock_skew_ms, restored_seq = excluded.restored_seq, seq_floor = excluded.seq_floor,
			hq_root = excluded.hq_root, audit_at = excluded.audit_at, revoked = excluded.revoked,
			peer_key = excluded.peer_key, peer_key_prev = excluded.peer_key_prev,
			refused = excluded.refused, carried_through = excluded.carried_through, carried_by = excluded.carried_by, carried_at = excluded.carried_at,
			pouch_format = excluded.pouch_format, peer_documents = excluded.peer_documents, deferred = excluded.deferred, deferred_had = excluded.deferred_had`,
		l.Mission, l.Name, l.HQURL, string(recips), l.HQSigning, l.Card,
		keys.Current, keys.Next, keys.Previous, keys.Enrolling, l.Acked, sqlite.NullTime(l.ReceiptAt),
		sqlite.NullTime(l.LastOK), sqlite.NullTime(l.LastTry), l.LastError,
		l.UploadSent, l.UploadTotal, l.ReplySerial, l.ClockSkew.Milliseconds(), l.RestoredSeq, l.SeqFloor, l.Root, l.AuditAt, string(revoked), d.box.Seal(l.PeerKey), d.box.Seal(l.PeerKeyPrev),
		l.Refused, l.CarriedThrough, l.CarriedBy, sqlite.NullTime(l.CarriedAt), max(l.PouchFormat, 1), peerDocs, l.Deferred, l.DeferredHad)
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
	l, err := d.readLink(ctx, tx)
	if err != nil {
		return err
	}
	if err := change(tx, &l); err != nil {
		return err
	}
	if err := d.writeLink(ctx, tx, l); err != nil {
		return err
	}
	return tx.Commit()
}

// Restored marks the database as restored from a backup: before it sends
// anything, the mission asks HQ how far its log really went (see
// Reconcile).
func (d *DB) Restored(ctx context.Context) error {
	last, err := d.LastSeq(ctx)
	if err != nil {
		return err
	}
	return d.UpdateLink(ctx, func(l *Link) error {
		l.RestoredSeq = last
		return nil
	})
}

// Reconcile takes HQ's word on how far the mission's log went before the
// restore. The changes made since the restore were numbered after the
// backup's last, numbers HQ may hold already for changes the restore lost:
// they are appended again, unchanged, after what HQ holds (the change log
// is append-only), so that HQ takes them as new; HQ's receipt then covers
// everything up to through. It returns how many changes went again.
func (d *DB) Reconcile(ctx context.Context, through int64) (int, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	l, err := d.readLink(ctx, tx)
	if err != nil {
		return 0, err
	}
	if l.RestoredSeq < 0 {
		return 0, nil
	}
	restored := l.RestoredSeq
	l.Acked, l.RestoredSeq = max(l.Acked, through), -1
	l.SeqFloor = max(l.SeqFloor, through)
	if err := d.writeLink(ctx, tx, l); err != nil {
		return 0, err
	}
	if through <= restored {
		return 0, tx.Commit() // HQ holds no more than the backup did
	}
	var last int64
	if err := tx.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM changes").Scan(&last); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO changes (seq, entity, key, op, body, at)
		SELECT ? + row_number() OVER (ORDER BY seq), entity, key, op, body, at FROM changes WHERE seq > ? AND seq <= ? ORDER BY seq`,
		max(through, last), restored, last)
	if err != nil {
		return 0, fmt.Errorf("append again the changes made since the restore: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, "DELETE FROM outgoing"); err != nil {
		return 0, err
	}
	return int(n), tx.Commit()
}
