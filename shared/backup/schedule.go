package backup

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/robfig/cron/v3"

	"chancery/shared/i18n"
	"chancery/shared/settings"
)

// Schedule takes a program's backups on a cron schedule (Rotate): into
// Dir, the newest Keep of them kept, readable with the identity of any of
// Recipients.
type Schedule struct {
	Spec       string
	DB         *sql.DB
	DataDir    string
	Dir        string
	Prefix     string // "agent", "hq"
	Keep       int
	Recipients []age.Recipient
	Log        *slog.Logger
	// Done, if set, is told of each backup taken (the file) or failed.
	Done func(file string, err error)

	cron *cron.Cron
}

// Config is how a program takes its backups on a schedule, as its
// settings give it.
type Config struct {
	Schedule   string // cron; empty: none
	Dir        string // empty: backups in the data folder
	Keep       int
	Recipients string // age1…, comma-separated
}

// Bind binds the settings of scheduled backups for the program named.
func (c *Config) Bind(s *settings.Set, program string) {
	s.String(&c.Schedule, "backup-schedule", "", i18n.Local().T("setting.backup.schedule", "Program", program))
	s.String(&c.Dir, "backup-dir", "", "setting.backup.dir")
	s.Int(&c.Keep, "backup-keep", 14, 1, "setting.backup.keep")
	s.String(&c.Recipients, "backup-recipient", "", "setting.backup.recipient")
}

// Start takes db's backups on the schedule, if there is one (else it
// returns nil): sealed to the recipients, and to more (HQ's escrow keys).
func (c Config) Start(db *sql.DB, data, prefix string, more []string, log *slog.Logger) (*Schedule, error) {
	if c.Schedule == "" {
		return nil, nil
	}
	rs, err := ParseRecipients(strings.Join(append([]string{c.Recipients}, more...), ","))
	if err != nil {
		return nil, fmt.Errorf("backup-recipient: %w", err)
	}
	dir := c.Dir
	if dir == "" {
		dir = filepath.Join(data, "backups")
	}
	s := &Schedule{Spec: c.Schedule, DB: db, DataDir: data, Dir: dir, Prefix: prefix, Keep: c.Keep, Recipients: rs, Log: log}
	return s, s.Start()
}

// ParseRecipients reads age public keys written comma-separated.
func ParseRecipients(list string) ([]age.Recipient, error) {
	var ss []string
	for _, r := range strings.Split(list, ",") {
		if r = strings.TrimSpace(r); r != "" {
			ss = append(ss, r)
		}
	}
	return Recipients(ss)
}

// Start begins taking backups; Stop ends it, waiting for one in progress.
func (s *Schedule) Start() error {
	sched, err := cron.ParseStandard(s.Spec)
	if err != nil {
		return fmt.Errorf("the backup schedule %q is not a cron expression (for example @daily, or 0 2 * * * for 02:00 every day): %w", s.Spec, err)
	}
	if len(s.Recipients) == 0 {
		return fmt.Errorf("scheduled backups need at least one age public key to be read with")
	}
	s.cron = cron.New()
	s.cron.Schedule(sched, cron.FuncJob(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		file, err := Rotate(ctx, s.DB, s.DataDir, s.Dir, s.Prefix, s.Recipients, s.Keep, time.Now())
		if err != nil {
			s.Log.Error("the scheduled backup failed; the earlier ones are kept", "err", err)
		} else {
			s.Log.Info("backup taken", "file", file, "keep", s.Keep)
		}
		if s.Done != nil {
			s.Done(file, err)
		}
	}))
	s.cron.Start()
	return nil
}

// Stop stops the schedule and waits for a backup in progress to end.
func (s *Schedule) Stop() {
	if s != nil && s.cron != nil {
		<-s.cron.Stop().Done()
	}
}
