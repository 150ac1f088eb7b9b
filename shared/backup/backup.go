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
