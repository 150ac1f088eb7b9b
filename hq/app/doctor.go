package app

import (
	"context"
	"crypto/tls"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"chancery/shared/doctor"
	"chancery/sync/exchange"
)

// doctorCmd looks HQ over and says what is wrong, each problem with what
// to do. It changes nothing; it may run beside HQ.
func doctorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, rest, err := parse("doctor", args, stderr, nil)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return errUsage
	}
	r := doctor.Report{W: stdout}
	r.Disk(c.Data, "old backups, finished uploads", "HQ stops taking pouches")
	if c.TLSCert != "" {
		kp, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		switch {
		case err != nil:
			r.Problem("tls", "the certificate %s does not load with its key (%v): give a PEM certificate and its PEM private key", c.TLSCert, err)
		case time.Until(kp.Leaf.NotAfter) < 30*24*time.Hour:
			r.Problem("tls", "the certificate %s expires on %s: renew it, then systemctl reload chancery-hq", c.TLSCert, kp.Leaf.NotAfter.UTC().Format("2 January 2006"))
		default:
			r.OK("tls", "the certificate is good until %s", kp.Leaf.NotAfter.UTC().Format("2 January 2006"))
		}
	}
	path := filepath.Join(c.Data, "hq.db")
	if _, err := os.Stat(path); err != nil {
		r.Problem("database", "there is no database at %s: is --data (CHANCERY_HQ_DATA) HQ's data folder?", path)
		return r.End()
	}
	w, err := open(ctx, c)
	if err != nil {
		r.Problem("database", "%s", doctor.Open(err))
		return r.End()
	}
	defer w.db.Close()
	if err := doctor.Integrity(ctx, w.db.SQL()); err != nil {
		r.Problem("database", "%v", err)
	} else {
		r.OK("database", "%s passes SQLite's integrity check", path)
	}
	root, err := w.db.Root(ctx)
	switch {
	case err != nil:
		r.Problem("keys", "%v", err)
	case root.Zero():
		r.Problem("keys", "HQ has no root of trust: its keys cannot be rotated if the server is compromised; set one up (docs/keys.md, \"HQ's root of trust\")")
	case !root.Certifies(w.db.HQSigningPublic()):
		r.Problem("keys", "HQ signs with a key its root (version %d) does not certify: missions refuse its replies; install the root statement for its keys (chancery-hq root install)", root.Statement.Version)
	default:
		r.OK("keys", "HQ's key %s is certified by root version %d", exchange.Fingerprint(w.db.HQSigningPublic()), root.Statement.Version)
	}
	if escrow, err := w.db.Escrow(ctx); err != nil {
		r.Problem("escrow", "%v", err)
	} else if len(escrow) == 0 {
		r.Problem("escrow", "no escrow key: if HQ's keys are lost, no one can read the missions' pouches or HQ's backups; make one off line and give HQ its public half (escrow-recipient)")
	} else {
		r.OK("escrow", "%d escrow key(s) kept with HQ", len(escrow))
	}
	checkReleases(ctx, &r, w)
	r.Backups(c.Backups, c.Data, "hq", "chancery-hq backup")
	return r.End()
}

// checkReleases names the missions that refused a release, and those
// that have not taken one sent them a week ago.
func checkReleases(ctx context.Context, r *doctor.Report, w *wired) {
	all, err := w.db.MissionUpdates(ctx)
	if err != nil {
		r.Problem("releases", "%v", err)
		return
	}
	codes := slices.Sorted(maps.Keys(all))
	var refused, stuck int
	for _, m := range codes {
		st := all[m]
		switch {
		case st.FailedVersion > st.AppliedVersion && st.FailedVersion >= st.SentVersion:
			refused++
			r.Problem("releases", "%s refused release %d (%s): its documents in force stay as they were; the mission's page and the rollout ledger say more; fix the cause (often the mission's clock) or publish again", m, st.FailedVersion, st.FailedReason)
		case st.SentVersion > st.AppliedVersion && st.SentAt != nil && time.Since(*st.SentAt) > 7*24*time.Hour:
			stuck++
			r.Problem("releases", "%s has not taken release %d, sent %s: it has not synced since, or cannot; see its page for when it was last heard from", m, st.SentVersion, st.SentAt.UTC().Format("2 January 2006"))
		}
	}
	if refused+stuck == 0 {
		r.OK("releases", "no mission refused a release or is stuck on one (%d followed)", len(all))
	}
}
