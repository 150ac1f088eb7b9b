package account

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"chancery/shared/sqlite"
)

// When every hashing slot is taken, a login is told to try again within
// LoginWait, without its password being tried or counted against it.
func TestLoginWhenEveryHashingSlotIsTaken(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), Migrations)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := New(db, "staff")
	s.LoginWait = 50 * time.Millisecond
	if _, err := s.CreateUser(ctx, System, "real.user", "Real", "staff", "a good long password"); err != nil {
		t.Fatal(err)
	}
	for range cap(hashSlots) {
		hashSlots <- struct{}{}
	}
	for range accountFailures + 2 {
		start := time.Now()
		_, _, err := s.Login(ctx, "real.user", "a good long password", "203.0.113.9")
		if !errors.Is(err, ErrBusy) {
			t.Fatalf("a login with every slot taken: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("a login waited %s for a slot", d)
		}
	}
	for range cap(hashSlots) {
		<-hashSlots
	}
	// None of the refused logins counted against the account.
	if _, _, err := s.Login(ctx, "real.user", "a good long password", "203.0.113.9"); err != nil {
		t.Fatalf("a login once slots are free: %v", err)
	}
}
