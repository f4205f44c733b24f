package jobs

import (
	"context"

	"github.com/heraldhq/herald/models"
)

// ScheduleTick launches due runs ("at" campaigns whose time came, recurring
// campaigns whose next cron time passed) and completes finished one-off
// campaigns. It returns how many runs it launched. Register runs it every
// 15 s on the leader instance; calling it twice, or from two instances, is
// harmless: each run is taken once (see models.Store.LaunchDueRuns).
func (e *Engine) ScheduleTick(ctx context.Context) (int, error) {
	runs, err := e.store.LaunchDueRuns(ctx, e.cfg.Now())
	for _, r := range runs {
		e.cfg.Log.Info("campaign run launched", "campaign", r.CampaignID, "run", r.Result.RunID,
			"targeted", r.Result.Targeted, "pending", r.Result.Pending, "deferred", r.Result.Deferred)
	}
	if err != nil {
		return len(runs), err
	}
	_, err = e.store.CompleteFinishedCampaigns(ctx)
	return len(runs), err
}

// Launch starts a draft campaign now (see models.Store.LaunchCampaign) and
// wakes the send workers so the first messages leave at once.
func (e *Engine) Launch(ctx context.Context, r *Runner, campaignID int64) (models.RunResult, error) {
	res, err := e.store.LaunchCampaign(ctx, campaignID, e.cfg.Now())
	if err == nil && r != nil {
		r.Wake(SendWorker)
	}
	return res, err
}

// WaitIdle runs send rounds until none finds work or ctx ends; tests and the
// benchmark use it to drive the engine without a Runner.
func (e *Engine) WaitIdle(ctx context.Context) error {
	for ctx.Err() == nil {
		more, err := e.SendRound(ctx)
		if err != nil {
			return err
		}
		if !more {
			return nil
		}
	}
	return ctx.Err()
}
