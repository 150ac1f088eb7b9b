package account

import (
	"context"
	"database/sql"
	"fmt"
	"io"

	"chancery/shared/cli"
	"chancery/shared/problem"
)

// AddUser is the command-line "user add": it creates an account and
// prints the password if it generated one.
func (s *Service) AddUser(ctx context.Context, out io.Writer, username, name, role, password string) error {
	generated := password == ""
	if generated {
		password = GeneratePassword()
	}
	if name == "" {
		name = username
	}
	if _, err := s.CreateUser(ctx, System, username, name, role, password); err != nil {
		return problem.Shown(err)
	}
	return printDone(out, username, password, generated)
}

// ResetPassword is the command-line "user passwd".
func (s *Service) ResetPassword(ctx context.Context, out io.Writer, username, password string) error {
	generated := password == ""
	if generated {
		password = GeneratePassword()
	}
	if err := s.SetPassword(ctx, System, username, password); err != nil {
		return problem.Shown(err)
	}
	return printDone(out, username, password, generated)
}

func printDone(out io.Writer, username, password string, generated bool) error {
	cli.Say(out, "cli.user_done", "User", username)
	if generated {
		cli.Say(out, "cli.password_line", "Password", password)
	}
	return nil
}

// VerifyAuditCommand is the command-line "audit verify": it checks the
// audit log's chain and says what it found.
func VerifyAuditCommand(ctx context.Context, db *sql.DB, out io.Writer) error {
	n, err := VerifyAudit(ctx, db)
	if err != nil {
		return fmt.Errorf("%v. The entries before it are intact (%d checked); restore the database from a backup taken before the change, and find out who had access to the machine", err, n)
	}
	cli.Say(out, "cli.audit_intact", "N", fmt.Sprint(n))
	return nil
}
