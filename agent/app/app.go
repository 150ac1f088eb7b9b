// Package app is the agent program: it reads the command line and the
// environment, wires the store, the accounts and the web interface
// together, and runs the command asked for. cmd/chancery-agent only calls
// [Main].
package app

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"chancery/agent/httpd"
	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/shared/account"
	"chancery/shared/cli"
	"chancery/shared/protocol"
	"chancery/sync/relay"
	"chancery/sync/schedule"
	"chancery/web"
)

// Version is set at build time.
var Version = "dev"

// usage is the catalog key of the program's help: the text is in every
// language, in shared/i18n/catalog.
const usage = "cli.usage_agent"

// Program is the agent's command line.
var Program = cli.Program{Name: "chancery-agent", Usage: usage, Commands: map[string]cli.Command{
	"serve":   serve,
	"user":    user,
	"backup":  backupCmd,
	"restore": restore,
	"enroll":  enroll,
	"sync":    syncOnce,
	"pouch":   pouchCmd,
	"keys":    keys,
	"demo":    demo,
	"audit":   auditCmd,
	"config":  configCmd,
	"doctor":  doctorCmd,
	"service": serviceCmd,
}}

// configCmd writes the example config file: every setting at its
// default, with what it does.
func configCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "example" {
		return cli.Usagef("chancery-agent config example > agent.toml")
	}
	var c Config
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	return c.settings(fs, nil, nil).Example(stdout, "chancery-agent: a mission's settings. Use it with: chancery-agent serve --config /etc/chancery/agent.toml")
}

// auditCmd checks the audit log's hash chain.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: chancery-agent audit verify", errUsage)
	}
	c, err := parse("audit verify", args[1:], stderr, nil)
	if err != nil {
		return err
	}
	db, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	return account.VerifyAuditCommand(ctx, db.SQL(), stdout)
}

// Main runs the agent with args (without the program name) and returns
// the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	p := Program
	p.Version = Version
	return p.Main(ctx, args, stdout, stderr)
}

var errUsage = cli.ErrUsage

// parse reads the common config and any extra flags of a command that
// takes no arguments.
func parse(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (Config, error) {
	c, rest, err := parseArgs(name, args, stderr, extra)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("%w: unexpected argument %q", errUsage, rest[0])
	}
	return c, err
}

// parseArgs is parse for commands that take arguments after their flags.
func parseArgs(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (Config, []string, error) {
	fs := flag.NewFlagSet("chancery-agent "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	if err := c.bind(fs, os.Environ(), args); err != nil {
		return c, nil, err
	}
	if extra != nil {
		extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, nil, err
		}
		return c, nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	return c, fs.Args(), c.check()
}

func (c Config) dbPath() string { return filepath.Join(c.Data, "agent.db") }

func openStore(ctx context.Context, c Config) (*store.DB, *account.Service, error) {
	db, err := store.OpenWithKeyFile(ctx, c.dbPath(), cmp.Or(c.KeyFile, store.KeyFile(c.dbPath())))
	if err != nil {
		return nil, nil, err
	}
	// A new mission starts with the default protocols; HQ's updates
	// replace them version by version.
	if lib, err := db.Library(ctx, ""); err != nil {
		db.Close()
		return nil, nil, err
	} else if len(lib) == 0 {
		if _, err := db.Install(ctx, account.System, protocol.Defaults()); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	acc := account.New(db.SQL(), httpd.Roles...)
	acc.IdleTimeout, acc.MaxAge = c.SessionIdle, c.SessionMax
	return db, acc, nil
}

// accessLog is the logger of the access log, nil when it is off.
func accessLog(on bool, l *slog.Logger) *slog.Logger {
	if !on {
		return nil
	}
	return l.With("log", "access")
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse("serve", args, stderr, nil)
	if err != nil {
		return err
	}
	logger, err := cli.Logger(stderr, c.LogFormat)
	if err != nil {
		return err
	}
	if err := removeBackupLeftovers(c.Data); err != nil {
		return fmt.Errorf("remove what a killed backup left in %s: %w", c.Data, err)
	}
	db, acc, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()

	if c.MissionName != "" {
		if err := db.SetName(ctx, account.System, c.MissionName); err != nil {
			return err
		}
	}
	l, err := db.Link(ctx)
	if err != nil {
		return err
	}
	name := cmp.Or(l.Name, "This mission")
	firstPassword, err := acc.EnsureAdmin(ctx, httpd.RoleAdmin, c.AdminPassword)
	if err != nil {
		return err
	}

	link, err := newLink(c, db)
	if err != nil {
		return err
	}
	peers, err := startRelay(ctx, c, db, link)
	if err != nil {
		return err
	}
	var relays *relaying
	if peers != nil {
		defer peers.Leave()
		relays = &relaying{node: peers, link: link, c: c, logger: logger}
		relays.start()
	}
	runner := &schedule.Runner{
		Run: func(ctx context.Context) error {
			st, err := link.Status(ctx)
			if err != nil || !st.Enrolled {
				return err
			}
			err = link.Sync(ctx)
			if relays != nil {
				err = relays.afterSync(ctx, err)
			}
			return err
		},
		OnError: func(err error) {
			logger.Warn("sync failed; the changes stay until HQ's receipt covers them", "err", err)
		},
		Jitter: 30 * time.Second,
	}
	if relays != nil {
		relays.syncNow = runner.Now
	}
	if err := runner.Start(c.SyncSchedule); err != nil {
		return err
	}
	defer runner.Stop()
	if c.Backups.Schedule != "" {
		b, err := c.Backups.Start(db.SQL(), c.Data, "agent", nil, logger)
		if err != nil {
			return err
		}
		defer b.Stop()
	}
	if relays != nil {
		every := 30 * time.Second
		if c.RelayFast {
			every = 500 * time.Millisecond
		}
		go relays.watch(ctx, every)
	}

	// An escalation does not wait for a sync busy with a backlog: it goes
	// in an exchange of its own at once, and if HQ cannot be reached, the
	// sync that follows hands it to the peers.
	urgent := make(chan struct{}, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-urgent:
				if err := link.SendUrgent(ctx); err != nil {
					logger.Warn("an escalation could not go to HQ at once; the sync hands it to peer missions", "err", err)
				}
				runner.Now()
			}
		}
	}()
	srv := &httpd.Server{Store: db, Accounts: acc, Logger: logger, SiteName: name, AccessLog: accessLog(c.AccessLog, logger), Language: c.Language, Link: link, SyncNow: runner.Now, Peers: peers,
		NextSync: runner.Next, SyncEvery: runner.Every(),
		Urgent: func() {
			select {
			case urgent <- struct{}{}:
			default:
			}
		}}
	if relays != nil {
		srv.Relay = &relay.Server{Identity: link.Identity, Carrier: uplink.Carrier{Link: link, Quota: int64(c.RelayQuotaMB) << 20}, Held: runner.Now}
	}
	cert, err := c.certificate()
	if err != nil {
		return err
	}
	scheme := "http"
	if cert != nil {
		scheme = "https"
		srv.TLSFingerprint = cert.Fingerprint()
	}
	e, err := srv.Handler()
	if err != nil {
		return err
	}
	return web.ServeTLS(ctx, e, c.Addr, cert, logger, func(addr net.Addr) {
		if firstPassword != "" {
			cli.Say(stdout, "cli.first_admin_agent", "Password", firstPassword)
		}
		if relays != nil {
			relays.listening(addr.String())
		}
		if cert != nil {
			cli.Say(stdout, "cli.tls_fingerprint", "Fingerprint", cert.Fingerprint())
		}
		// This line comes last: scripts and tests wait for it.
		fmt.Fprintf(stdout, "Chancery agent for %s: %s://%s/\n", name, scheme, addr)
	})
}

func user(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "passwd") {
		return fmt.Errorf("%w: chancery-agent user add|passwd [flags]", errUsage)
	}
	var username, name, role, password string
	c, err := parse("user "+args[0], args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "the account's username")
		fs.StringVar(&password, "password", "", "the password; generated and printed if empty")
		if args[0] == "add" {
			fs.StringVar(&name, "name", "", "the person's full name")
			fs.StringVar(&role, "role", httpd.RoleStaff, "one of: "+strings.Join(httpd.Roles, ", "))
		}
	})
	if err != nil {
		return err
	}
	db, acc, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	if args[0] == "add" {
		return acc.AddUser(ctx, stdout, username, name, role, password)
	}
	return acc.ResetPassword(ctx, stdout, username, password)
}
