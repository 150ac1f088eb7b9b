package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"chancery/agent/store"
	"chancery/shared/changelog"
	"chancery/shared/protocol"
	"chancery/sync/exchange"
)

// takeRelease checks and applies the release in HQ's reply, if there is
// one (see exchange.Release for the guarantees). A refused release leaves
// every document as it was, shows the reason at the mission, and tells HQ.
func (l *Link) takeRelease(ctx context.Context, p peer, reply exchange.Reply) error {
	rl := reply.Release
	if rl == nil {
		return nil
	}
	rel, err := exchange.OpenRelease(p.hq.key, *rl)
	if err != nil {
		return l.refuse(ctx, 0, err)
	}
	if rel.Mission != p.mission {
		// Meant for another mission: not ours to apply, nor to complain of.
		return nil
	}
	now := l.DB.Now()
	state, err := l.DB.Update(ctx)
	if err != nil {
		return err
	}
	if rel.Version == state.Failed && now.Before(state.RetryAt) && state.RetryAt.Sub(now) <= MaxRetryWait {
		// Refused already, and reported: HQ sends it with every reply
		// until it publishes again, but it is tried again only after
		// the backoff, not on every exchange.
		return nil
	}
	switch {
	case rel.Version < state.Version:
		return l.refuse(ctx, rel.Version, fmt.Errorf("%w: release %d arrived, %d is in force", exchange.ErrReleaseRollback, rel.Version, state.Version))
	case now.After(rel.Expires):
		return l.refuse(ctx, rel.Version, fmt.Errorf("%w: release %d expired on %s", exchange.ErrReleaseExpired, rel.Version, rel.Expires.UTC().Format("2 January 2006 15:04 UTC")))
	}
	fw, err := l.DB.Framework(ctx)
	if err != nil {
		return err
	}
	fwAfter := fw.Version
	var docs []protocol.Document
	var frameworks [][]byte
	keep := map[string][]byte{}
	// A document missing from a reply whose pouch asked HQ to leave them
	// out, and that no peer holds, is not a fault: the release waits (see
	// SealForPeers for when the next pouch asks again).
	missing := func(why error) error {
		k, err := l.DB.Link(ctx)
		if err != nil {
			return err
		}
		if k.PeerDocuments >= 0 {
			return l.DB.UpdateLink(ctx, func(s *store.Link) error {
				s.Deferred, s.DeferredHad = rel.Version, s.PeerDocuments
				return nil
			})
		}
		return l.refuse(ctx, rel.Version, why)
	}
	for _, t := range rel.Targets {
		if t.Kind == exchange.KindFramework {
			held, err := l.DB.HasFramework(ctx, t.Version)
			if err != nil {
				return err
			}
			if held {
				continue
			}
			body := l.document(ctx, t, reply)
			if body == nil {
				return missing(fmt.Errorf("%w: the framework version %d is missing or altered", exchange.ErrReleaseMismatch, t.Version))
			}
			keep[t.SHA256] = body
			frameworks = append(frameworks, body)
			fwAfter = max(fwAfter, t.Version)
			continue
		}
		if t.Kind != exchange.KindProtocol {
			return l.refuse(ctx, rel.Version, fmt.Errorf("%w: unknown kind of document %q", exchange.ErrReleaseMismatch, t.Kind))
		}
		held, err := l.DB.HasProtocol(ctx, t.ID, t.Version)
		if err != nil {
			return err
		}
		if held {
			continue
		}
		body := l.document(ctx, t, reply)
		if body == nil {
			return missing(fmt.Errorf("%w: %s %s version %d is missing or altered", exchange.ErrReleaseMismatch, t.Kind, t.ID, t.Version))
		}
		keep[t.SHA256] = body
		var doc protocol.Document
		if err := json.Unmarshal(body, &doc); err != nil || doc.ID != t.ID || doc.Version != t.Version {
			return l.refuse(ctx, rel.Version, fmt.Errorf("%w: %s %s is not the document listed", exchange.ErrReleaseMismatch, t.Kind, t.ID))
		}
		docs = append(docs, doc)
	}
	var report any
	if rel.Version > state.Version {
		report = changelog.UpdateReport{Release: rel.Version, Status: changelog.UpdateApplied, At: now.UTC(), Framework: fwAfter}
	}
	if err := l.DB.ApplyUpdate(ctx, rel.Version, rel.Expires, docs, frameworks, report); err != nil {
		return l.refuse(ctx, rel.Version, err)
	}
	// Kept for the peers, byte for byte as HQ signed them.
	if err := l.DB.KeepDocuments(ctx, keep); err != nil {
		return err
	}
	return l.DB.UpdateLink(ctx, func(s *store.Link) error {
		s.Deferred, s.DeferredHad = 0, 0
		return nil
	})
}

// document is the body of a release's target: from HQ's reply, or else
// from a peer; nil if neither has one that matches the release.
func (l *Link) document(ctx context.Context, t exchange.Target, reply exchange.Reply) []byte {
	if body := reply.DocumentFor(t); body != nil {
		return body
	}
	if l.Documents != nil {
		if body := l.Documents(ctx, t.SHA256); body != nil && t.Matches(body) {
			return body
		}
	}
	return nil
}

// Backoff for a refused release: tried again after RetryBase, then twice
// as long after each refusal, at most MaxRetryWait. A retry time further
// away than MaxRetryWait can only come from a clock that was wrong, and
// is not waited for.
const (
	RetryBase    = 15 * time.Minute
	MaxRetryWait = 24 * time.Hour
)

// refuse records that a release was refused. HQ hears of it once: again
// only if a refusal of the same release gives another reason.
func (l *Link) refuse(ctx context.Context, version int64, why error) error {
	report := changelog.UpdateReport{Release: version, Status: changelog.UpdateFailed, Reason: why.Error(), At: l.DB.Now().UTC()}
	if _, err := l.DB.RefuseUpdate(ctx, version, why.Error(), retryWait, report); err != nil {
		return errors.Join(why, err)
	}
	return nil // refused and recorded; the sync itself went well
}

// retryWait is how long a release refused n times in a row waits before
// it is tried again.
func retryWait(n int) time.Duration {
	return min(RetryBase<<min(n-1, 10), MaxRetryWait)
}
