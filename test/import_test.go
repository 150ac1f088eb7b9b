package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file far larger than any pouch is refused by its size, before HQ
// reads it: an import is no way to fill HQ's memory.
func TestImportRefusesAnOversizedFileUnread(t *testing.T) {
	hqDir := t.TempDir()
	big := filepath.Join(t.TempDir(), "huge.pouch")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: 4 GiB on paper, nothing on disk.
	if err := f.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, err := runErr("chancery-hq", "pouch", "import", "--data", hqDir, big)
	if err == nil || !strings.Contains(out, "REFUSED") || !strings.Contains(out, "larger") && !strings.Contains(out, "at most") {
		t.Fatalf("import of a 4 GiB file: %v\n%s", err, out)
	}
}
