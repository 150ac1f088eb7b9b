package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"chancery/shared/cli"
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
	r := doctor.Report{W: stdout, P: cli.P()}
	r.Disk(c.Data, "doctor.clutter_hq", "doctor.stops_hq")
	if c.TLSCert != "" {
		kp, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		switch {
		case err != nil:
			r.Problem("tls", "doctor.cert_bad", "Cert", c.TLSCert, "Why", err)
		case time.Until(kp.Leaf.NotAfter) < 30*24*time.Hour:
			r.Problem("tls", "doctor.cert_expiring", "Cert", c.TLSCert, "Day", cli.P().Day(kp.Leaf.NotAfter))
		default:
			r.OK("tls", "doctor.cert_ok", "Day", cli.P().Day(kp.Leaf.NotAfter))
		}
	}
	path := filepath.Join(c.Data, "hq.db")
	if _, err := os.Stat(path); err != nil {
		r.Problem("database", "doctor.no_db", "Path", path, "Env", "CHANCERY_HQ_DATA")
		return r.End()
	}
	w, err := open(ctx, c)
	if err != nil {
		r.Problem("database", "doctor.error", "Why", doctor.Open(err))
		return r.End()
	}
	defer w.db.Close()
	if err := doctor.Integrity(ctx, w.db.SQL()); err != nil {
		r.Problem("database", "doctor.error", "Why", err)
	} else {
		r.OK("database", "doctor.db_ok", "Path", path)
	}
	root, err := w.db.Root(ctx)
	switch {
	case err != nil:
		r.Problem("keys", "doctor.error", "Why", err)
	case root.Zero():
		r.Problem("keys", "doctor.no_root")
	case !root.Certifies(w.db.HQSigningPublic()):
		r.Problem("keys", "doctor.uncertified", "Version", fmt.Sprint(root.Statement.Version))
	default:
		r.OK("keys", "doctor.certified", "Key", exchange.Fingerprint(w.db.HQSigningPublic()), "Version", fmt.Sprint(root.Statement.Version))
	}
	if escrow, err := w.db.Escrow(ctx); err != nil {
		r.Problem("escrow", "doctor.error", "Why", err)
	} else if len(escrow) == 0 {
		r.Problem("escrow", "doctor.no_escrow")
	} else {
		r.OK("escrow", "doctor.escrow_ok", "Count", len(escrow))
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
		r.Problem("releases", "doctor.error", "Why", err)
		return
	}
	codes := slices.Sorted(maps.Keys(all))
	var refused, stuck int
	for _, m := range codes {
		st := all[m]
		switch {
		case st.FailedVersion > st.AppliedVersion && st.FailedVersion >= st.SentVersion:
			refused++
			r.Problem("releases", "doctor.mission_refused", "Mission", m, "Version", fmt.Sprint(st.FailedVersion), "Why", st.FailedReason)
		case st.SentVersion > st.AppliedVersion && st.SentAt != nil && time.Since(*st.SentAt) > 7*24*time.Hour:
			stuck++
			r.Problem("releases", "doctor.mission_stuck", "Mission", m, "Version", fmt.Sprint(st.SentVersion), "Day", cli.P().Day(*st.SentAt))
		}
	}
	if refused+stuck == 0 {
		r.OK("releases", "doctor.releases_ok", "N", fmt.Sprint(len(all)))
	}
}
