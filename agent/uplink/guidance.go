package uplink

import (
	"context"

	"chancery/shared/problem"
	"chancery/sync/exchange"
)

// takeGuidance adds HQ's guidance to the incidents' timelines, once each.
// Guidance on an incident the mission does not have is dropped: it can
// only be a mistake at HQ, which the mission cannot act on.
func (l *Link) takeGuidance(ctx context.Context, guidance []exchange.GuidanceLine) error {
	for _, g := range guidance {
		if err := l.DB.AddGuidance(ctx, g.Incident, g.ID, g.By, g.Text, g.At, g.Ack); err != nil && problem.CodeOf(err) != problem.NotFound {
			return err
		}
	}
	return nil
}
