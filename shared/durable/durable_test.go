package durable_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"chancery/shared/durable"
)

func TestWholeOrAbsent(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "x.pouch")
	if err := durable.WriteFile(name, func(w io.Writer) error { _, err := io.WriteString(w, "first"); return err }); err != nil {
		t.Fatal(err)
	}
	// A write that fails half way leaves the old file as it was.
	err := durable.WriteFile(name, func(w io.Writer) error {
		io.WriteString(w, "half")
		return errors.New("disk gone")
	})
	if err == nil {
		t.Fatal("failed write reported success")
	}
	if b, _ := os.ReadFile(name); string(b) != "first" {
		t.Fatalf("file after a failed write: %q", b)
	}
	if err := durable.Create(name, func(w io.Writer) error { return nil }); !errors.Is(err, durable.ErrExists) {
		t.Fatalf("Create over an existing file: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, ".chancery-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}
