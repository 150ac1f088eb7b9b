package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"

	"chancery/shared/problem"
	"chancery/shared/sqlite"
)

var tokenName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,39}$`)

// AddToken makes an API token for a program and returns it; only its hash
// is kept.
func (s *Service) AddToken(ctx context.Context, by Actor, name, role string) (string, error) {
	if !tokenName.MatchString(name) {
		return "", problem.New(problem.Invalid, "token.bad_name")
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := "chy_" + base64.RawURLEncoding.EncodeToString(b)
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "INSERT INTO api_tokens (token_hash, name, role, created_at) VALUES (?, ?, ?, ?)",
		hashAPIToken(token), name, role, sqlite.Time(s.Now())); err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return "", problem.New(problem.Conflict, "token.exists", "Name", name)
		}
		return "", err
	}
	if err := Audit(ctx, tx, by, "token.add", name, "role "+role); err != nil {
		return "", err
	}
	return token, tx.Commit()
}

// RevokeToken stops a token working.
func (s *Service) RevokeToken(ctx context.Context, by Actor, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, "UPDATE api_tokens SET revoked = 1 WHERE name = ?", name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return problem.New(problem.NotFound, "token.none", "Name", name)
	}
	if err := Audit(ctx, tx, by, "token.revoke", name, ""); err != nil {
		return err
	}
	return tx.Commit()
}

// TokenUser returns the identity a token acts as.
func (s *Service) TokenUser(ctx context.Context, token string) (User, error) {
	var name, role string
	var revoked bool
	err := s.db.QueryRowContext(ctx, "SELECT name, role, revoked FROM api_tokens WHERE token_hash = ?", hashAPIToken(token)).Scan(&name, &role, &revoked)
	if errors.Is(err, sql.ErrNoRows) || revoked {
		return User{}, problem.New(problem.Unauthorized, "token.invalid")
	}
	if err != nil {
		return User{}, err
	}
	return User{Username: "token:" + name, DisplayName: name, Role: role}, nil
}

func hashAPIToken(t string) []byte {
	s := sha256.Sum256([]byte("chancery api token\x00" + t))
	return s[:]
}
