package account_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"chancery/shared/account"
	"chancery/shared/problem"
	"chancery/shared/sqlite"
)

func TestPasswordHash(t *testing.T) {
	h, err := account.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not argon2id in PHC form", h)
	}
	h2, _ := account.HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if !account.CheckPassword(h, "correct horse battery") {
		t.Fatal("right password refused")
	}
	for _, bad := range []string{"correct horse batterY", "", "correct horse battery "} {
		if account.CheckPassword(h, bad) {
			t.Errorf("wrong password %q accepted", bad)
		}
	}
	for _, broken := range []string{"", "$argon2id$", "$bcrypt$v=19$m=1,t=1,p=1$AAAA$AAAA", strings.Replace(h, "m=19456", "m=x", 1)} {
		if account.CheckPassword(broken, "correct horse battery") {
			t.Errorf("malformed hash %q accepted", broken)
		}
	}
}

func newService(t *testing.T) (*account.Service, *time.Time) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"), account.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := account.New(db, "admin", "staff")
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	return s, &now
}

func TestPerAddressLimit(t *testing.T) {
	ctx := context.Background()
	s, now := newService(t)
	s.CreateUser(ctx, account.System, "real.user", "Real", "staff", "a good long password")
	// A sweep over many usernames from one address is stopped after 30
	// failures, even though no single account reached its limit.
	for i := range 30 {
		_, _, err := s.Login(ctx, "guess"+string(rune('a'+i%26))+string(rune('a'+i/26)), "pw", "203.0.113.9")
		if problem.CodeOf(err) != problem.Unauthorized {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, _, err := s.Login(ctx, "real.user", "a good long password", "203.0.113.9"); problem.CodeOf(err) != problem.TooMany {
		t.Fatalf("31st attempt from the address: %v", err)
	}
	// Another address is not affected.
	if _, _, err := s.Login(ctx, "real.user", "a good long password", "203.0.113.10"); err != nil {
		t.Fatalf("other address: %v", err)
	}
	*now = now.Add(15 * time.Minute)
	if _, _, err := s.Login(ctx, "real.user", "a good long password", "203.0.113.9"); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

func TestUnknownUserAndDisabledUserGetTheSameAnswer(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	s.CreateUser(ctx, account.System, "gone", "Gone", "staff", "a good long password")
	s.CreateUser(ctx, account.System, "boss", "Boss", "admin", "a good long password")
	s.SetDisabled(ctx, account.Actor{Username: "boss"}, "gone", true)
	_, _, e1 := s.Login(ctx, "nobody", "a good long password", "a")
	_, _, e2 := s.Login(ctx, "gone", "a good long password", "b")
	if e1 == nil || e2 == nil || e1.Error() != e2.Error() {
		t.Fatalf("unknown: %v; disabled: %v", e1, e2)
	}
	if err := s.SetDisabled(ctx, account.Actor{Username: "boss"}, "boss", true); problem.CodeOf(err) != problem.Conflict {
		t.Fatalf("disabling oneself: %v", err)
	}
}

// Guesses sent at one account all at once are counted as they start: no
// more are tried than the limit allows, however many arrive together.
func TestConcurrentGuessesAreCountedBeforeHashing(t *testing.T) {
	ctx := context.Background()
	s, _ := newService(t)
	s.CreateUser(ctx, account.System, "real.user", "Real", "staff", "a good long password")
	var wg sync.WaitGroup
	var tried, refused atomic.Int32
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.Login(ctx, "real.user", "guess number "+strconv.Itoa(i), "203.0.113."+strconv.Itoa(i))
			switch problem.CodeOf(err) {
			case problem.Unauthorized:
				tried.Add(1)
			case problem.TooMany:
				refused.Add(1)
			default:
				t.Errorf("guess %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if tried.Load() > 5 || tried.Load()+refused.Load() != 40 {
		t.Fatalf("%d guesses were tried and %d refused; at most 5 may be tried", tried.Load(), refused.Load())
	}
	entries, _ := s.AuditLog(ctx, 100)
	fails := 0
	for _, e := range entries {
		if e.Action == "login.fail" {
			fails++
		}
	}
	if fails != int(tried.Load()) {
		t.Fatalf("%d failed logins in the audit log, %d tried", fails, tried.Load())
	}
}

// A session ends at its maximum age even when the clock is set back: one
// stamped in the future ends at once.
func TestSessionEndsWhenTheClockIsSetBack(t *testing.T) {
	ctx := context.Background()
	s, now := newService(t)
	s.CreateUser(ctx, account.System, "real.user", "Real", "staff", "a good long password")
	_, token, err := s.Login(ctx, "real.user", "a good long password", "203.0.113.9")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, token); err != nil {
		t.Fatalf("a fresh session: %v", err)
	}
	*now = now.Add(-6 * time.Hour) // the clock ran six hours ahead, and is corrected
	if _, err := s.Session(ctx, token); !errors.Is(err, account.ErrNoSession) {
		t.Fatalf("a session stamped six hours ahead of the corrected clock: %v", err)
	}
}

// The audit log's chain finds an entry edited, deleted or moved, even by
// someone who dropped the append-only triggers first.
func TestAuditChainFindsTampering(t *testing.T) {
	ctx := context.Background()
	for name, tamper := range map[string]string{
		"edited":  "UPDATE audit SET detail = 'role admin' WHERE id = 2",
		"deleted": "DELETE FROM audit WHERE id = 2",
		"moved":   "UPDATE audit SET id = 99 WHERE id = 2",
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "a.db")
			db, err := sqlite.Open(ctx, path, account.Migrations)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			s := account.New(db, "admin", "staff")
			for _, u := range []string{"ana", "bob", "cleo"} {
				if _, err := s.CreateUser(ctx, account.System, u, u, "staff", "a good long password"); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := account.VerifyAudit(ctx, db); err != nil || n != 3 {
				t.Fatalf("an untouched log: %d entries, %v", n, err)
			}
			for _, q := range []string{"DROP TRIGGER audit_append_only_update", "DROP TRIGGER audit_append_only_delete", tamper} {
				if _, err := db.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := account.VerifyAudit(ctx, db); !errors.Is(err, account.ErrAuditBroken) {
				t.Fatalf("a log whose second entry was %s: %v", name, err)
			}
		})
	}
}
