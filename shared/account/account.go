// Package account is who may use a Chancery program and what they did:
// users with roles, argon2id passwords, server-side sessions with idle and
// absolute expiry, a login rate limit per account and per client address,
// and the append-only audit log. The agent and headquarters use it alike;
// each names its own roles.
//
// The tables come from [Migrations], applied by the program's store with
// its own.
package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"chancery/shared/clock"
	"chancery/shared/i18n"
	"chancery/shared/problem"
	"chancery/shared/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations holds the schema of the account tables.
var Migrations, _ = fs.Sub(migrations, "migrations")

// User is a person with an account.
type User struct {
	ID          int64
	Username    string
	DisplayName string
	Role        string
	Disabled    bool
	CreatedAt   time.Time
	// Lang is the language tag the person chose to read in ("fr"), or ""
	// for their browser's.
	Lang string
}

// Actor is who did something and from where, for the audit log.
type Actor struct {
	Username string
	Remote   string
}

// System is the actor for changes made by the program itself or its CLI.
var System = Actor{Username: "system", Remote: "local"}

// Execer is what both *sql.DB and *sql.Tx offer.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Entry is one line of the audit log.
type Entry struct {
	ID     int64
	At     time.Time
	Actor  string
	Action string
	Target string
	Detail string
	Remote string
}

// Audit appends an entry to the audit log through q, which should be the
// transaction that makes the change being recorded. The entry is chained
// to the one before by hash (see VerifyAudit).
func Audit(ctx context.Context, q Execer, a Actor, action, target, detail string) error {
	if db, ok := q.(*sql.DB); ok {
		// The chain needs the last entry read and the new one written in
		// one transaction.
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		defer tx.Rollback()
		if err := Audit(ctx, tx, a, action, target, detail); err != nil {
			return err
		}
		return tx.Commit()
	}
	var prev string
	if err := q.QueryRowContext(ctx, "SELECT hash FROM audit ORDER BY id DESC LIMIT 1").Scan(&prev); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit: %w", err)
	}
	at, _ := sqlite.Time(clock.Now()).Value()
	e := chained{at: at.(string), actor: a.Username, action: action, target: target, detail: detail, remote: a.Remote, prev: prev}
	_, err := q.ExecContext(ctx, `INSERT INTO audit (at, actor, action, target, detail, remote, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.at, e.actor, e.action, e.target, e.detail, e.remote, e.prev, e.sum())
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// chained is an audit entry as its hash covers it.
type chained struct {
	at, actor, action, target, detail, remote, prev string
}

func (e chained) sum() string {
	h := sha256.New()
	for _, f := range []string{"chancery audit v1", e.prev, e.at, e.actor, e.action, e.target, e.detail, e.remote} {
		fmt.Fprintf(h, "%d:%s\x00", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyAudit walks the audit log in order and checks the hash chain. It
// returns how many entries it checked and, for the first entry that was
// edited, removed from before it or moved, an error naming it. Entries
// older than the chain are passed over.
func VerifyAudit(ctx context.Context, db *sql.DB) (int, error) {
	n, last := 0, ""
	err := walkAudit(ctx, db, func(id int64, e chained, hash string) error {
		switch {
		case hash == "":
			return fmt.Errorf("%w: entry %d has no hash, after chained entries", ErrAuditBroken, id)
		case e.prev != last:
			return fmt.Errorf("%w: entry %d does not follow the entry before it: one was removed or moved", ErrAuditBroken, id)
		case e.sum() != hash:
			return fmt.Errorf("%w: entry %d was changed after it was written", ErrAuditBroken, id)
		}
		last = hash
		n++
		return nil
	})
	return n, err
}

// AuditMark recomputes the audit chain from the entries themselves, never
// from the hashes stored beside them, and returns how many chained
// entries there are, the chain's hash at the last one and at entry at
// (counting from 1; empty if there is no such entry). An entry edited,
// removed or moved changes the hash at every entry from it on, whatever
// was done to the stored hashes: what a mission sends HQ (see
// pouch.AuditMark).
func AuditMark(ctx context.Context, db *sql.DB, at int64) (entries int64, head, atHash string, err error) {
	err = walkAudit(ctx, db, func(_ int64, e chained, _ string) error {
		e.prev = head
		head = e.sum()
		entries++
		if entries == at {
			atHash = head
		}
		return nil
	})
	return entries, head, atHash, err
}

// walkAudit calls f for each entry of the chain, in order, from the first
// entry written with a hash.
func walkAudit(ctx context.Context, db *sql.DB, f func(id int64, e chained, hash string) error) error {
	rows, err := db.QueryContext(ctx, "SELECT id, at, actor, action, target, detail, remote, prev, hash FROM audit ORDER BY id")
	if err != nil {
		return err
	}
	defer rows.Close()
	started := false
	for rows.Next() {
		var id int64
		var e chained
		var hash string
		if err := rows.Scan(&id, &e.at, &e.actor, &e.action, &e.target, &e.detail, &e.remote, &e.prev, &hash); err != nil {
			return err
		}
		if hash == "" && !started {
			continue // from before the chain
		}
		started = true
		if err := f(id, e, hash); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ErrAuditBroken is an audit log whose chain does not hold.
var ErrAuditBroken = errors.New("the audit log has been tampered with")

// Service manages accounts and sessions in a database.
type Service struct {
	db *sql.DB
	// Roles lists the roles this program knows, most powerful first.
	roles []string
	// IdleTimeout ends a session nobody has used for this long.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after login, used or not.
	MaxAge time.Duration
	// Now is the clock; tests move it.
	Now func() time.Time
	// LoginWait is how long a login waits for a hashing slot before it is
	// told to try again (see DefaultLoginWait).
	LoginWait time.Duration

	perAccount *Limiter
	perAddress *Limiter

	// firstSeen holds, for each session this process has seen, when it
	// first saw it by the monotonic clock (token hash → time.Time).
	firstSeen sync.Map

	// failures counts refused logins (a wrong password, an unknown or
	// disabled account, too many tries), for the programs' metrics.
	failures atomic.Int64
}

// Defaults. Thirty idle minutes suits a shared embassy workstation; twelve
// hours covers a long working day without a second login. Five failures
// per account in 15 minutes stops guessing of one password; thirty per
// address stops a sweep across accounts without locking out an office
// behind one NAT address.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 12 * time.Hour
	accountFailures    = 5
	addressFailures    = 30
	failureWindow      = 15 * time.Minute
)

// New returns a Service over db for a program with the given roles.
func New(db *sql.DB, roles ...string) *Service {
	return &Service{
		db:          db,
		roles:       roles,
		IdleTimeout: DefaultIdleTimeout,
		MaxAge:      DefaultMaxAge,
		Now:         clock.Now,
		LoginWait:   DefaultLoginWait,
		perAccount:  NewLimiter(accountFailures, failureWindow),
		perAddress:  NewLimiter(addressFailures, failureWindow),
	}
}

// Roles returns the program's roles.
func (s *Service) Roles() []string { return slices.Clone(s.roles) }

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,31}$`)

// Limits on account fields.
const (
	MinPassword    = 12
	MaxPassword    = 256
	MaxDisplayName = 100
)

func (s *Service) validate(username, displayName, role, password string) error {
	switch {
	case !usernameRE.MatchString(username):
		return problem.New(problem.Invalid, "account.bad_username")
	case strings.TrimSpace(displayName) == "" || utf8.RuneCountInString(displayName) > MaxDisplayName:
		return problem.New(problem.Invalid, "account.bad_name", "Max", MaxDisplayName)
	case !slices.Contains(s.roles, role):
		return problem.New(problem.Invalid, "account.unknown_role", "Role", role, "Roles", strings.Join(s.roles, ", "))
	}
	return checkPassword(password)
}

func checkPassword(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPassword || len(p) > MaxPassword {
		return problem.New(problem.Invalid, "account.bad_password", "Min", MinPassword, "Max", MaxPassword)
	}
	return nil
}

// CreateUser adds an account.
func (s *Service) CreateUser(ctx context.Context, by Actor, username, displayName, role, password string) (User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	displayName = strings.TrimSpace(displayName)
	if err := s.validate(username, displayName, role, password); err != nil {
		return User{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return User{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return User{}, err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM users WHERE username = ?", username).Scan(&n); err != nil {
		return User{}, err
	}
	if n > 0 {
		return User{}, problem.New(problem.Conflict, "account.taken", "User", username)
	}
	now := s.Now().UTC()
	res, err := tx.ExecContext(ctx, `INSERT INTO users (username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
		username, displayName, role, hash, sqlite.Time(now))
	if err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	id, _ := res.LastInsertId()
	if err := Audit(ctx, tx, by, "user.create", username, "role "+role); err != nil {
		return User{}, err
	}
	if err := tx.Commit(); err != nil {
		return User{}, err
	}
	return User{ID: id, Username: username, DisplayName: displayName, Role: role, CreatedAt: now}, nil
}

// SetPassword changes a user's password and ends their sessions.
func (s *Service) SetPassword(ctx context.Context, by Actor, username, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return s.change(ctx, by, username, func(tx *sql.Tx, u User) (string, string, error) {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET password_hash = ? WHERE id = ?", hash, u.ID); err != nil {
			return "", "", err
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", u.ID)
		return "user.password", "", err
	})
}

// change runs do on username's account in one transaction, and records
// the action and detail do returns in the audit log; an action of ""
// changes nothing.
func (s *Service) change(ctx context.Context, by Actor, username string, do func(tx *sql.Tx, u User) (action, detail string, err error)) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	u, err := userBy(ctx, tx, "username", username)
	if err != nil {
		return err
	}
	action, detail, err := do(tx, u)
	if err != nil || action == "" {
		return err
	}
	if err := Audit(ctx, tx, by, action, u.Username, detail); err != nil {
		return err
	}
	return tx.Commit()
}

// ChangePassword is a person changing their own password: the current
// one is checked as a login is (with its limits on guessing), then the
// new one replaces it and every session of theirs ends.
func (s *Service) ChangePassword(ctx context.Context, by Actor, current, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	_, token, err := s.Login(ctx, by.Username, current, by.Remote)
	if errors.Is(err, ErrBadLogin) {
		return problem.New(problem.Invalid, "account.wrong_current")
	}
	if err != nil {
		return err
	}
	if err := s.Logout(ctx, token, by); err != nil {
		return err
	}
	return s.SetPassword(ctx, by, by.Username, password)
}

// SetRole gives an account another role. Nobody changes their own, so
// that the last administrator cannot lock everyone out by a slip.
func (s *Service) SetRole(ctx context.Context, by Actor, username, role string) error {
	if !slices.Contains(s.roles, role) {
		return problem.New(problem.Invalid, "account.not_a_role", "Role", role, "Roles", strings.Join(s.roles, ", "))
	}
	return s.change(ctx, by, username, func(tx *sql.Tx, u User) (string, string, error) {
		switch {
		case u.Username == by.Username:
			return "", "", problem.New(problem.Conflict, "account.own_role")
		case u.Role == role:
			return "", "", nil
		}
		_, err := tx.ExecContext(ctx, "UPDATE users SET role = ? WHERE id = ?", role, u.ID)
		return "user.role", u.Role + " → " + role, err
	})
}

// SetDisabled disables or re-enables an account; disabling ends its
// sessions.
func (s *Service) SetDisabled(ctx context.Context, by Actor, username string, disabled bool) error {
	return s.change(ctx, by, username, func(tx *sql.Tx, u User) (string, string, error) {
		if u.Username == by.Username {
			return "", "", problem.New(problem.Conflict, "account.own_disable")
		}
		if _, err := tx.ExecContext(ctx, "UPDATE users SET disabled = ? WHERE id = ?", disabled, u.ID); err != nil {
			return "", "", err
		}
		if !disabled {
			return "user.enable", "", nil
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = ?", u.ID)
		return "user.disable", "", err
	})
}

// SetLanguage saves the language username reads in: a shipped language's
// tag, or "" for the browser's.
func (s *Service) SetLanguage(ctx context.Context, by Actor, username, lang string) error {
	if lang != "" && !i18n.Supported(lang) {
		return problem.New(problem.Invalid, "account.lang_unknown", "Lang", lang, "Choices", strings.Join(i18n.Languages(), ", "))
	}
	return s.change(ctx, by, username, func(tx *sql.Tx, u User) (string, string, error) {
		_, err := tx.ExecContext(ctx, "UPDATE users SET lang = ? WHERE id = ?", lang, u.ID)
		return "user.language", lang, err
	})
}

// Users lists every account by username.
func (s *Service) Users(ctx context.Context) ([]User, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+userCols+" FROM users ORDER BY username")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Count returns the number of accounts.
func (s *Service) Count(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n)
	return n, err
}

const userCols = "id, username, display_name, role, disabled, created_at, lang"

type scanner interface{ Scan(...any) error }

func scanUser(r scanner) (User, error) {
	var u User
	if err := r.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Role, &u.Disabled, (*sqlite.Time)(&u.CreatedAt), &u.Lang); err != nil {
		return User{}, err
	}
	return u, nil
}

func userBy(ctx context.Context, q Execer, col string, v any) (User, error) {
	u, err := scanUser(q.QueryRowContext(ctx, "SELECT "+userCols+" FROM users WHERE "+col+" = ?", v))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, problem.New(problem.NotFound, "account.no_user", "User", fmt.Sprint(v))
	}
	return u, err
}

func tooMany(until, now time.Time) error {
	mins := int(until.Sub(now).Minutes()) + 1
	return problem.New(problem.TooMany, "account.locked", "Count", mins)
}

// ErrBadLogin is the one answer to a wrong username or password, so that
// the login page does not tell which accounts exist.
var ErrBadLogin = problem.New(problem.Unauthorized, "account.bad_login")

// dummyHash is checked when the username is unknown, so that a wrong
// username takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := hashPassword("chancery-timing-equaliser") // its caller holds a slot
	return h
})

// Failures is how many logins this service has refused since it started.
func (s *Service) Failures() int64 { return s.failures.Load() }

// Login checks a username and password from the client address remote
// and, if they are right, opens a new session and returns its token.
func (s *Service) Login(ctx context.Context, username, password, remote string) (User, string, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	now := s.Now()
	if len(username) > 64 || len(password) > MaxPassword {
		s.failures.Add(1)
		return User{}, "", ErrBadLogin
	}
	// The attempt is counted before the password is hashed, so guesses
	// sent at once cannot all slip under the limit; a login that succeeds
	// gives its slots back.
	if ok, until := s.perAccount.Attempt(username, now); !ok {
		s.failures.Add(1)
		return User{}, "", tooMany(until, now)
	}
	if ok, until := s.perAddress.Attempt(remote, now); !ok {
		s.failures.Add(1)
		s.perAccount.Refund(username, now)
		return User{}, "", tooMany(until, now)
	}
	refund := func() {
		s.perAccount.Refund(username, now)
		s.perAddress.Refund(remote, now)
	}
	release, err := hashSlot(ctx, s.LoginWait)
	if err != nil {
		refund() // not tried: the guess costs nothing
		return User{}, "", err
	}
	var hash string
	var u User
	err = s.db.QueryRowContext(ctx, "SELECT password_hash FROM users WHERE username = ?", username).Scan(&hash)
	if err == nil {
		u, err = userBy(ctx, s.db, "username", username)
	}
	switch {
	case errors.Is(err, sql.ErrNoRows):
		matches(dummyHash(), password)
		hash = ""
	case err != nil:
		release()
		return User{}, "", err
	}
	right := hash != "" && matches(hash, password)
	release()
	if !right || u.Disabled {
		s.failures.Add(1)
		if err := Audit(ctx, s.db, Actor{username, remote}, "login.fail", username, ""); err != nil {
			return User{}, "", err
		}
		return User{}, "", ErrBadLogin
	}
	s.perAccount.Reset(username)
	s.perAddress.Refund(remote, now)

	token, sum := newToken()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return User{}, "", err
	}
	defer tx.Rollback()
	// Sessions past their absolute age are swept at each login, so the
	// table stays small without a background job.
	if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE created_at < ?", now.Add(-s.MaxAge).Unix()); err != nil {
		return User{}, "", err
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO sessions (token_hash, user_id, created_at, seen_at) VALUES (?, ?, ?, ?)",
		sum, u.ID, now.Unix(), now.Unix()); err != nil {
		return User{}, "", err
	}
	if err := Audit(ctx, tx, Actor{u.Username, remote}, "login", u.Username, ""); err != nil {
		return User{}, "", err
	}
	return u, token, tx.Commit()
}

func newToken() (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	t := base64.RawURLEncoding.EncodeToString(b)
	return t, hashToken(t)
}

func hashToken(t string) []byte {
	s := sha256.Sum256([]byte(t))
	return s[:]
}

// ErrNoSession means the token names no live session: never issued,
// logged out, idle too long or too old.
var ErrNoSession = problem.New(problem.Unauthorized, "account.no_session")

// Session returns the user of a live session and marks it used.
func (s *Service) Session(ctx context.Context, token string) (User, error) {
	if token == "" {
		return User{}, ErrNoSession
	}
	sum := hashToken(token)
	var uid, created, seen int64
	err := s.db.QueryRowContext(ctx, "SELECT user_id, created_at, seen_at FROM sessions WHERE token_hash = ?", sum).Scan(&uid, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNoSession
	}
	if err != nil {
		return User{}, err
	}
	now := s.Now()
	// A session stamped in the future is one the clock has since been
	// set back from: its age cannot be told by the wall clock, so it ends.
	// While the program runs, the age is also measured on the monotonic
	// clock, which no setting of the wall clock moves.
	ahead := time.Unix(created, 0).After(now.Add(time.Minute)) || time.Unix(seen, 0).After(now.Add(time.Minute))
	if ahead || now.Sub(time.Unix(seen, 0)) > s.IdleTimeout || now.Sub(time.Unix(created, 0)) > s.MaxAge || s.monotonicAge(sum) > s.MaxAge {
		if _, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE token_hash = ?", sum); err != nil {
			return User{}, err
		}
		return User{}, ErrNoSession
	}
	u, err := userBy(ctx, s.db, "id", uid)
	if err != nil {
		return User{}, err
	}
	if u.Disabled {
		return User{}, ErrNoSession
	}
	// Writing seen_at on every request would turn each page view into a
	// disk sync; once a minute is precise enough for a 30-minute timeout.
	if now.Unix()-seen >= 60 {
		if _, err := s.db.ExecContext(ctx, "UPDATE sessions SET seen_at = ? WHERE token_hash = ?", now.Unix(), sum); err != nil {
			return User{}, err
		}
	}
	return u, nil
}

// monotonicAge is how long ago, by the monotonic clock, this process
// first saw the session.
func (s *Service) monotonicAge(sum []byte) time.Duration {
	v, _ := s.firstSeen.LoadOrStore(string(sum), time.Now())
	return time.Since(v.(time.Time))
}

// Logout ends the session of token.
func (s *Service) Logout(ctx context.Context, token string, by Actor) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM sessions WHERE token_hash = ?", hashToken(token))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return Audit(ctx, s.db, by, "logout", by.Username, "")
	}
	return nil
}

// AuditLog returns the newest audit entries, newest first.
func (s *Service) AuditLog(ctx context.Context, limit int) ([]Entry, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT id, at, actor, action, target, detail, remote FROM audit ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.ID, (*sqlite.Time)(&e.At), &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Remote); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// EnsureAdmin creates the first account, with role, on a database that has
// none. It returns the password when it generated one, for the program to
// print once.
func (s *Service) EnsureAdmin(ctx context.Context, role, password string) (string, error) {
	n, err := s.Count(ctx)
	if err != nil || n > 0 {
		return "", err
	}
	generated := ""
	if password == "" {
		password = GeneratePassword()
		generated = password
	}
	if _, err := s.CreateUser(ctx, System, "admin", "Administrator", role, password); err != nil {
		return "", fmt.Errorf("create the first administrator: %s", problem.MessageOf(err))
	}
	return generated, nil
}
