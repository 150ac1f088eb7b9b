package app

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/sync/relay"
)

// startRelay joins the peer missions on a shared network, when the agent
// is configured to; nil otherwise.
func startRelay(ctx context.Context, c Config, db *store.DB, link *uplink.Link) (*relay.Node, error) {
	if c.RelayBind == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(c.RelayKey)
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("the relay key must be base64 of 32 random bytes (for example: head -c 32 /dev/urandom | base64), the same at every peer mission")
	}
	var seeds []string
	for _, s := range strings.Split(c.RelaySeeds, ",") {
		if s = strings.TrimSpace(s); s != "" {
			seeds = append(seeds, s)
		}
	}
	code, _ := db.Meta(ctx, store.MetaCode, "")
	n, err := relay.Start(relay.Config{Name: cmp.Or(code, "unenrolled-"+c.Addr), Bind: c.RelayBind, Seeds: seeds, Key: key}, relayMeta(ctx, db, link, c))
	if err != nil {
		return nil, err
	}
	return n, nil
}

// relayMeta is what this agent tells its peers.
func relayMeta(ctx context.Context, db *store.DB, link *uplink.Link, c Config) relay.Meta {
	st, _ := link.Status(ctx)
	up, _ := db.Update(ctx)
	m := relay.Meta{Mission: st.Mission, Release: up.Version, API: c.Addr}
	if st.LastOK != nil {
		m.LastHQ = *st.LastOK
		m.HQLink = time.Since(*st.LastOK) < time.Hour && st.LastError == ""
	}
	return m
}

func updateRelay(ctx context.Context, n *relay.Node, db *store.DB, link *uplink.Link, c Config) {
	n.Update(relayMeta(ctx, db, link, c))
}
