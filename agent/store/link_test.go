package store_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"chancery/agent/store"
	"chancery/shared/account"
	"chancery/shared/sqlite"
)

// A mission's database from before the link record keeps its enrollment,
// keys, receipts and deliveries through the upgrade.
func TestLinkUpgradedFromMetaKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "agent.db")
	older := fstest.MapFS{}
	names, _ := fs.Glob(store.Migrations, "*.sql")
	for _, n := range names[:slices.Index(names, "0107_agent_link.sql")] {
		b, _ := fs.ReadFile(store.Migrations, n)
		older[n] = &fstest.MapFile{Data: b}
	}
	db, err := sqlite.Open(ctx, path, account.Migrations, older)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"mission_code": "FR-PAR", "mission_name": "Embassy in Paris",
		"uplink_hq_url": "http://127.0.0.1:8081", "uplink_hq_recipients": `["age1one","age1two"]`,
		"uplink_hq_signing": "c2lnbmluZw==", "uplink_card": "card",
		"uplink_key_current": "AGE-SECRET-KEY-CUR seed", "uplink_key_previous": "AGE-SECRET-KEY-PREV seed",
		"uplink_acked": "41", "uplink_receipt_at": "2026-11-30T10:00:00.5Z", "uplink_last_ok": "2026-11-30T10:00:01Z",
		"uplink_last_error": "", "uplink_peer_documents": "7", "uplink_docs_from_peers": "9 7",
		"delivery:inc-1": "sent 2026-11-30T09:00:00Z", "delivery:inc-2": "queued",
	} {
		if _, err := db.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?)", k, v); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	d, err := store.Open(ctx, path)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer d.Close()
	l, err := d.Link(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Link{
		Mission: "FR-PAR", Name: "Embassy in Paris", HQURL: "http://127.0.0.1:8081", HQRecipients: []string{"age1one", "age1two"},
		HQSigning: "c2lnbmluZw==", Card: "card",
		Keys:  store.Keys{Current: "AGE-SECRET-KEY-CUR seed", Previous: "AGE-SECRET-KEY-PREV seed"},
		Acked: 41, ReceiptAt: time.Date(2026, 11, 30, 10, 0, 0, 5e8, time.UTC), LastOK: time.Date(2026, 11, 30, 10, 0, 1, 0, time.UTC),
		PeerDocuments: 7, Deferred: 9, DeferredHad: 7, RestoredSeq: -1, PouchFormat: 1,
	}
	if !linkEqual(l, want) {
		t.Fatalf("link after upgrade:\n got %+v\nwant %+v", l, want)
	}
	if dl, err := d.Delivery(ctx, "inc-1"); err != nil || dl == nil || dl.String() != "sent 2026-11-30T09:00:00Z" {
		t.Errorf("delivery of inc-1 = %v, %v", dl, err)
	}
	if dl, err := d.Delivery(ctx, "inc-2"); err != nil || dl == nil || dl.String() != "queued" {
		t.Errorf("delivery of inc-2 = %v, %v", dl, err)
	}
	if dl, err := d.Delivery(ctx, "inc-3"); err != nil || dl != nil {
		t.Errorf("delivery of an incident never escalated = %v, %v", dl, err)
	}
}

// UpdateLink reads and writes in one transaction: concurrent changes of
// different fields all land, and a change that fails writes nothing.
func TestUpdateLinkIsOneTransaction(t *testing.T) {
	ctx := context.Background()
	d := MustOpen(t)
	done := make(chan error)
	for i := range 20 {
		go func() {
			done <- d.UpdateLink(ctx, func(l *store.Link) error {
				l.Acked++
				if i%2 == 0 {
					l.HQRecipients = append(l.HQRecipients, "age1x")
				}
				return nil
			})
		}()
	}
	for range 20 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if err := d.UpdateLink(ctx, func(l *store.Link) error { l.Acked = 999; return context.Canceled }); err == nil {
		t.Fatal("a failed change reported success")
	}
	l, err := d.Link(ctx)
	if err != nil || l.Acked != 20 || len(l.HQRecipients) != 10 {
		t.Fatalf("after 20 concurrent updates: acked %d, %d recipients, %v", l.Acked, len(l.HQRecipients), err)
	}
}

func linkEqual(a, b store.Link) bool {
	if !slices.Equal(a.HQRecipients, b.HQRecipients) || !a.ReceiptAt.Equal(b.ReceiptAt) || !a.LastOK.Equal(b.LastOK) {
		return false
	}
	a.HQRecipients, b.HQRecipients = nil, nil
	a.ReceiptAt, b.ReceiptAt, a.LastOK, b.LastOK = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// The mission's private keys are kept sealed under the key file beside
// the database: the database alone, copied or backed up, opens none.
func TestKeysSealedAtRest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "agent.db")
	d, err := store.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const secret = "AGE-SECRET-KEY-1QQQQQQ c2VlZHNlZWRzZWVkc2VlZA=="
	if err := d.UpdateLink(ctx, func(l *store.Link) error { l.Keys.Current = secret; return nil }); err != nil {
		t.Fatal(err)
	}
	var raw string
	d.SQL().QueryRowContext(ctx, "SELECT key_current FROM link").Scan(&raw)
	if strings.Contains(raw, "AGE-SECRET-KEY") || !strings.HasPrefix(raw, "sealed1:") {
		t.Fatalf("the key is kept as %q", raw)
	}
	if l, err := d.Link(ctx); err != nil || l.Keys.Current != secret {
		t.Fatalf("the key read back: %q %v", l.Keys.Current, err)
	}
	if err := sqlite.Backup(ctx, d.SQL(), filepath.Join(t.TempDir(), "copy.db")); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if st, err := os.Stat(store.KeyFile(path)); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the key file: %v %v", st, err)
	}
	// The database without its key file opens nothing.
	elsewhere := filepath.Join(t.TempDir(), "agent.db")
	b, _ := os.ReadFile(path)
	os.WriteFile(elsewhere, b, 0o600)
	if _, err := store.Open(ctx, elsewhere); err == nil || !strings.Contains(err.Error(), "key file") {
		t.Fatalf("the database opened without its key file: %v", err)
	}
}
