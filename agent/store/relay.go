package store

import (
	"context"
	"errors"
	"time"

	"chancery/shared/sqlite"
)

// ErrRelayFull refuses a pouch that would take the relay store over its
// quota.
var ErrRelayFull = errors.New("the store of pouches carried for peers is full")

// Carried is a pouch held for a peer mission.
type Carried struct {
	Sum     string
	Mission string
	Raw     []byte
}

// RelayAnswer is HQ's answer to a carried pouch, waiting for its mission.
type RelayAnswer struct {
	Sum   string
	Reply []byte
	Error string
	At    time.Time
}

// relayBytes is the bytes the relay store holds: pouches not yet handed
// to HQ, and HQ's answers not yet taken.
const relayBytes = "coalesce(sum(coalesce(length(raw), 0) + coalesce(length(reply), 0)), 0)"

// RelayUse reports the bytes the relay store holds in all and for
// mission, and how many pouches of mission HQ has not answered yet.
func (d *DB) RelayUse(ctx context.Context, mission string) (used, mine int64, holding int, err error) {
	err = d.sql.QueryRowContext(ctx, `SELECT `+relayBytes+`,
		coalesce(sum(CASE WHEN mission = ? THEN coalesce(length(raw), 0) + coalesce(length(reply), 0) END), 0),
		coalesce(sum(mission = ? AND answered_at IS NULL), 0) FROM relay_pouches`, mission, mission).Scan(&used, &mine, &holding)
	return used, mine, holding, err
}

// RelayHold keeps a pouch to carry to HQ, unless that would take the
// store over quota bytes, or mission's pouches over perPeer bytes: one
// peer cannot fill the store for the others. A pouch already held is not
// stored twice.
func (d *DB) RelayHold(ctx context.Context, mission, sum string, raw []byte, quota, perPeer int64) (added bool, err error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var used, mine int64
	if err := tx.QueryRowContext(ctx, "SELECT "+relayBytes+", coalesce(sum(CASE WHEN mission = ? THEN coalesce(length(raw), 0) + coalesce(length(reply), 0) END), 0) FROM relay_pouches", mission).Scan(&used, &mine); err != nil {
		return false, err
	}
	if used+int64(len(raw)) > quota || mine+int64(len(raw)) > perPeer {
		return false, ErrRelayFull
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO relay_pouches (sum, mission, raw, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
		sum, mission, raw, sqlite.Time(d.Now()))
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n > 0, tx.Commit()
}

// RelayToCarry lists the pouches not yet handed to HQ, oldest first.
func (d *DB) RelayToCarry(ctx context.Context) ([]Carried, error) {
	return d.carried(ctx, "SELECT sum, mission, raw FROM relay_pouches WHERE answered_at IS NULL ORDER BY received_at")
}

// carried runs a query that yields sum, mission and raw.
func (d *DB) carried(ctx context.Context, query string, args ...any) ([]Carried, error) {
	rows, err := d.sql.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Carried
	for rows.Next() {
		var c Carried
		if err := rows.Scan(&c.Sum, &c.Mission, &c.Raw); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RelayAnswered records HQ's reply to a carried pouch, or its refusal,
// and drops the pouch's bytes.
func (d *DB) RelayAnswered(ctx context.Context, sum string, reply []byte, refusal string) error {
	_, err := d.sql.ExecContext(ctx, "UPDATE relay_pouches SET raw = NULL, reply = ?, error = ?, answered_at = ? WHERE sum = ?",
		reply, refusal, sqlite.Time(d.Now()), sum)
	return err
}

// RelayAnswers lists HQ's answers waiting for mission.
func (d *DB) RelayAnswers(ctx context.Context, mission string) ([]RelayAnswer, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT sum, reply, error, answered_at FROM relay_pouches WHERE mission = ? AND answered_at IS NOT NULL ORDER BY answered_at", mission)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RelayAnswer
	for rows.Next() {
		var a RelayAnswer
		if err := rows.Scan(&a.Sum, &a.Reply, &a.Error, (*sqlite.Time)(&a.At)); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// RelayTaken forgets the answers mission has taken; it returns how many.
func (d *DB) RelayTaken(ctx context.Context, mission string, sums []string) (int, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	n := 0
	for _, s := range sums {
		res, err := tx.ExecContext(ctx, "DELETE FROM relay_pouches WHERE sum = ? AND mission = ? AND answered_at IS NOT NULL", s, mission)
		if err != nil {
			return 0, err
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, tx.Commit()
}

// RelayExpire forgets HQ's answers that their mission has not taken
// since before, and returns them (without their bytes), so that the
// caller can log each.
func (d *DB) RelayExpire(ctx context.Context, before time.Time) ([]Carried, error) {
	return d.carried(ctx, "DELETE FROM relay_pouches WHERE answered_at IS NOT NULL AND answered_at < ? RETURNING sum, mission, raw",
		sqlite.Time(before))
}

// RelayExpireUnanswered drops the pouches held since before that HQ never
// answered: their missions send their changes again, and a pouch held for
// good would take its peer's share of the store for good.
func (d *DB) RelayExpireUnanswered(ctx context.Context, before time.Time) ([]Carried, error) {
	return d.carried(ctx, "DELETE FROM relay_pouches WHERE answered_at IS NULL AND received_at < ? RETURNING sum, mission, raw",
		sqlite.Time(before))
}

// RelayFailed records that HQ failed a carried pouch (an error of its own,
// not a refusal) and returns how many times it has.
func (d *DB) RelayFailed(ctx context.Context, sum, why string) (int, error) {
	var n int
	err := d.sql.QueryRowContext(ctx, "UPDATE relay_pouches SET attempts = attempts + 1, last_error = ? WHERE sum = ? RETURNING attempts", why, sum).Scan(&n)
	return n, err
}

// RelayEvent is one line of what travelled through whom.
type RelayEvent struct {
	At     time.Time
	Peer   string
	Event  string
	Pouch  string
	Bytes  int64
	Detail string
}

// relayLogKeep is how many events the log keeps.
const relayLogKeep = 2000

// LogRelay records an event, and forgets the oldest beyond relayLogKeep.
func (d *DB) LogRelay(ctx context.Context, e RelayEvent) error {
	if e.At.IsZero() {
		e.At = d.Now()
	}
	_, err := d.sql.ExecContext(ctx, "INSERT INTO relay_log (at, peer, event, pouch, bytes, detail) VALUES (?, ?, ?, ?, ?, ?)",
		sqlite.Time(e.At), e.Peer, e.Event, e.Pouch, e.Bytes, e.Detail)
	if err != nil {
		return err
	}
	_, err = d.sql.ExecContext(ctx, "DELETE FROM relay_log WHERE id <= (SELECT max(id) FROM relay_log) - ?", relayLogKeep)
	return err
}

// RelayEvents lists the latest events, newest first.
func (d *DB) RelayEvents(ctx context.Context, limit int) ([]RelayEvent, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT at, peer, event, pouch, bytes, detail FROM relay_log ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RelayEvent
	for rows.Next() {
		var e RelayEvent
		if err := rows.Scan((*sqlite.Time)(&e.At), &e.Peer, &e.Event, &e.Pouch, &e.Bytes, &e.Detail); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
