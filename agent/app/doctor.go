package app

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"chancery/agent/uplink"
	"chancery/shared/cli"
	"chancery/shared/clock"
	"chancery/shared/doctor"
	"chancery/shared/i18n"
	"chancery/sync/exchange"
)

// doctorCmd looks over the mission's agent and says what is wrong, each
// problem with what to do. It changes nothing; it may run beside the
// agent.
func doctorCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse("doctor", args, stderr, nil)
	if err != nil {
		return err
	}
	r := doctor.Report{W: stdout, P: cli.P()}
	r.Disk(c.Data, "doctor.clutter_agent", "doctor.stops_agent")
	if _, err := os.Stat(c.dbPath()); err != nil {
		r.Problem("database", "doctor.no_db", "Path", c.dbPath(), "Env", envPrefix+"DATA")
		return r.End()
	}
	db, _, err := openStore(ctx, c)
	if err != nil {
		r.Problem("database", "doctor.error", "Why", doctor.Open(err))
		return r.End()
	}
	defer db.Close()
	if err := doctor.Integrity(ctx, db.SQL()); err != nil {
		r.Problem("database", "doctor.error", "Why", err)
	} else {
		r.OK("database", "doctor.db_ok", "Path", c.dbPath())
	}
	r.Backups(c.Backups, c.Data, "agent", "chancery-agent backup")

	link, err := newLink(c, db)
	if err != nil {
		r.Problem("link", "doctor.error", "Why", err)
		return r.End()
	}
	l, err := db.Link(ctx)
	if err != nil {
		r.Problem("keys", "doctor.keys_closed", "Why", err)
		return r.End()
	}
	if !l.Enrolled() {
		r.Problem("enrollment", "doctor.not_enrolled")
		return r.End()
	}
	if id, err := link.Identity(ctx); err != nil {
		r.Problem("keys", "doctor.error", "Why", err)
	} else if card, pinned, err := exchange.OpenCard(id.HQ, id.Card); err != nil {
		r.Problem("keys", "doctor.bad_card", "Why", err)
	} else if !pinned.Equal(id.Key.Public()) || card.Mission != id.Mission {
		r.Problem("keys", "doctor.key_mismatch", "Pinned", exchange.Fingerprint(base64.StdEncoding.EncodeToString(pinned)), "For", card.Mission, "As", id.Mission, "Key", exchange.Fingerprint(base64.StdEncoding.EncodeToString(id.Key.Public().(ed25519.PublicKey))))
	} else {
		r.OK("keys", "doctor.keys_ok")
	}
	if strings.Contains(l.LastError, "revoked") || strings.Contains(l.LastError, "unknown key") {
		r.Problem("keys", "doctor.key_refused", "Why", l.LastError)
	}
	checkHQ(ctx, &r, link, l.HQURL)
	checkUpdates(ctx, &r, link)
	return r.End()
}

// checkHQ asks HQ whether it answers, over the agent's own TLS settings,
// and compares the clocks by HQ's Date header.
func checkHQ(ctx context.Context, r *doctor.Report, link *uplink.Link, hqURL string) {
	if hqURL == "" {
		r.OK("hq", "doctor.by_file")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(hqURL, "/")+"/healthz", nil)
	sent, start := clock.Now(), time.Now() // the skewed clock, and the real one to time the round trip
	resp, err := link.Client.HTTP.Do(req)
	if err != nil {
		var hint string
		switch {
		case strings.Contains(err.Error(), "certificate"):
			hint = "doctor.hint_cert"
		case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout"):
			hint = "doctor.hint_timeout"
		default:
			hint = "doctor.hint_other"
		}
		r.Problem("hq", "doctor.hq_silent", "HQ", hqURL, "Why", err, "Hint", i18n.Key(hint))
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.Problem("hq", "doctor.hq_unwell", "HQ", hqURL, "Status", resp.Status)
		return
	}
	r.OK("hq", "doctor.hq_ok", "HQ", hqURL)
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		// The Date header is in whole seconds, so the middle of its second
		// is the best guess; the figure shown is to the minute.
		skew := sent.Add(time.Since(start) / 2).Sub(d.Add(500 * time.Millisecond))
		if skew > uplink.MaxClockSkew || skew < -uplink.MaxClockSkew {
			way := "doctor.ahead"
			if skew < 0 {
				way, skew = "doctor.behind", -skew
			}
			r.Problem("clock", way, "Skew", skew.Round(time.Minute).String())
		} else {
			r.OK("clock", "doctor.clock_ok", "Max", uplink.MaxClockSkew.String())
		}
	}
}

// checkUpdates says whether HQ's releases still arrive.
func checkUpdates(ctx context.Context, r *doctor.Report, link *uplink.Link) {
	st, err := link.DB.Update(ctx)
	switch {
	case err != nil:
		r.Problem("updates", "doctor.error", "Why", err)
	case st.Error != "":
		r.Problem("updates", "doctor.release_refused", "Version", fmt.Sprint(st.Failed), "Count", st.Failures, "Why", st.Error)
	case st.Version > 0 && clock.Now().After(st.Expires):
		r.Problem("updates", "doctor.release_expired", "Version", fmt.Sprint(st.Version), "Day", cli.P().Day(st.Expires))
	case st.Version > 0:
		r.OK("updates", "doctor.release_ok", "Version", fmt.Sprint(st.Version), "Day", cli.P().Day(st.Expires))
	default:
		r.OK("updates", "doctor.builtin_docs")
	}
}
