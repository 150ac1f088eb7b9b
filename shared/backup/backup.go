// Package backup writes a program's encrypted backups: a consistent copy
// of its database (SQLite's VACUUM INTO), encrypted with age to keys kept
// away from the machine. The plain copy exists only in a private folder
// removed on the way out; one a killed backup left is removed by
// RemoveLeftovers at the program's next start.
package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"filippo.io/age"

	"chancery/shared/durable"
	"chancery/shared/sqlite"
)

// TempPrefix starts the name of a backup's private folder.
const TempPrefix = ".backup-"

// ErrExists refuses to overwrite a file.
var ErrExists = errors.New("that file already exists; choose a new file name so that no backup is overwritten")

// Write writes an encrypted, consistent copy of db to out, readable with
// the identity of any of rs. dir is the program's data folder, where the
// private temporary folder goes.
func Write(ctx context.Context, db *sql.DB, dir, out string, rs []age.Recipient) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s: %w", out, ErrExists)
	}
	tmp, err := os.MkdirTemp(dir, TempPrefix+"*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	plain := filepath.Join(tmp, "copy.db")
	if err := sqlite.Backup(ctx, db, plain); err != nil {
		return err
	}
	return EncryptFile(out, plain, rs)
}

// EncryptFile writes the file at in, encrypted, to the new file out.
func EncryptFile(out, in string, rs []age.Recipient) error {
	err := durable.Create(out, func(w io.Writer) error {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		enc, err := age.Encrypt(w, rs...)
		if err != nil {
			return err
		}
		if _, err := io.Copy(enc, f); err != nil {
			return err
		}
		return enc.Close()
	})
	if errors.Is(err, durable.ErrExists) {
		return fmt.Errorf("%s: %w", out, ErrExists)
	}
	return err
}

// RemoveLeftovers removes what a backup that was killed left in dir: a
// plain copy of the database must not outlive its backup.
func RemoveLeftovers(dir string) error {
	left, err := filepath.Glob(filepath.Join(dir, TempPrefix+"*"))
	if err != nil {
		return err
	}
	for _, l := range left {
		if err := os.RemoveAll(l); err != nil {
			return err
		}
	}
	return nil
}

// Recipients parses age public keys.
func Recipients(keys []string) ([]age.Recipient, error) {
	var rs []age.Recipient
	for _, s := range keys {
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, fmt.Errorf("recipient %q is not an age public key (it starts with age1): %v", s, err)
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// Restore puts the backup from, opened with the age identities in the
// file identity, in place of the database live (in the data folder dir).
// The backup is checked whole with SQLite's integrity check before
// anything is replaced; the database in place, if any, is kept beside it,
// never deleted, and its name returned.
func Restore(ctx context.Context, from, identity, dir, live string) (string, error) {
	r, in, err := decrypt("the backup "+from, from, identity)
	if err != nil {
		return "", err
	}
	defer in.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dir, TempPrefix+"*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	plain := filepath.Join(tmp, filepath.Base(live))
	if err := durable.Create(plain, func(w io.Writer) error { _, err := io.Copy(w, r); return err }); err != nil {
		return "", fmt.Errorf("the backup %s is damaged: %v", from, err)
	}
	// The whole database, checked before it replaces anything.
	check, err := sqlite.Open(ctx, plain)
	if err != nil {
		return "", fmt.Errorf("the backup %s does not hold a sound database: %v", from, err)
	}
	var ok string
	err = check.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok)
	check.Close()
	if err != nil || ok != "ok" {
		return "", fmt.Errorf("the backup %s does not pass SQLite's integrity check (%s %v); nothing was replaced", from, ok, err)
	}
	var kept string
	if _, err := os.Stat(live); err == nil {
		kept = replaced(live)
		for _, suffix := range []string{"", "-wal", "-shm"} {
			if err := os.Rename(live+suffix, kept+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", err
			}
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(plain+suffix, live+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return kept, nil
}

// RestoreFile puts the encrypted file from, opened with the identities in
// the file identity, at out (mode 0600), keeping a file in place beside
// it and returning its name.
func RestoreFile(from, identity, out string) (string, error) {
	r, in, err := decrypt(from, from, identity)
	if err != nil {
		return "", err
	}
	defer in.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("%s is damaged: %v", from, err)
	}
	var kept string
	if _, err := os.Stat(out); err == nil {
		kept = replaced(out)
		if err := os.Rename(out, kept); err != nil {
			return "", err
		}
	}
	return kept, os.WriteFile(out, b, 0o600)
}

// decrypt opens the encrypted file from with the age identities in the
// file identity; what names it in errors. Close the file when done.
func decrypt(what, from, identity string) (io.Reader, io.Closer, error) {
	ids, err := identities(identity)
	if err != nil {
		return nil, nil, err
	}
	in, err := os.Open(from)
	if err != nil {
		return nil, nil, err
	}
	r, err := age.Decrypt(in, ids...)
	if err != nil {
		in.Close()
		return nil, nil, fmt.Errorf("%s cannot be opened with that identity: %v", what, err)
	}
	return r, in, nil
}

// replaced is the name a restore keeps a file in place under, beside it.
func replaced(path string) string {
	return fmt.Sprintf("%s.replaced-%s", path, time.Now().UTC().Format("20060102T150405Z"))
}

func identities(file string) ([]age.Identity, error) {
	kf, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer kf.Close()
	ids, err := age.ParseIdentities(kf)
	if err != nil {
		return nil, fmt.Errorf("%s holds no age identity: %v", file, err)
	}
	return ids, nil
}

// Rotate writes a new backup of db into the folder dir, named
// prefix-YYYYMMDDTHHMMSSZ.age by now (UTC), and then removes the oldest
// of that name beyond keep. It returns the new file. A backup that
// fails leaves the older ones as they were.
func Rotate(ctx context.Context, db *sql.DB, dataDir, dir, prefix string, rs []age.Recipient, keep int, now time.Time) (string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("the backup folder %s: %w", dir, err)
	}
	out := filepath.Join(dir, prefix+"-"+now.UTC().Format("20060102T150405Z")+".age")
	if err := Write(ctx, db, dataDir, out, rs); err != nil {
		return "", err
	}
	all, err := Kept(dir, prefix)
	if err != nil {
		return out, err
	}
	for len(all) > max(keep, 1) {
		if err := os.Remove(all[0]); err != nil {
			return out, err
		}
		all = all[1:]
	}
	return out, nil
}

// Kept lists the backups Rotate wrote into dir, oldest first.
func Kept(dir, prefix string) ([]string, error) {
	all, err := filepath.Glob(filepath.Join(dir, prefix+"-????????T??????Z.age"))
	sort.Strings(all)
	return all, err
}
