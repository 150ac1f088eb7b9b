package app

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"chancery/shared/backup"
	"chancery/shared/cli"
)

type recipientList []string

func (r *recipientList) String() string     { return strings.Join(*r, ",") }
func (r *recipientList) Set(v string) error { *r = append(*r, v); return nil }

// backup writes a consistent copy of the database, encrypted with age to
// the given recipients, so that a lost USB stick or a copied backup
// folder reveals nothing. Restore with the age tool:
//
//	age -d -i key.txt backup.age > agent.db
func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var out string
	var recips recipientList
	c, err := parse("backup", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "file to write the encrypted backup to")
		fs.Var(&recips, "recipient", "age public key (age1…) that can open the backup; repeat for several")
	})
	if err != nil {
		return err
	}
	if out == "" || len(recips) == 0 {
		return cli.Usage("cli.backup_usage")
	}
	rs, err := backup.Recipients(recips)
	if err != nil {
		return err
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s: %w", out, backup.ErrExists)
	}
	db, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := backup.Write(ctx, db.SQL(), c.Data, out, rs); err != nil {
		return err
	}
	cli.Say(stdout, "cli.agent_backup", "Out", out, "Count", len(rs), "KeyFile", cmp.Or(c.KeyFile, "keys.key"))
	return nil
}

// removeBackupLeftovers removes what a backup that was killed left.
var removeBackupLeftovers = backup.RemoveLeftovers

// restore replaces the mission's database with one from an encrypted
// backup. The database in place, if any, is kept beside it, never
// deleted. The restored database is checked whole before it is put in
// place, and marked restored: before it sends anything, the agent asks
// HQ how far the mission's log really went, so that changes made after
// the restore are not taken by HQ for ones it already holds.
func restore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var from, identity string
	c, err := parse("restore", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "the encrypted backup to restore")
		fs.StringVar(&identity, "identity", "", "the age identity file (AGE-SECRET-KEY-1…) that opens the backup")
	})
	if err != nil {
		return err
	}
	if from == "" || identity == "" {
		return cli.Usage("cli.restore_usage_agent")
	}
	kept, err := backup.Restore(ctx, from, identity, c.Data, c.dbPath())
	if err != nil {
		return err
	}
	if kept != "" {
		cli.Say(stdout, "cli.db_kept", "Kept", kept)
	}
	db, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Restored(ctx); err != nil {
		return err
	}
	cli.Say(stdout, "cli.agent_restored", "From", from)
	return nil
}
