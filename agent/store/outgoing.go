package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"chancery/shared/sqlite"
)

// Outgoing is a sealed pouch on its way to HQ, kept until HQ's receipt
// covers it (see migration 0110).
type Outgoing struct {
	Sum, ID     string
	First, Last int64
	Records     int
	Raw         []byte
	// Location is HQ's address of the pouch's upload, once HQ made one.
	Location string
	Sealed   time.Time
}

// KeepOutgoing keeps a sealed pouch until a receipt covers it, in place
// of any kept before.
func (d *DB) KeepOutgoing(ctx context.Context, o Outgoing) error {
	s := sha256.Sum256(o.Raw)
	o.Sum = hex.EncodeToString(s[:])
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "DELETE FROM outgoing"); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO outgoing (sum, id, first, last, records, raw, location, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		o.Sum, o.ID, o.First, o.Last, o.Records, o.Raw, o.Location, sqlite.Time(d.Now())); err != nil {
		return err
	}
	return tx.Commit()
}

// PendingOutgoing returns the pouch kept on its way to HQ, if there is one.
func (d *DB) PendingOutgoing(ctx context.Context) (Outgoing, bool, error) {
	var o Outgoing
	err := d.sql.QueryRowContext(ctx, "SELECT sum, id, first, last, records, raw, location, sealed FROM outgoing LIMIT 1").
		Scan(&o.Sum, &o.ID, &o.First, &o.Last, &o.Records, &o.Raw, &o.Location, (*sqlite.Time)(&o.Sealed))
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	return o, err == nil, err
}

// SetOutgoingLocation records where HQ keeps the kept pouch's upload.
func (d *DB) SetOutgoingLocation(ctx context.Context, sum, location string) error {
	_, err := d.sql.ExecContext(ctx, "UPDATE outgoing SET location = ? WHERE sum = ?", location, sum)
	return err
}

// DropOutgoing forgets the kept pouch.
func (d *DB) DropOutgoing(ctx context.Context) error {
	_, err := d.sql.ExecContext(ctx, "DELETE FROM outgoing")
	return err
}
