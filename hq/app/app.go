// Package app is the headquarters program: it reads the command line and
// the environment, wires the store, ingest and web interface, and runs the
// command asked for. cmd/chancery-hq only calls [Main].
package app

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"chancery/hq/demo"
	"chancery/hq/httpd"
	"chancery/hq/ingest"
	"chancery/hq/store"
	"chancery/shared/account"
	"chancery/shared/backup"
	"chancery/shared/cli"
	"chancery/shared/durable"
	"chancery/shared/i18n"
	"chancery/shared/problem"
	"chancery/shared/settings"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
	"chancery/web"
)

// Version is set at build time.
var Version = "dev"

// usage is the catalog key of the program's help: the text is in every
// language, in shared/i18n/catalog.
const usage = "cli.usage_hq"

// Config is HQ's configuration; each field has a flag and a CHANCERY_HQ_
// environment variable.
type Config struct {
	Addr          string
	Data          string
	AdminPassword string
	Escrow        string
	SessionIdle   time.Duration
	SessionMax    time.Duration
	TLSCert       string
	TLSKey        string
	KeyFile       string
	LogFormat     string
	AccessLog     bool
	Language      string
	Backups       backup.Config
}

func (c *Config) bind(fs *flag.FlagSet, args []string) error {
	return c.settings(fs, os.Environ(), args).Check()
}

// settings binds every setting of HQ.
func (c *Config) settings(fs *flag.FlagSet, environ, args []string) *settings.Set {
	s := settings.New(fs, "CHANCERY_HQ_", environ, args...)
	s.String(&c.Addr, "addr", "127.0.0.1:8090", "setting.hq.addr")
	s.String(&c.Data, "data", "chancery-hq-data", "setting.hq.data")
	s.String(&c.AdminPassword, "admin-password", "", "setting.hq.admin-password")
	s.String(&c.Escrow, "escrow-recipient", "", "setting.hq.escrow-recipient")
	s.Duration(&c.SessionIdle, "session-idle", account.DefaultIdleTimeout, "setting.hq.session-idle")
	s.Duration(&c.SessionMax, "session-max", account.DefaultMaxAge, "setting.hq.session-max")
	s.String(&c.KeyFile, "key-file", "", "setting.hq.key-file")
	s.String(&c.TLSCert, "tls-cert", "", "setting.hq.tls-cert")
	s.String(&c.TLSKey, "tls-key", "", "setting.hq.tls-key")
	s.String(&c.LogFormat, "log-format", "text", "setting.hq.log-format")
	s.Bool(&c.AccessLog, "access-log", true, "setting.hq.access-log")
	s.String(&c.Language, "language", "", i18n.Local().T("setting.language", "Choices", strings.Join(i18n.Languages(), ", ")))
	c.Backups.Bind(s, "chancery-hq")
	return s
}

// configCmd writes the example config file: every setting at its
// default, with what it does.
func configCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "example" {
		return cli.Usagef("chancery-hq config example > hq.toml")
	}
	var c Config
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	return c.settings(fs, nil, nil).Example(stdout, "chancery-hq: HQ's settings. Use it with: chancery-hq serve --config /etc/chancery/hq.toml")
}

var errUsage = cli.ErrUsage

func parse(name string, args []string, stderr io.Writer, extra func(*flag.FlagSet)) (Config, []string, error) {
	fs := flag.NewFlagSet("chancery-hq "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c Config
	if err := c.bind(fs, args); err != nil {
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
	if err := settings.CheckAddr(c.Addr); err != nil {
		return c, nil, err
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return c, nil, problem.New(problem.Invalid, "cli.tls_pair")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return c, nil, problem.New(problem.Invalid, "cli.bad_log_format", "Value", c.LogFormat, "Env", "CHANCERY_HQ_LOG_FORMAT")
	}
	if c.Language != "" && !i18n.Supported(c.Language) {
		return c, nil, problem.New(problem.Invalid, "cli.bad_language", "Value", c.Language, "Choices", strings.Join(i18n.Languages(), ", "), "Env", "CHANCERY_HQ_LANGUAGE")
	}
	return c, fs.Args(), nil
}

// Program is HQ's command line.
var Program = cli.Program{Name: "chancery-hq", Usage: usage, Commands: map[string]cli.Command{
	"serve":     serve,
	"mission":   mission,
	"pouch":     importPouches,
	"user":      user,
	"demo":      demoCmd,
	"framework": frameworkCmd,
	"token":     token,
	"audit":     auditCmd,
	"backup":    backupCmd,
	"restore":   restoreCmd,
	"root":      rootCmd,
	"config":    configCmd,
	"doctor":    doctorCmd,
}}

// Main runs HQ with args and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	p := Program
	p.Version = Version
	return p.Main(ctx, args, stdout, stderr)
}

type wired struct {
	db     *store.DB
	acc    *account.Service
	ingest *ingest.Service
}

func open(ctx context.Context, c Config) (*wired, error) {
	path := filepath.Join(c.Data, "hq.db")
	db, err := store.OpenWithKeyFile(ctx, path, cmp.Or(c.KeyFile, store.KeyFile(path)))
	if err != nil {
		return nil, err
	}
	ing := &ingest.Service{DB: db, Limits: pouch.DefaultLimits}
	if c.Escrow != "" {
		// Kept with HQ: every enrollment path uses it from now on, and
		// missions enrolled before learn it from their next receipt.
		var rs []string
		for _, r := range strings.Split(c.Escrow, ",") {
			if r = strings.TrimSpace(r); r != "" {
				rs = append(rs, r)
			}
		}
		if err := db.SetEscrow(ctx, account.System, rs); err != nil {
			db.Close()
			return nil, fmt.Errorf("the escrow recipient: %s", problem.MessageOf(err))
		}
	}
	acc := account.New(db.SQL(), httpd.Roles...)
	acc.IdleTimeout, acc.MaxAge = c.SessionIdle, c.SessionMax
	return &wired{db: db, acc: acc, ingest: ing}, nil
}

// tuneCollector sets Go's garbage collector for what HQ does: every
// exchange allocates some hundred kilobytes that are garbage a moment
// later, and after an outage a thousand missions sync at once. At Go's
// default (GOGC=100) the collector runs every few dozen exchanges; at 400
// it runs a quarter as often: BenchmarkHQThousandAtOnce's p99 went from
// 1.22 s to 1.02 s, for about 40 MB more at the peak. The soft limit of 1 GiB
// makes the collector work harder rather than let the heap pass it.
// GOGC or GOMEMLIMIT in the environment take precedence, as they do for
// any Go program.
func tuneCollector() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(1 << 30)
	}
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, rest, err := parse("serve", args, stderr, nil)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, rest[0])
	}
	if err := backup.RemoveLeftovers(c.Data); err != nil {
		return fmt.Errorf("remove what a killed backup left in %s: %w", c.Data, err)
	}
	tuneCollector()
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	if err := w.db.SeedLibrary(ctx); err != nil {
		return err
	}
	first, err := w.acc.EnsureAdmin(ctx, httpd.RoleAdmin, c.AdminPassword)
	if err != nil {
		return err
	}
	logger, err := cli.Logger(stderr, c.LogFormat)
	if err != nil {
		return err
	}
	// A thousand missions may be uploading at once after an outage; an
	// unfinished upload is kept for a day, long enough to outlast a bad link.
	uploads := &exchange.Uploads{Dir: filepath.Join(c.Data, "uploads"), Max: w.ingest.Limits.MaxPouch, MaxOpen: 2000, TTL: 24 * time.Hour}
	var access *slog.Logger
	if c.AccessLog {
		access = logger.With("log", "access")
	}
	e, err := (&httpd.Server{Store: w.db, Accounts: w.acc, Ingest: w.ingest, Uploads: uploads, Logger: logger, AccessLog: access, Language: c.Language}).Handler()
	if err != nil {
		return err
	}
	// Backups on a schedule are sealed to the escrow keys too, as every
	// backup of HQ's is.
	escrow, err := w.db.Escrow(ctx)
	if err != nil {
		return err
	}
	sched, err := c.Backups.Start(w.db.SQL(), c.Data, "hq", escrow, logger)
	if err != nil {
		return err
	}
	defer sched.Stop()
	// A key rotation installed by "chancery-hq root install" takes effect
	// at once on SIGHUP, as a new TLS certificate does (and by itself within seconds).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := w.db.ReloadKeys(ctx); err != nil {
				logger.Error("HQ's keys were not reloaded; the ones in use stay", "err", err)
			} else {
				logger.Info("HQ's keys reloaded", "fingerprint", exchange.Fingerprint(w.db.HQSigningPublic()))
			}
		}
	}()
	var cert *web.Certificate
	scheme := "http"
	if c.TLSCert != "" {
		if cert, err = web.LoadCertificate(c.TLSCert, c.TLSKey); err != nil {
			return err
		}
		scheme = "https"
	}
	return web.ServeTLS(ctx, e, c.Addr, cert, logger, func(addr net.Addr) {
		if first != "" {
			cli.Say(stdout, "cli.first_admin", "Password", first)
		}
		cli.Say(stdout, "cli.hq_fingerprint", "Fingerprint", exchange.Fingerprint(w.db.HQSigningPublic()))
		// This line comes last: scripts and tests wait for it.
		fmt.Fprintf(stdout, "Chancery HQ: %s://%s/\n", scheme, addr)
	})
}

func mission(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "code" && args[0] != "revoke" && args[0] != "rekey" && args[0] != "enroll") {
		return fmt.Errorf("%w: chancery-hq mission add|code|rekey|revoke|enroll [flags]", errUsage)
	}
	var m store.Mission
	var lat, lon, request, out string
	var demo bool
	c, rest, err := parse("mission "+args[0], args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&m.Code, "code", "", "the mission's code, such as FR-PAR")
		if args[0] == "add" {
			fs.StringVar(&m.Name, "name", "", "the mission's name")
			fs.StringVar(&m.Country, "country", "", "country")
			fs.StringVar(&m.City, "city", "", "city")
			fs.StringVar(&m.Region, "region", "", "region, as HQ groups missions")
			fs.StringVar(&lat, "lat", "", "latitude, decimal degrees")
			fs.StringVar(&lon, "lon", "", "longitude, decimal degrees")
			fs.BoolVar(&demo, "demo", false, "mark the mission as demo data")
		}
		if args[0] == "enroll" {
			fs.StringVar(&request, "request", "", "the enrollment request file a mission sent by hand")
			fs.StringVar(&out, "out", ".", "folder to write HQ's answer to")
		}
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, rest[0])
	}
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	switch args[0] {
	case "add":
		m.Demo = demo
		for _, p := range []struct {
			s   string
			dst **float64
		}{{lat, &m.Lat}, {lon, &m.Lon}} {
			if p.s != "" {
				v, err := strconv.ParseFloat(p.s, 64)
				if err != nil {
					return problem.New(problem.Invalid, "mission_new.bad_coord", "Value", p.s)
				}
				*p.dst = &v
			}
		}
		if err := w.db.AddMission(ctx, account.System, m); err != nil {
			return problem.Shown(err)
		}
		cli.Say(stdout, "cli.registered", "Code", m.Code)
	case "code":
		code, exp, err := w.db.IssueCode(ctx, account.System, m.Code)
		if err != nil {
			return problem.Shown(err)
		}
		cli.Say(stdout, "cli.code", "Mission", m.Code, "Code", code, "Until", exp.UTC().Format(time.RFC3339), "Fingerprint", exchange.Fingerprint(w.db.HQSigningPublic()))
	case "revoke":
		if err := w.db.Revoke(ctx, account.System, m.Code); err != nil {
			return problem.Shown(err)
		}
		cli.Say(stdout, "cli.revoked", "Code", m.Code)
	case "rekey":
		code, exp, err := w.db.ResetKeys(ctx, account.System, m.Code)
		if err != nil {
			return problem.Shown(err)
		}
		cli.Say(stdout, "cli.rekeyed", "Mission", m.Code, "Code", code, "Until", exp.UTC().Format(time.RFC3339), "Fingerprint", exchange.Fingerprint(w.db.HQSigningPublic()))
	case "enroll":
		b, err := os.ReadFile(request)
		if err != nil {
			return fmt.Errorf("%w: mission enroll needs --request FILE (%v)", errUsage, err)
		}
		var req exchange.EnrollRequest
		if err := json.Unmarshal(b, &req); err != nil {
			return problem.New(problem.Invalid, "cli.not_request", "File", request, "Why", err)
		}
		resp, err := w.ingest.Enroll(ctx, req, "file "+filepath.Base(request))
		if err != nil {
			return problem.Shown(err)
		}
		b, _ = json.MarshalIndent(resp, "", "  ")
		name := filepath.Join(out, "enroll-answer-"+resp.Mission+".json")
		if err := durable.WriteFile(name, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return err
		}
		cli.Say(stdout, "cli.enrolled_by_file", "Mission", resp.Mission, "Name", name)
	}
	return nil
}

func user(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "passwd") {
		return fmt.Errorf("%w: chancery-hq user add|passwd [flags]", errUsage)
	}
	var username, name, role, password string
	c, _, err := parse("user "+args[0], args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&username, "username", "", "the account's username")
		fs.StringVar(&password, "password", "", "the password; generated and printed if empty")
		if args[0] == "add" {
			fs.StringVar(&name, "name", "", "the person's full name")
			fs.StringVar(&role, "role", httpd.RoleAnalyst, "admin, analyst or publisher")
		}
	})
	if err != nil {
		return err
	}
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	if args[0] == "add" {
		return w.acc.AddUser(ctx, stdout, username, name, role, password)
	}
	return w.acc.ResetPassword(ctx, stdout, username, password)
}

func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var n, snaps int
	c, rest, err := parse("demo", args, stderr, func(fs *flag.FlagSet) {
		fs.IntVar(&n, "missions", 60, "how many demo missions")
		fs.IntVar(&snaps, "snapshots", 12, "monthly sign-offs per mission")
	})
	if err != nil {
		return err
	}
	if len(rest) > 0 || n < 1 || snaps < 0 {
		return cli.Usagef("chancery-hq demo [--missions N] [--snapshots N]")
	}
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	added, err := demo.Generate(ctx, w.db, demo.Options{Missions: n, Snapshots: snaps, Seed: 1, Now: time.Now()})
	if err != nil {
		return err
	}
	cli.Say(stdout, "cli.demo", "Added", fmt.Sprint(added), "There", fmt.Sprint(n-added))
	return nil
}

// backupCmd writes an encrypted backup of HQ's database. It holds no
// usable private key: HQ's keys in it are sealed under the key file,
// which goes in a file of its own only when asked for (--with-keys).
func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var out string
	var recips []string
	var withKeys bool
	c, _, err := parse("backup", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "file to write the encrypted backup to")
		fs.Func("recipient", "age public key (age1…) that can open the backup, beside the escrow keys kept with HQ; repeat for several", func(v string) error { recips = append(recips, v); return nil })
		fs.BoolVar(&withKeys, "with-keys", false, "also write HQ's key file, encrypted to the same recipients, to FILE.keys: without it the backup's private keys open with the key file on the HQ server only")
	})
	if err != nil {
		return err
	}
	if out == "" {
		return cli.Usage("cli.hq_backup_usage")
	}
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	// The escrow keys kept with HQ can always open HQ's backups: if HQ is
	// lost with its backup keys, the ministry's escrow key still brings it
	// back (docs/keys.md, "HQ is lost").
	escrow, err := w.db.Escrow(ctx)
	if err != nil {
		return err
	}
	if len(recips)+len(escrow) == 0 {
		return cli.Usage("cli.hq_backup_recipient")
	}
	rs, err := backup.Recipients(append(recips, escrow...))
	if err != nil {
		return err
	}
	if err := backup.Write(ctx, w.db.SQL(), c.Data, out, rs); err != nil {
		return err
	}
	keyFile := cmp.Or(c.KeyFile, store.KeyFile(filepath.Join(c.Data, "hq.db")))
	if withKeys {
		if err := backup.EncryptFile(out+".keys", keyFile, rs); err != nil {
			return err
		}
		cli.Say(stdout, "cli.hq_backup_keys", "Out", out, "Count", len(rs), "Escrow", escrowNote(escrow))
		return nil
	}
	cli.Say(stdout, "cli.hq_backup", "Out", out, "Count", len(rs), "Escrow", escrowNote(escrow), "KeyFile", keyFile)
	return nil
}

// restoreCmd puts an encrypted backup of HQ's database in place, checked
// whole first, keeping the database it replaces; with --keys, HQ's key
// file from a backup written --with-keys as well.
func escrowNote(escrow []string) string {
	if len(escrow) == 0 {
		return ""
	}
	return cli.P().T("cli.escrow_note", "Count", len(escrow))
}

func restoreCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var from, identity, keys string
	c, _, err := parse("restore", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "the encrypted backup to restore")
		fs.StringVar(&identity, "identity", "", "the age identity file (AGE-SECRET-KEY-1…) that opens the backup")
		fs.StringVar(&keys, "keys", "", "the key file's backup (FILE.keys), if HQ's key file is lost too")
	})
	if err != nil {
		return err
	}
	if from == "" || identity == "" {
		return cli.Usage("cli.restore_usage_hq")
	}
	live := filepath.Join(c.Data, "hq.db")
	if keys != "" {
		kept, err := backup.RestoreFile(keys, identity, cmp.Or(c.KeyFile, store.KeyFile(live)))
		if err != nil {
			return err
		}
		if kept != "" {
			cli.Say(stdout, "cli.keys_kept", "Kept", kept)
		}
	}
	kept, err := backup.Restore(ctx, from, identity, c.Data, live)
	if err != nil {
		return err
	}
	if kept != "" {
		cli.Say(stdout, "cli.db_kept", "Kept", kept)
	}
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	cli.Say(stdout, "cli.hq_restored", "From", from, "Fingerprint", exchange.Fingerprint(w.db.HQSigningPublic()))
	return nil
}

// auditCmd checks the audit log's hash chain.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return cli.Usagef("chancery-hq audit verify")
	}
	c, _, err := parse("audit verify", args[1:], stderr, nil)
	if err != nil {
		return err
	}
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	return account.VerifyAuditCommand(ctx, w.db.SQL(), stdout)
}

func token(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "revoke") {
		return cli.Usagef("chancery-hq token add|revoke --name NAME")
	}
	var name, role string
	c, _, err := parse("token "+args[0], args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "the token's name, such as gis-team")
		if args[0] == "add" {
			fs.StringVar(&role, "role", httpd.RoleAnalyst, "the role the token acts with")
		}
	})
	if err != nil {
		return err
	}
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	if args[0] == "revoke" {
		if err := w.acc.RevokeToken(ctx, account.System, name); err != nil {
			return problem.Shown(err)
		}
		cli.Say(stdout, "cli.token_revoked", "Name", name)
		return nil
	}
	if !slices.Contains(httpd.Roles, role) {
		return cli.Usage("account.unknown_role", "Role", role, "Roles", strings.Join(httpd.Roles, ", "))
	}
	t, err := w.acc.AddToken(ctx, account.System, name, role)
	if err != nil {
		return problem.Shown(err)
	}
	cli.Say(stdout, "cli.token", "Name", name, "Role", role, "Token", t)
	return nil
}

func frameworkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "publish" {
		return cli.Usagef("chancery-hq framework publish --file FRAMEWORK.json [--scope all]")
	}
	var file, scope string
	c, _, err := parse("framework publish", args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&file, "file", "", "the framework document (JSON)")
		fs.StringVar(&scope, "scope", "all", "all, region:NAME or missions:CODE,CODE")
	})
	if err != nil {
		return err
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return cli.Usagef("framework publish needs --file FRAMEWORK.json (%v)", err)
	}
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	p, err := w.db.PublishFramework(ctx, account.System, body, scope)
	if err != nil {
		return problem.Shown(err)
	}
	cli.Say(stdout, "cli.framework_published", "Version", fmt.Sprint(p.Doc.Version), "Scope", scope)
	return nil
}
