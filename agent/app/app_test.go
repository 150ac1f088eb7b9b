package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"

	"chancery/agent/app"
	"chancery/shared/sqlite"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errb bytes.Buffer
	code := app.Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadConfigIsExplained(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"misspelt setting", map[string]string{"CHANCERY_AGENT_ADRR": "x"}, []string{"serve"}, "unknown setting CHANCERY_AGENT_ADRR in the environment; the known ones are CHANCERY_AGENT_ADDR"},
		{"address without port", nil, []string{"serve", "--data", dir, "--addr", "127.0.0.1"}, `address “127.0.0.1” is not host:port`},
		{"host name", nil, []string{"serve", "--data", dir, "--addr", "embassy.example:80"}, "must be an IP address or localhost"},
		{"bad duration", map[string]string{"CHANCERY_AGENT_SESSION_IDLE": "ten"}, []string{"serve"}, `CHANCERY_AGENT_SESSION_IDLE=“ten” is not a duration`},
		{"unknown flag", nil, []string{"serve", "--colour", "red"}, "flag provided but not defined: -colour"},
		{"unknown command", nil, []string{"launch"}, `unknown command “launch”`},
		{"relay on the LAN, web on loopback", nil, []string{"serve", "--data", dir, "--relay-bind", "0.0.0.0:7946", "--relay-key", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="}, "listen on the LAN too (--addr 0.0.0.0:8080)"},
		{"relay network not CIDR", nil, []string{"serve", "--data", dir, "--relay-bind", "127.0.0.1:0", "--relay-key", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", "--relay-networks", "10.0.0.0"}, `"10.0.0.0" is not a network in CIDR form`},
		{"relay quota", map[string]string{"CHANCERY_AGENT_RELAY_QUOTA_MB": "0"}, []string{"serve"}, "CHANCERY_AGENT_RELAY_QUOTA_MB=“0” is not a whole number of at least 1"},
		{"weak first password", nil, []string{"serve", "--data", dir, "--admin-password", "short"}, "12 to 256 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.env, tt.args...)
			if code == 0 || !strings.Contains(stderr, tt.want) {
				t.Fatalf("exit %d, stderr %q; want an error containing %q", code, stderr, tt.want)
			}
		})
	}
	// The refused first start left no account behind.
	code, out, _ := run(t, nil, "user", "passwd", "--data", dir, "--username", "admin")
	if code == 0 {
		t.Fatalf("an admin exists after a refused start: %s", out)
	}
}

func TestUserCommands(t *testing.T) {
	dir := t.TempDir()
	code, out, stderr := run(t, nil, "user", "add", "--data", dir, "--username", "lena", "--name", "Lena K", "--role", "head")
	if code != 0 || !strings.Contains(out, "password: ") {
		t.Fatalf("user add: %d %s %s", code, out, stderr)
	}
	code, _, stderr = run(t, nil, "user", "add", "--data", dir, "--username", "lena")
	if code == 0 || !strings.Contains(stderr, `“lena” is taken`) {
		t.Fatalf("duplicate user: %d %s", code, stderr)
	}
	code, _, stderr = run(t, nil, "user", "add", "--data", dir, "--username", "x y", "--role", "head")
	if code == 0 || !strings.Contains(stderr, "A username is 2 to 32 characters") {
		t.Fatalf("bad username: %d %s", code, stderr)
	}
}

func TestBackupIsEncrypted(t *testing.T) {
	dir := t.TempDir()
	if code, _, stderr := run(t, nil, "user", "add", "--data", dir, "--username", "canary.user", "--role", "staff"); code != 0 {
		t.Fatal(stderr)
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "agent.backup.age")
	code, _, stderr := run(t, nil, "backup", "--data", dir, "--out", out, "--recipient", "age1notakey")
	if code == 0 || !strings.Contains(stderr, "is not an age public key") {
		t.Fatalf("bad recipient: %d %s", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a refused backup left a file")
	}
	if code, _, stderr := run(t, nil, "backup", "--data", dir, "--out", out, "--recipient", id.Recipient().String()); code != 0 {
		t.Fatal(stderr)
	}
	raw, _ := os.ReadFile(out)
	if bytes.Contains(raw, []byte("canary.user")) || !bytes.HasPrefix(raw, []byte("age-encryption.org/v1")) {
		t.Fatal("the backup is not an age file, or shows its content")
	}
	// No plain copy is left in the data folder; one a killed backup left
	// is removed when the agent starts.
	if left, _ := filepath.Glob(filepath.Join(dir, ".backup-*")); len(left) != 0 {
		t.Fatalf("the backup left %v", left)
	}
	os.MkdirAll(filepath.Join(dir, ".backup-killed"), 0o700)
	os.WriteFile(filepath.Join(dir, ".backup-killed", "agent.db"), []byte("plain copy"), 0o600)
	if err := app.RemoveBackupLeftovers(dir); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".backup-*")); len(left) != 0 {
		t.Fatalf("a killed backup's plain copy survived: %v", left)
	}
	if code, _, stderr := run(t, nil, "backup", "--data", dir, "--out", out, "--recipient", id.Recipient().String()); code == 0 || !strings.Contains(stderr, "already exists") {
		t.Fatalf("overwrite: %d %s", code, stderr)
	}
	// The backup opens with the identity and is a working database.
	r, err := age.Decrypt(bytes.NewReader(raw), id)
	if err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "restored.db")
	var buf bytes.Buffer
	buf.ReadFrom(r)
	os.WriteFile(restored, buf.Bytes(), 0o600)
	db, err := sql.Open("sqlite", sqlite.DSN(restored))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM users WHERE username = 'canary.user'").Scan(&n); err != nil || n != 1 {
		t.Fatalf("restored users: %d %v", n, err)
	}
}
