package app

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"chancery/agent/uplink"
	"chancery/shared/clock"
	"chancery/shared/doctor"
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
	r := doctor.Report{W: stdout}
	r.Disk(c.Data, "old backups, logs", "the agent stops taking work")
	if _, err := os.Stat(c.dbPath()); err != nil {
		r.Problem("database", "there is no database at %s: is --data (CHANCERY_AGENT_DATA) the agent's data folder?", c.dbPath())
		return r.End()
	}
	db, _, err := openStore(ctx, c)
	if err != nil {
		r.Problem("database", "%s", doctor.Open(err))
		return r.End()
	}
	defer db.Close()
	if err := doctor.Integrity(ctx, db.SQL()); err != nil {
		r.Problem("database", "%v", err)
	} else {
		r.OK("database", "%s passes SQLite's integrity check", c.dbPath())
	}
	r.Backups(c.Backups, c.Data, "agent", "chancery-agent backup")

	link, err := newLink(c, db)
	if err != nil {
		r.Problem("link", "%v", err)
		return r.End()
	}
	l, err := db.Link(ctx)
	if err != nil {
		r.Problem("keys", "the mission's keys do not open (%v): the key file is missing or is another one; put back the key file that belongs with this database (keys.key, or --key-file)", err)
		return r.End()
	}
	if !l.Enrolled() {
		r.Problem("enrollment", "the mission is not enrolled with HQ: ask HQ for a code and run chancery-agent enroll")
		return r.End()
	}
	if id, err := link.Identity(ctx); err != nil {
		r.Problem("keys", "%v", err)
	} else if card, pinned, err := exchange.OpenCard(id.HQ, id.Card); err != nil {
		r.Problem("keys", "HQ's card for this mission's key does not open with HQ's key (%v): rotate the keys (chancery-agent keys rotate) so that HQ issues a new one", err)
	} else if !pinned.Equal(id.Key.Public()) || card.Mission != id.Mission {
		r.Problem("keys", "HQ pinned key %s for %s, but this agent signs as %s with key %s: the key file or the database was put back from another time; rotate the keys (chancery-agent keys rotate), or enroll again", exchange.Fingerprint(base64.StdEncoding.EncodeToString(pinned)), card.Mission, id.Mission, exchange.Fingerprint(base64.StdEncoding.EncodeToString(id.Key.Public().(ed25519.PublicKey))))
	} else {
		r.OK("keys", "the mission's keys open, and HQ's card is for the key in use")
	}
	if strings.Contains(l.LastError, "revoked") || strings.Contains(l.LastError, "unknown key") {
		r.Problem("keys", "HQ refused the mission's key at the last sync (%s): HQ has revoked it; ask HQ for a re-enrollment code and enroll again", l.LastError)
	}
	checkHQ(ctx, &r, link, l.HQURL)
	checkUpdates(ctx, &r, link)
	return r.End()
}

// checkHQ asks HQ whether it answers, over the agent's own TLS settings,
// and compares the clocks by HQ's Date header.
func checkHQ(ctx context.Context, r *doctor.Report, link *uplink.Link, hqURL string) {
	if hqURL == "" {
		r.OK("hq", "enrolled by file: no link to HQ to check")
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
			hint = "HQ's certificate is not trusted: give the CA that signed it with hq-ca (CHANCERY_AGENT_HQ_CA), or check that the address is HQ's"
		case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout"):
			hint = "no answer within 20 s: the link is down or very slow; changes wait here, and peers or a USB stick can carry them"
		default:
			hint = "check the address, the link and any firewall; changes wait here meanwhile"
		}
		r.Problem("hq", "%s does not answer (%v): %s", hqURL, err, hint)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.Problem("hq", "%s answers %s to /healthz: it may not be HQ, or HQ is not well; tell HQ's administrator", hqURL, resp.Status)
		return
	}
	r.OK("hq", "%s answers", hqURL)
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		// The Date header is in whole seconds, so the middle of its second
		// is the best guess; the figure shown is to the minute.
		skew := sent.Add(time.Since(start) / 2).Sub(d.Add(500 * time.Millisecond))
		if skew > uplink.MaxClockSkew || skew < -uplink.MaxClockSkew {
			way := "ahead of"
			if skew < 0 {
				way, skew = "behind", -skew
			}
			r.Problem("clock", "this computer's clock is %s %s HQ's: turn on network time, or set the clock; nothing is lost, but dates people read are wrong", skew.Round(time.Minute), way)
		} else {
			r.OK("clock", "within %s of HQ's", uplink.MaxClockSkew)
		}
	}
}

// checkUpdates says whether HQ's releases still arrive.
func checkUpdates(ctx context.Context, r *doctor.Report, link *uplink.Link) {
	st, err := link.DB.Update(ctx)
	switch {
	case err != nil:
		r.Problem("updates", "%v", err)
	case st.Error != "":
		r.Problem("updates", "HQ's release %d was refused %d time(s) (%s); the documents in force stay; tell HQ, which sees it on its rollout page", st.Failed, st.Failures, st.Error)
	case st.Version > 0 && clock.Now().After(st.Expires):
		r.Problem("updates", "HQ's release %d expired on %s: no fresh word from HQ since; sync, and if it persists tell HQ", st.Version, st.Expires.UTC().Format("2 January 2006"))
	case st.Version > 0:
		r.OK("updates", "release %d in force, good until %s", st.Version, st.Expires.UTC().Format("2 January 2006"))
	default:
		r.OK("updates", "the documents the agent ships with are in force; HQ has published none of its own")
	}
}
