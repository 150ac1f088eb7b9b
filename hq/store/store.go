// Package store is headquarters' database: the mission registry and keys,
// enrollment codes, every change received from missions, the records
// rebuilt from them, accounts and the audit log.
package store

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/age"

	"chancery/shared/account"
	"chancery/shared/clock"
	"chancery/shared/problem"
	"chancery/shared/secret"
	"chancery/shared/sqlite"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are this store's own tables. They build on
// [account.Migrations], which [Open] applies first.
var Migrations, _ = fs.Sub(migrationFiles, "migrations")

// Site is HQ's name in pouches.
const Site = "HQ"

// DB is an open HQ database.
type DB struct {
	sql *sql.DB
	// keys are HQ's keys in use; box seals them in the database (see
	// package secret). ReloadKeys reads them again after a rotation.
	keys atomic.Pointer[Keys]
	box  *secret.Box
	Now  func() time.Time
	// cat is the catalog last read (see Catalog); catMu lets one request
	// at a time read it again.
	cat   atomic.Pointer[Catalog]
	catMu sync.Mutex
	// guidanceWaiting holds the missions with HQ guidance not yet
	// delivered (mission code → true).
	guidanceWaiting sync.Map
	// updates caches missions' update states (mission code → UpdateState).
	updates sync.Map
	// roots, withdrawn and peerKey cache what every reply carries.
	roots     shortCache[[][]byte]
	rootsSeen int // how many roots the keys in use were loaded with
	withdrawn shortCache[[]string]
	peerKey   shortCache[string]
	escrow    shortCache[[]string]
	// summaries keeps each mission's scores as last decoded (mission code
	// → decodedSummary): the map reads every mission's row, and decodes
	// only those whose text changed.
	summaries sync.Map
}

// Keys are HQ's own keys: its online keys in use and the age identities
// it used before a rotation, which still open pouches missions sealed
// before they followed it.
type Keys struct {
	Identity *age.X25519Identity
	Signing  ed25519.PrivateKey
	Previous []*age.X25519Identity
}

// Readers are the identities that open pouches sent to HQ.
func (k Keys) Readers() []*age.X25519Identity {
	return append([]*age.X25519Identity{k.Identity}, k.Previous...)
}

// Open opens or creates the database at path; the first open makes HQ's
// keys.
func Open(ctx context.Context, path string) (*DB, error) {
	return OpenWithKeyFile(ctx, path, KeyFile(path))
}

// KeyFile is where the key file of the database at path is by default:
// HQ's private keys are kept sealed under it (see package secret).
func KeyFile(path string) string { return filepath.Join(filepath.Dir(path), "keys.key") }

// OpenWithKeyFile is Open with the key file elsewhere (another disk, a
// systemd credential). It is made if it does not exist only while the
// database holds no sealed key yet.
func OpenWithKeyFile(ctx context.Context, path, keyFile string) (*DB, error) {
	db, err := sqlite.Open(ctx, path, account.Migrations, Migrations)
	if err != nil {
		return nil, err
	}
	var sealed int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM meta WHERE key = 'hq_identity' AND value LIKE 'sealed1:%'").Scan(&sealed); err != nil {
		db.Close()
		return nil, err
	}
	box, err := secret.Load(keyFile, sealed == 0)
	if err != nil {
		db.Close()
		return nil, err
	}
	d := &DB{sql: db, Now: clock.Now, box: box}
	if err := d.canonicalFrameworks(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := d.loadGuidanceWaiting(ctx); err != nil {
		db.Close()
		return nil, err
	}
	k, err := d.loadKeys(ctx, box)
	if err != nil {
		db.Close()
		return nil, err
	}
	if k.Previous, err = d.previousIdentities(ctx); err != nil {
		db.Close()
		return nil, err
	}
	d.keys.Store(&k)
	if all, err := d.readRoots(ctx); err == nil {
		d.rootsSeen = len(all)
	}
	return d, nil
}

func (d *DB) loadKeys(ctx context.Context, box *secret.Box) (Keys, error) {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return Keys{}, err
	}
	defer tx.Rollback()
	var idStr, seed string
	err = tx.QueryRowContext(ctx, "SELECT (SELECT value FROM meta WHERE key = 'hq_identity'), (SELECT value FROM meta WHERE key = 'hq_signing_seed')").Scan(&idStr, &seed)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		// NULLs when not yet made
		idStr, seed = "", ""
	}
	if idStr == "" {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return Keys{}, err
		}
		s := make([]byte, ed25519.SeedSize)
		rand.Read(s)
		idStr, seed = id.String(), base64.StdEncoding.EncodeToString(s)
		if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('hq_identity', ?), ('hq_signing_seed', ?)", box.Seal(idStr), box.Seal(seed)); err != nil {
			return Keys{}, err
		}
		if err := tx.Commit(); err != nil {
			return Keys{}, err
		}
	} else if !strings.HasPrefix(idStr, "sealed1:") {
		// Kept in the clear by an older version: sealed now.
		if _, err := tx.ExecContext(ctx, "UPDATE meta SET value = CASE key WHEN 'hq_identity' THEN ? ELSE ? END WHERE key IN ('hq_identity', 'hq_signing_seed')", box.Seal(idStr), box.Seal(seed)); err != nil {
			return Keys{}, err
		}
		if err := tx.Commit(); err != nil {
			return Keys{}, err
		}
	} else {
		if idStr, err = box.Open(idStr); err != nil {
			return Keys{}, err
		}
		if seed, err = box.Open(seed); err != nil {
			return Keys{}, err
		}
	}
	id, err := age.ParseX25519Identity(idStr)
	if err != nil {
		return Keys{}, fmt.Errorf("HQ identity in the database is damaged: %w", err)
	}
	s, err := base64.StdEncoding.DecodeString(seed)
	if err != nil || len(s) != ed25519.SeedSize {
		return Keys{}, errors.New("HQ signing key in the database is damaged")
	}
	return Keys{Identity: id, Signing: ed25519.NewKeyFromSeed(s)}, nil
}

// Close closes the database.
func (d *DB) Close() error { return d.sql.Close() }

// SQL returns the handle, for the account service.
func (d *DB) SQL() *sql.DB { return d.sql }

// Keys returns HQ's keys.
func (d *DB) Keys() Keys { return *d.keys.Load() }

// HQSigningPublic is HQ's signing public key, base64, as missions pin it.
func (d *DB) HQSigningPublic() string {
	return base64.StdEncoding.EncodeToString(d.Keys().Signing.Public().(ed25519.PublicKey))
}

// Escrow returns the escrow recipients kept with HQ: age public keys held
// off line by the ministry, that every mission also seals its pouches to,
// so that they can be read if HQ's own key is lost.
func (d *DB) Escrow(ctx context.Context) ([]string, error) {
	return d.escrow.get(d.Now(), func() ([]string, error) { return d.readEscrow(ctx) })
}

func (d *DB) readEscrow(ctx context.Context) ([]string, error) {
	var v string
	err := d.sql.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'hq_escrow'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) || v == "" {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return strings.Split(v, ","), nil
}

// SetEscrow keeps the escrow recipients with HQ, audited. Missions learn
// them when they enroll and, already enrolled, from HQ's next receipt.
func (d *DB) SetEscrow(ctx context.Context, by account.Actor, recipients []string) error {
	for _, r := range recipients {
		if _, err := age.ParseX25519Recipient(r); err != nil {
			return problem.New(problem.Invalid, "escrow.bad", "Recipient", r)
		}
	}
	v := strings.Join(recipients, ",")
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var cur string
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'hq_escrow'").Scan(&cur); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if cur == v {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES ('hq_escrow', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", v); err != nil {
		return err
	}
	if err := account.Audit(ctx, tx, by, "hq.escrow", "escrow", v); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	d.escrow.forget()
	return nil
}
