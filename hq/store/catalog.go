package store

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"chancery/shared/framework"
)

// Catalog is everything HQ has published, read from the database as one
// value: every publication, newest first, and every framework version HQ
// knows (the built-in one and those published).
//
// It is the one source of truth for what is in force. A publication made
// by another process — the command line beside a serving HQ — is seen by
// the very next request, because [DB.Catalog] reads the catalog again
// whenever the newest publication's number has moved. Publications are
// never changed once written, so that number is a complete test.
type Catalog struct {
	seq          int64
	Publications []Publication
	frameworks   map[int]*framework.Framework
	newest       *framework.Framework
	regionScoped bool
}

// Catalog returns what HQ has published. It costs one small query when
// nothing was published since the last call.
func (d *DB) Catalog(ctx context.Context) (*Catalog, error) {
	var seq int64
	if err := d.sql.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM publications").Scan(&seq); err != nil {
		return nil, err
	}
	if c := d.cat.Load(); c != nil && c.seq == seq {
		return c, nil
	}
	d.catMu.Lock()
	defer d.catMu.Unlock()
	if c := d.cat.Load(); c != nil && c.seq >= seq {
		return c, nil
	}
	c, err := d.loadCatalog(ctx)
	if err != nil {
		return nil, err
	}
	d.cat.Store(c)
	return c, nil
}

func (d *DB) loadCatalog(ctx context.Context) (*Catalog, error) {
	pubs, err := d.Publications(ctx, "")
	if err != nil {
		return nil, err
	}
	builtin := framework.Builtin()
	c := &Catalog{Publications: pubs, frameworks: map[int]*framework.Framework{builtin.Version: builtin}, newest: builtin}
	for _, p := range pubs {
		c.seq = max(c.seq, p.Seq)
		c.regionScoped = c.regionScoped || strings.HasPrefix(p.Scope, "region:")
		f := p.Framework
		if f == nil {
			continue // a protocol
		}
		c.frameworks[f.Version] = f
		if f.Version > c.newest.Version {
			c.newest = f
		}
	}
	return c, nil
}

// Framework returns the newest framework version: the one HQ publishes
// from and that new missions will receive.
func (c *Catalog) Framework() *framework.Framework { return c.newest }

// Frameworks returns every framework version HQ knows, in no order.
func (c *Catalog) Frameworks() []*framework.Framework {
	out := make([]*framework.Framework, 0, len(c.frameworks))
	for _, f := range c.frameworks {
		out = append(out, f)
	}
	return out
}

// Of returns the framework a mission is assessed against: the version it
// reported having applied, or, before it reported any, the built-in one
// every agent starts with. A version HQ does not know (an agent newer than
// HQ) falls back to the newest HQ knows below it.
func (c *Catalog) Of(m Mission) *framework.Framework {
	builtin := framework.Builtin()
	v := m.Framework
	if v == 0 {
		return builtin
	}
	if f, ok := c.frameworks[v]; ok {
		return f
	}
	best := builtin
	for have, f := range c.frameworks {
		if have < v && have > best.Version {
			best = f
		}
	}
	return best
}

// RegionScoped reports whether any publication is for a region; only
// then does a mission's region decide what is in force for it.
func (c *Catalog) RegionScoped() bool { return c.regionScoped }

// Current returns, for a mission, the newest publication in scope of each
// document: what the mission's release lists.
func (c *Catalog) Current(m Mission) []Publication {
	seen := map[string]bool{}
	var out []Publication
	for _, p := range c.Publications { // newest first
		key := p.Kind + "/" + p.Doc.ID
		if seen[key] || !InScope(p.Scope, m) {
			continue
		}
		seen[key] = true
		out = append(out, p)
	}
	return out
}

// canonicalFrameworks rewrites framework publications stored before HQ
// published only canonical bytes (see [framework.Framework.Encode]). Their
// bodies could not be checked at any mission whose copy was re-encoded on
// the way, so no mission holds them by hash; the version numbers stay.
func (d *DB) canonicalFrameworks(ctx context.Context) error {
	rows, err := d.sql.QueryContext(ctx, "SELECT seq, body FROM publications WHERE kind = ?", KindFramework)
	if err != nil {
		return err
	}
	fix := map[int64][]byte{}
	for rows.Next() {
		var seq int64
		var body []byte
		if err := rows.Scan(&seq, &body); err != nil {
			rows.Close()
			return err
		}
		f, err := framework.Parse(body)
		if err != nil {
			rows.Close()
			return fmt.Errorf("the published framework (publication %d) in the database is damaged: %w", seq, err)
		}
		if canon := f.Encode(); !bytes.Equal(canon, body) {
			fix[seq] = canon
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for seq, body := range fix {
		if _, err := d.sql.ExecContext(ctx, "UPDATE publications SET body = ? WHERE seq = ?", string(body), seq); err != nil {
			return err
		}
	}
	return nil
}
