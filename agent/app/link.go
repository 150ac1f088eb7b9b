package app

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/shared/account"
	"chancery/shared/cli"
	"chancery/shared/durable"
	"chancery/shared/problem"
	"chancery/sync/exchange"
	"chancery/web"
)

func newLink(c Config, db *store.DB) (*uplink.Link, error) {
	// HQ's certificate is checked against the CA file given, or the
	// system's; and whatever TLS says, every reply must carry the HQ keys
	// pinned at enrollment.
	tlsc, err := web.ClientTLS(c.HQCA)
	if err != nil {
		return nil, err
	}
	// A link that is cut is noticed in seconds, not minutes: connecting
	// and the TLS handshake get 10 s; each request a budget by its size at
	// the slowest line's rate (exchange.RequestBase, MinRate), which a
	// chunk sized to the line's rate stays well inside.
	// HQ answers with pouches, compressed inside their seal, and small
	// JSON: asking for gzip would only cost its header on every exchange.
	dial := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	h := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: tlsc,
		DialContext: dial.DialContext, ForceAttemptHTTP2: true, IdleConnTimeout: 90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second, DisableCompression: true}}
	return &uplink.Link{DB: db, Client: &exchange.Client{Attempts: c.SyncAttempts, HTTP: h}, Pause: 500 * time.Millisecond}, nil
}

func enroll(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var hq, code, mission, requestOut, response string
	c, err := parse("enroll", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&hq, "hq", "", "HQ's address, such as https://hq.example.org")
		fs.StringVar(&code, "code", "", "the one-time enrollment code HQ gave you")
		fs.StringVar(&mission, "mission", "", "this mission's code at HQ, such as FR-PAR")
		fs.StringVar(&requestOut, "request-out", "", "with no link to HQ: write the enrollment request to this folder instead")
		fs.StringVar(&response, "response", "", "with no link to HQ: read HQ's answer to the request from this file")
	})
	if err != nil {
		return err
	}
	if code == "" || (hq == "" && requestOut == "" && response == "") {
		return cli.Usage("cli.enroll_usage")
	}
	db, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := newLink(c, db)
	if err != nil {
		return err
	}
	switch {
	case requestOut != "":
		req, err := l.EnrollRequest(ctx, code, mission)
		if err != nil {
			return err
		}
		b, _ := json.MarshalIndent(req, "", "  ")
		name := filepath.Join(requestOut, "enroll-request-"+cmp.Or(mission, "mission")+".json")
		if err := durable.WriteFile(name, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
			return err
		}
		cli.Say(stdout, "cli.enroll_request", "Name", name, "Code", code)
		return nil
	case response != "":
		b, err := os.ReadFile(response)
		if err != nil {
			return err
		}
		var resp exchange.EnrollResponse
		if err := json.Unmarshal(b, &resp); err != nil {
			return problem.New(problem.Invalid, "cli.not_answer", "File", response, "Why", err)
		}
		if err := l.EnrollResponse(ctx, hq, code, resp); err != nil {
			return fmt.Errorf("enrollment failed: %w", err)
		}
		cli.Say(stdout, "cli.enrolled_file", "Mission", resp.Mission, "Name", resp.Name)
		fmt.Fprint(stdout, fingerprintLine(resp))
		return nil
	}
	resp, err := l.Enroll(ctx, hq, code, mission)
	if err != nil {
		return fmt.Errorf("enrollment failed: %w", err)
	}
	cli.Say(stdout, "cli.enrolled", "Mission", resp.Mission, "Name", resp.Name, "HQ", hq)
	fmt.Fprint(stdout, fingerprintLine(resp))
	return nil
}

func fingerprintLine(resp exchange.EnrollResponse) string {
	return "HQ's key fingerprint: " + exchange.Fingerprint(resp.HQSigningKey) + "\nCompare it with the one HQ showed beside the code (by telephone, say); if they differ, tell HQ at once.\n"
}

// keys rotates the mission's keys.
func keys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return fmt.Errorf("%w: chancery-agent keys rotate", errUsage)
	}
	c, err := parse("keys rotate", args[1:], stderr, nil)
	if err != nil {
		return err
	}
	db, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := newLink(c, db)
	if err != nil {
		return err
	}
	id, err := l.Rotate(ctx)
	if err != nil {
		return err
	}
	if err := db.Audit(ctx, account.System, "keys.rotate", id, ""); err != nil {
		return err
	}
	if st, _ := l.Status(ctx); st.HQURL == "" {
		cli.Say(stdout, "cli.rotate_file", "ID", id)
		return nil
	}
	if err := l.Sync(ctx); err != nil {
		cli.Say(stdout, "cli.rotate_later", "ID", id, "Why", err)
		return nil
	}
	cli.Say(stdout, "cli.rotated", "ID", id)
	return nil
}

func syncOnce(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse("sync", args, stderr, nil)
	if err != nil {
		return err
	}
	db, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := newLink(c, db)
	if err != nil {
		return err
	}
	if err := l.Sync(ctx); err != nil {
		return problem.New(problem.Unavailable, "cli.sync_failed", "Why", err)
	}
	st, err := l.Status(ctx)
	if err != nil {
		return err
	}
	cli.Say(stdout, "cli.synced", "HQ", st.HQURL, "Acked", fmt.Sprint(st.Acked), "Pending", fmt.Sprint(st.Pending), "Pouches", fmt.Sprint(l.Sent.Pouches), "Bytes", fmt.Sprint(l.Sent.Bytes))
	return updateLine(ctx, db, stdout)
}

// updateLine says where the mission stands with HQ's updates.
func updateLine(ctx context.Context, db *store.DB, stdout io.Writer) error {
	up, err := db.Update(ctx)
	if err != nil {
		return err
	}
	f, err := db.Framework(ctx)
	if err != nil {
		return err
	}
	if up.Error != "" {
		cli.Say(stdout, "cli.update_refused", "Version", fmt.Sprint(up.Failed), "Why", up.Error, "At", cli.P().Date(up.RetryAt)+" UTC")
	}
	cli.Say(stdout, "cli.in_force", "Release", fmt.Sprint(up.Version), "Version", fmt.Sprint(f.Version))
	return nil
}

// pouchCmd moves pouches by file, for a mission with no link to HQ.
func pouchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		return fmt.Errorf("%w: chancery-agent pouch export --out DIR | pouch import FILE", errUsage)
	}
	var out string
	sub := args[0]
	c, files, err := parseArgs("pouch "+sub, args[1:], stderr, func(fs *flag.FlagSet) {
		if sub == "export" {
			fs.StringVar(&out, "out", "", "folder to write the pouch to, such as a USB stick")
		}
	})
	if err != nil {
		return err
	}
	if sub == "export" && len(files) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, files[0])
	}
	db, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	l, err := newLink(c, db)
	if err != nil {
		return err
	}
	if sub == "export" {
		if out == "" {
			return cli.Usage("cli.export_usage")
		}
		raw, m, err := l.Seal(ctx)
		if err != nil {
			return err
		}
		name := filepath.Join(out, fmt.Sprintf("%s-%d-%d-%s.pouch", m.From, m.First, m.Last, m.ID[:8]))
		if err := durable.WriteFile(name, func(w io.Writer) error { _, err := w.Write(raw); return err }); err != nil {
			return err
		}
		cli.Say(stdout, "cli.pouch_written", "Name", name, "First", fmt.Sprint(m.First), "Last", fmt.Sprint(m.Last), "Bytes", fmt.Sprint(len(raw)))
		return nil
	}
	if len(files) == 0 {
		return cli.Usage("cli.import_reply_usage")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		r, err := l.TakeReply(ctx, raw)
		if err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		cli.Say(stdout, "cli.reply_imported", "File", f, "Through", fmt.Sprint(r.Through))
	}
	return updateLine(ctx, db, stdout)
}
