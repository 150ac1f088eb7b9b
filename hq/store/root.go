package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"filippo.io/age"

	"chancery/shared/account"
	"chancery/shared/problem"
	"chancery/shared/root"
	"chancery/shared/sqlite"
)

// HQ's root of trust (see chancery/sync/root). The root keys never come
// here: HQ keeps the signed statements, sends missions the versions they
// have not followed, and changes its online keys only to keys a statement
// certifies. A rotation goes:
//
//  1. NewOnlineKeys makes the next keys, kept aside (pending);
//  2. off line, the holders of the root keys sign a statement that
//     certifies them;
//  3. InstallRoot takes the statement and puts the pending keys in use;
//     the old age identity stays to open pouches sealed before missions
//     followed.

// Online is the public half of HQ's keys in use.
func (d *DB) Online() root.Online {
	k := d.Keys()
	return root.Online{Signing: []string{d.HQSigningPublic()}, Recipients: []string{k.Identity.Recipient().String()}}
}

// NewOnlineKeys makes HQ's next online keys and keeps them aside until a
// root statement certifies them; the same keys again if some are waiting.
// It returns their public half, for the root keys' holders to certify.
func (d *DB) NewOnlineKeys(ctx context.Context, by account.Actor) (root.Online, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return root.Online{}, err
	}
	defer tx.Rollback()
	k, err := d.pending(ctx, tx)
	if err != nil {
		return root.Online{}, err
	}
	if k == nil {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return root.Online{}, err
		}
		seed := make([]byte, ed25519.SeedSize)
		rand.Read(seed)
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('hq_pending_identity', ?), ('hq_pending_signing_seed', ?)",
			d.box.Seal(id.String()), d.box.Seal(base64.StdEncoding.EncodeToString(seed))); err != nil {
			return root.Online{}, err
		}
		k = &Keys{Identity: id, Signing: ed25519.NewKeyFromSeed(seed)}
		if err := account.Audit(ctx, tx, by, "hq-keys-new", "", "online keys made, waiting for the root's signature"); err != nil {
			return root.Online{}, err
		}
	}
	pub := base64.StdEncoding.EncodeToString(k.Signing.Public().(ed25519.PublicKey))
	return root.Online{Signing: []string{pub}, Recipients: []string{k.Identity.Recipient().String()}}, tx.Commit()
}

func (d *DB) pending(ctx context.Context, tx *sql.Tx) (*Keys, error) {
	var idStr, seed sql.NullString
	err := tx.QueryRowContext(ctx, "SELECT (SELECT value FROM meta WHERE key = 'hq_pending_identity'), (SELECT value FROM meta WHERE key = 'hq_pending_signing_seed')").Scan(&idStr, &seed)
	if err != nil || !idStr.Valid {
		return nil, err
	}
	k, err := parseKeys(d.box, idStr.String, seed.String)
	return &k, err
}

func parseKeys(box interface{ Open(string) (string, error) }, sealedID, sealedSeed string) (Keys, error) {
	idStr, err := box.Open(sealedID)
	if err != nil {
		return Keys{}, err
	}
	seedStr, err := box.Open(sealedSeed)
	if err != nil {
		return Keys{}, err
	}
	id, err := age.ParseX25519Identity(idStr)
	if err != nil {
		return Keys{}, fmt.Errorf("an HQ identity in the database is damaged: %w", err)
	}
	s, err := base64.StdEncoding.DecodeString(seedStr)
	if err != nil || len(s) != ed25519.SeedSize {
		return Keys{}, errors.New("an HQ signing key in the database is damaged")
	}
	return Keys{Identity: id, Signing: ed25519.NewKeyFromSeed(s)}, nil
}

func (d *DB) previousIdentities(ctx context.Context) ([]*age.X25519Identity, error) {
	var v string
	err := d.sql.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'hq_previous_identities'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if v, err = d.box.Open(v); err != nil {
		return nil, err
	}
	var ss []string
	if err := json.Unmarshal([]byte(v), &ss); err != nil {
		return nil, fmt.Errorf("HQ's previous identities in the database are damaged: %w", err)
	}
	var out []*age.X25519Identity
	for _, s := range ss {
		id, err := age.ParseX25519Identity(s)
		if err != nil {
			return nil, fmt.Errorf("HQ's previous identities in the database are damaged: %w", err)
		}
		out = append(out, id)
	}
	return out, nil
}

// ReloadKeys reads HQ's keys again: a running HQ calls it when told a
// rotation was installed (SIGHUP).
func (d *DB) ReloadKeys(ctx context.Context) error {
	if err := d.loadAllKeys(ctx); err != nil {
		return err
	}
	d.roots.forget()
	return nil
}

func (d *DB) loadAllKeys(ctx context.Context) error {
	k, err := d.loadKeys(ctx, d.box)
	if err != nil {
		return err
	}
	if k.Previous, err = d.previousIdentities(ctx); err != nil {
		return err
	}
	d.keys.Store(&k)
	return nil
}

// Roots are the root statements installed, oldest first.
//
// A root installed by another process (the command line) is seen within
// a few seconds; if it came with new online keys, they are put in use
// first, so that a reply never carries a root without its keys.
func (d *DB) Roots(ctx context.Context) ([][]byte, error) {
	return d.roots.get(d.Now(), func() ([][]byte, error) {
		all, err := d.readRoots(ctx)
		if err != nil {
			return nil, err
		}
		if n := len(all); n != d.rootsSeen {
			if err := d.loadAllKeys(ctx); err != nil {
				return nil, err
			}
			d.rootsSeen = n
		}
		return all, nil
	})
}

func (d *DB) readRoots(ctx context.Context) ([][]byte, error) {
	rows, err := d.sql.QueryContext(ctx, "SELECT body FROM hq_roots ORDER BY version")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		out = append(out, []byte(b))
	}
	return out, rows.Err()
}

// RootsAfter are the statements after version v, for a mission that
// follows v.
func (d *DB) RootsAfter(ctx context.Context, v int64) ([]json.RawMessage, error) {
	all, err := d.Roots(ctx)
	if err != nil {
		return nil, err
	}
	var out []json.RawMessage
	for i, b := range all {
		if int64(i+1) > v { // versions are 1, 2, … with no gap (InstallRoot)
			out = append(out, b)
		}
	}
	return out, nil
}

// Root is the newest statement installed, Zero if none.
func (d *DB) Root(ctx context.Context) (root.Trusted, error) {
	all, err := d.Roots(ctx)
	if err != nil || len(all) == 0 {
		return root.Trusted{}, err
	}
	return root.Load(all[len(all)-1])
}

// InstallRoot takes a root statement signed off line. The first must
// certify HQ's keys in use; each next one must follow from the one before
// (signed by a threshold of its root keys) and certify either the keys in
// use or the keys NewOnlineKeys set aside, which it then puts in use. It
// reports whether the keys changed: a running HQ must then reload them.
func (d *DB) InstallRoot(ctx context.Context, by account.Actor, body []byte) (rotated bool, err error) {
	_, st, err := root.Parse(body)
	if err != nil {
		return false, problem.Errorf(problem.Invalid, "This is not a root statement HQ can take: %v.", err)
	}
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var prev root.Trusted
	var last sql.NullString
	if err := tx.QueryRowContext(ctx, "SELECT body FROM hq_roots ORDER BY version DESC LIMIT 1").Scan(&last); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if last.Valid {
		if prev, err = root.Load([]byte(last.String)); err != nil {
			return false, err
		}
	}
	cur := d.Keys()
	curPub := base64.StdEncoding.EncodeToString(cur.Signing.Public().(ed25519.PublicKey))
	next, err := d.pending(ctx, tx)
	if err != nil {
		return false, err
	}
	var nextPub string
	if next != nil {
		nextPub = base64.StdEncoding.EncodeToString(next.Signing.Public().(ed25519.PublicKey))
	}
	if prev.Zero() {
		if st.Version != 1 {
			return false, problem.Errorf(problem.Invalid, "HQ has no root yet: install version 1 first, not version %d.", st.Version)
		}
		if !slicesHas(st.Online.Signing, curPub) {
			return false, problem.Errorf(problem.Invalid, "The first root statement must certify HQ's keys in use (%s); write them with \"chancery-hq root online\" and sign again.", curPub)
		}
	} else {
		got, err := prev.Follow([][]byte{body}, "")
		if err != nil || got.Statement.Version != prev.Statement.Version+1 {
			return false, problem.Errorf(problem.Invalid, "HQ follows root version %d; this statement does not follow from it (%v). Sign version %d with the root keys of version %d.",
				prev.Statement.Version, errOr(err, "it is not the next version"), prev.Statement.Version+1, prev.Statement.Version)
		}
	}
	switch {
	case slicesHas(st.Online.Signing, curPub) && slicesHas(st.Online.Recipients, cur.Identity.Recipient().String()):
	case next != nil && slicesHas(st.Online.Signing, nextPub) && slicesHas(st.Online.Recipients, next.Identity.Recipient().String()):
		rotated = true
	default:
		return false, problem.Errorf(problem.Invalid, "The statement certifies neither HQ's keys in use nor the new keys waiting: nothing was changed.")
	}
	if rotated {
		prevIDs := append([]*age.X25519Identity{cur.Identity}, cur.Previous...)
		var ss []string
		for _, id := range prevIDs {
			ss = append(ss, id.String())
		}
		b, _ := json.Marshal(ss)
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"INSERT INTO meta (key, value) VALUES ('hq_previous_identities', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", []any{d.box.Seal(string(b))}},
			{"UPDATE meta SET value = (SELECT value FROM meta WHERE key = 'hq_pending_identity') WHERE key = 'hq_identity'", nil},
			{"UPDATE meta SET value = (SELECT value FROM meta WHERE key = 'hq_pending_signing_seed') WHERE key = 'hq_signing_seed'", nil},
			{"DELETE FROM meta WHERE key IN ('hq_pending_identity', 'hq_pending_signing_seed')", nil},
		} {
			if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
				return false, err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO hq_roots (version, body, installed_at) VALUES (?, ?, ?)", st.Version, string(body), sqlite.Time(d.Now())); err != nil {
		return false, err
	}
	detail := fmt.Sprintf("root version %d installed", st.Version)
	if rotated {
		detail += "; online keys rotated"
	}
	if err := account.Audit(ctx, tx, by, "hq-root", fmt.Sprint(st.Version), detail); err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	d.roots.forget()
	return rotated, d.ReloadKeys(ctx)
}

func slicesHas(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}
