package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"chancery/shared/cli"
	"chancery/shared/durable"
	"chancery/shared/problem"
	"chancery/sync/pouch"
)

// importPouches takes in pouches carried by hand, with a progress line,
// and writes each reply beside them (or into --replies) for the courier
// to carry back. A refused pouch is reported and the others still go in.
func importPouches(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		return fmt.Errorf("%w: chancery-hq pouch import [--replies DIR] FILE...", errUsage)
	}
	var replies string
	c, files, err := parse("pouch import", args[1:], stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&replies, "replies", "", "folder for HQ's replies (default: beside each pouch)")
	})
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return cli.Usage("cli.name_pouches")
	}
	w, err := open(ctx, c)
	if err != nil {
		return err
	}
	defer w.db.Close()
	failed := 0
	for i, f := range files {
		fmt.Fprintf(stdout, "[%d/%d] %s %s ", i+1, len(files), bar(i, len(files)), filepath.Base(f))
		raw, err := readPouch(f, w.ingest.Limits.MaxPouch)
		if err == nil {
			var reply []byte
			if reply, err = w.ingest.Take(ctx, raw, "import "+filepath.Base(f)); err == nil {
				dir := replies
				if dir == "" {
					dir = filepath.Dir(f)
				}
				out := filepath.Join(dir, "reply-"+filepath.Base(f))
				if err = durable.WriteFile(out, func(w io.Writer) error { _, err := w.Write(reply); return err }); err == nil {
					cli.Say(stdout, "cli.taken_in", "Reply", out)
					continue
				}
			}
		}
		failed++
		cli.Say(stdout, "cli.refused", "Why", err)
	}
	cli.Say(stdout, "cli.import_done", "Bar", bar(len(files), len(files)), "Taken", fmt.Sprint(len(files)-failed), "Refused", fmt.Sprint(failed))
	if failed > 0 {
		return problem.New(problem.Invalid, "cli.pouches_refused", "Failed", fmt.Sprint(failed), "Count", len(files))
	}
	return nil
}

// bar draws progress as [#####.....].
func bar(done, total int) string {
	const width = 20
	n := done * width / total
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

// readPouch reads a pouch file of at most max bytes; a larger one is
// refused before it is read, and one that grows while read stops at max.
func readPouch(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if !st.Mode().IsRegular() || st.Size() > max {
		return nil, fmt.Errorf("%w: %s is %d bytes, not a pouch file of at most %d", pouch.ErrTooLarge, name, st.Size(), max)
	}
	raw, err := io.ReadAll(io.LimitReader(f, max+1))
	if err == nil && int64(len(raw)) > max {
		err = fmt.Errorf("%w: over %d bytes", pouch.ErrTooLarge, max)
	}
	return raw, err
}
