package jobs

import (
	"context"

	"github.com/heraldhq/herald/models"
)

// Rescue runs the rescuer once: claims older than ClaimStale go back to
// pending (their worker died before sending anything), and sends started
// more than SendingStale ago become unknown (their worker died between the
// request and recording the answer; the message may have gone out, so it is
// never resent automatically and shows in the campaign's "unknown" count).
// Register runs it every 30 s on the leader instance.
func (e *Engine) Rescue(ctx context.Context) (models.RescueResult, error) {
	now := e.cfg.Now()
	res, err := e.store.RescueStale(ctx, now.Add(-e.cfg.ClaimStale), now.Add(-e.cfg.SendingStale))
	if err == nil && (res.Returned > 0 || res.Unknown > 0) {
		e.cfg.Log.Warn("rescued stale sends", "returned_to_queue", res.Returned, "marked_unknown", res.Unknown)
	}
	return res, err
}
