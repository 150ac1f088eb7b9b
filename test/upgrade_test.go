package test

import (
	"bufio"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"chancery/agent/store"
	hqstore "chancery/hq/store"
	"chancery/shared/account"
	"chancery/shared/sqlite"
)

// TestUpgradeFromEveryRelease: the databases of every schema main has
// shipped, each made by that commit's own programs (an enrolled mission
// with demo answers, synced, and an HQ with demo missions; see
// testdata/schemas/make-fixture.sh), are opened by today's programs. HQ
// first, as deploy/INSTALL.md says: it starts, and shows every change the
// mission had sent; then the agent: it starts, shows every answer, and
// its keys still open and still sign for HQ, which takes a sync from it.
// Both databases end with the schema of a fresh one, and every table
// keeps its rows, unless a migration drops it.
func TestUpgradeFromEveryRelease(t *testing.T) {
	fixtures, _ := filepath.Glob("testdata/schemas/*/COMMIT")
	if len(fixtures) < 24 {
		t.Fatalf("only %d schema fixtures in testdata/schemas; every schema main shipped since its first release has one (24 then)", len(fixtures))
	}
	agentSources := []fs.FS{account.Migrations, store.Migrations}
	hqSources := []fs.FS{account.Migrations, hqstore.Migrations}
	freshAgent, freshHQ := schema(t, "", agentSources), schema(t, "", hqSources)
	dropped := droppedTables(t, append(agentSources, hqstore.Migrations)...)
	for _, f := range fixtures {
		fx := filepath.Dir(f)
		t.Run(filepath.Base(fx), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					b, _ := os.ReadFile(f)
					t.Logf("fixture of %s", b)
				}
			})
			hqDir, agentDir := unpack(t, fx, "hq"), unpack(t, fx, "agent")
			agentRows, hqRows := rowsOf(t, fx, "agent"), rowsOf(t, fx, "hq")

			run(t, "chancery-hq", "user", "passwd", "--data", hqDir, "--username", "admin", "--password", "upgrade-test-password")
			hq := startHQ(t, hqDir)
			c := login(t, hq.URL, "admin", "upgrade-test-password")
			m := heldRE.FindStringSubmatch(get(t, c, hq.URL+"/missions/FR-PAR"))
			if m == nil || m[1] != strconv.Itoa(agentRows["changes"]) || m[2] != m[1] {
				t.Fatalf("HQ's page for FR-PAR says %q; the mission had sent and HQ applied %d changes", m, agentRows["changes"])
			}

			a := startAgent(t, agentDir)
			ac := login(t, a.URL, "admin", a.Password)
			if home := get(t, ac, a.URL+"/"); !strings.Contains(home, strconv.Itoa(agentRows["answers"])+" of ") {
				t.Fatalf("the mission's home page after the upgrade does not show its %d answers:\n%s", agentRows["answers"], progressLine(home))
			}
			a.stop(t)
			repoint(t, agentDir, hq.URL)
			syncCmd(t, agentDir)
			hq.stop(t)

			for _, db := range []struct {
				path  string
				fresh string
				rows  map[string]int
				srcs  []fs.FS
			}{{filepath.Join(agentDir, "agent.db"), freshAgent, agentRows, agentSources}, {filepath.Join(hqDir, "hq.db"), freshHQ, hqRows, hqSources}} {
				if got := schema(t, db.path, db.srcs); got != db.fresh {
					t.Errorf("%s, upgraded, differs from a fresh database:\n--- upgraded\n%s\n--- fresh\n%s", filepath.Base(db.path), got, db.fresh)
				}
				now := countRows(t, db.path)
				for table, before := range db.rows {
					after, ok := now[table]
					switch {
					case !ok && !dropped[table]:
						t.Errorf("%s: table %s, with %d rows, is gone, and no migration drops it", filepath.Base(db.path), table, before)
					case ok && after < before && table != "sessions":
						t.Errorf("%s: table %s had %d rows and has %d after the upgrade", filepath.Base(db.path), table, before, after)
					}
				}
			}
		})
	}
}

// unpack puts a fixture's database and key file for program in a new
// data folder.
func unpack(t *testing.T, fx, program string) string {
	t.Helper()
	dir := t.TempDir()
	in, err := os.Open(filepath.Join(fx, program+".db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	z, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(filepath.Join(dir, program+".db"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, z); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if b, err := os.ReadFile(filepath.Join(fx, program+"-keys.key")); err == nil {
		os.WriteFile(filepath.Join(dir, "keys.key"), b, 0o600)
	}
	return dir
}

// rowsOf reads the row counts the fixture was made with; the tables of
// full-text indexes are left out, being rebuilt at will.
func rowsOf(t *testing.T, fx, program string) map[string]int {
	t.Helper()
	f, err := os.Open(filepath.Join(fx, program+".rows"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		table, n, _ := strings.Cut(sc.Text(), " ")
		if strings.Contains(table, "_fts") || table == "migrations" {
			continue
		}
		rows[table], _ = strconv.Atoi(n)
	}
	return rows
}

func countRows(t *testing.T, path string) map[string]int {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	names, err := db.QueryContext(context.Background(), `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for names.Next() {
		var n string
		names.Scan(&n)
		tables = append(tables, n)
	}
	names.Close()
	out := map[string]int{}
	for _, n := range tables {
		var c int
		if err := db.QueryRow(`SELECT count(*) FROM "` + n + `"`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		out[n] = c
	}
	return out
}

// schema is the schema of the database at path, migrated with sources (a
// fresh one if path is empty).
func schema(t *testing.T, path string, sources []fs.FS) string {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "fresh.db")
	}
	db, err := sqlite.Open(context.Background(), path, sources...)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := sqlite.Schema(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var dropRE = regexp.MustCompile(`(?i)DROP TABLE (?:IF EXISTS )?"?(\w+)`)

// droppedTables lists the tables some migration drops.
func droppedTables(t *testing.T, sources ...fs.FS) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, src := range sources {
		names, _ := fs.Glob(src, "*.sql")
		for _, n := range names {
			b, err := fs.ReadFile(src, n)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range dropRE.FindAllSubmatch(b, -1) {
				out[string(m[1])] = true
			}
		}
	}
	return out
}

// repoint tells the upgraded mission where HQ now answers: the fixture's
// HQ ran on a port long closed.
func repoint(t *testing.T, dir, hqURL string) {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(dir, "agent.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.UpdateLink(context.Background(), func(l *store.Link) error { l.HQURL = hqURL; return nil }); err != nil {
		t.Fatal(err)
	}
}

func progressLine(page string) string {
	if i := strings.Index(page, `id="progress-l"`); i >= 0 {
		return page[i:min(len(page), i+200)]
	}
	return page
}
