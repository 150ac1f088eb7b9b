package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"time"

	"chancery/shared/account"
	"chancery/shared/problem"
)

var tokenName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,39}$`)

// AddToken makes an API token for a program and returns it; only its hash
// is kept.
func (d *DB) AddToken(ctx context.Context, by account.Actor, name, role string) (string, error) {
	if !tokenName.MatchString(name) {
		return "", problem.Errorf(problem.Invalid, "A token's name is 2 to 40 lower-case letters, digits, dot, dash or underscore, such as gis-team.")
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := "chy_" + base64.RawURLEncoding.EncodeToString(b)
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO api_tokens (token_hash, name, role, created_at) VALUES (?, ?, ?, ?)",
		hashToken(token), name, role, d.Now().UTC().Format(time.RFC3339)); err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return "", problem.Errorf(problem.Conflict, "There is already a token named %q; revoke it or choose another name.", name)
		}
		return "", err
	}
	if err := account.Audit(ctx, tx, by, "token.add", name, "role "+role); err != nil {
		return "", err
	}
	return token, tx.Commit()
}

// RevokeToken stops a token working.
func (d *DB) RevokeToken(ctx context.Context, by account.Actor, name string) error {
	tx, err := d.sql.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE api_tokens SET revoked = 1 WHERE name = ?", name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.Errorf(problem.NotFound, "There is no token named %q.", name)
	}
	if err := account.Audit(ctx, tx, by, "token.revoke", name, ""); err != nil {
		return err
	}
	return tx.Commit()
}

// TokenUser returns the identity a token acts as.
func (d *DB) TokenUser(ctx context.Context, token string) (account.User, error) {
	var name, role string
	var revoked bool
	err := d.sql.QueryRowContext(ctx, "SELECT name, role, revoked FROM api_tokens WHERE token_hash = ?", hashToken(token)).Scan(&name, &role, &revoked)
	if errors.Is(err, sql.ErrNoRows) || revoked {
		return account.User{}, problem.Errorf(problem.Unauthorized, "This API token is not valid: it is wrong or revoked. Ask HQ's administrator for a new one.")
	}
	if err != nil {
		return account.User{}, err
	}
	return account.User{Username: "token:" + name, DisplayName: name, Role: role}, nil
}

func hashToken(t string) []byte {
	s := sha256.Sum256([]byte("chancery api token\x00" + t))
	return s[:]
}
