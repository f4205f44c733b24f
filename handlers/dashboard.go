package handlers

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/demo"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/components"
	"github.com/heraldhq/herald/views/dashboard"
)

// dashboard is the home page: recent campaigns with their key rates, the
// last 7 and 30 days, list health, sender quality and tier, the setup
// checklist until it is done, and the demo loader on an empty Herald.
// Everything comes from counters and small tables, never from a ledger scan.
func (h *Handlers) dashboard(c echo.Context) error {
	ctx := c.Request().Context()
	counts, err := h.store.Totals(ctx)
	if err != nil {
		return err
	}
	health, err := h.store.ListHealth(ctx)
	if err != nil {
		return err
	}
	setup, err := h.checklist(ctx)
	if err != nil {
		return err
	}
	vm := dashboard.View{Contacts: health.Total, Segments: counts.Segments, Templates: counts.Templates,
		Campaigns: counts.Campaigns, Health: health, Setup: setup, CanEdit: currentUser(c).Role.Allows(models.RoleMarketer)}
	now := time.Now().UTC()
	for _, d := range []int{7, 30} {
		t, err := h.store.TotalsSince(ctx, now.AddDate(0, 0, -d))
		if err != nil {
			return err
		}
		vm.Periods = append(vm.Periods, dashboard.Period{Days: d, Totals: t})
	}
	list, err := h.store.ListCampaigns(ctx, 5)
	if err != nil {
		return err
	}
	for _, cw := range list {
		st := cw.Stats
		vm.Recent = append(vm.Recent, dashboard.CampaignRow{ID: cw.ID, Name: cw.Name, Status: cw.Status, Sent: st.Sent,
			DeliveryRate: components.Percent(st.Delivered, st.Sent), ReadRate: components.Percent(st.Read, st.Delivered),
			ConversionRate: components.Percent(st.Converted, st.Read), Revenue: components.Money(st.Revenue)})
	}
	senders, err := h.store.Senders(ctx)
	if err != nil {
		return err
	}
	for _, s := range senders {
		vm.Senders = append(vm.Senders, dashboard.SenderRow{Name: s.Name, Phone: s.DisplayPhone, Quality: s.QualityRating,
			Tier: s.MessagingLimitTier, Status: s.Status})
	}
	st, ok, err := demo.ReadStatus(ctx, h.store)
	if err != nil {
		return err
	}
	if ok {
		vm.Demo = &st
	}
	return render(c, http.StatusOK, dashboard.Page(h.page(c, "Dashboard", "dashboard"), vm), nil)
}

// demoLoad starts loading demo data in the background and returns at once;
// the dashboard shows its progress. It refuses when demo data exists.
func (h *Handlers) demoLoad(c echo.Context) error {
	if err := demo.Begin(c.Request().Context(), h.store); err != nil {
		if errors.Is(err, demo.ErrAlreadyLoaded) {
			h.flash(c, "info", "Demo data was loaded already.")
			return redirect(c, "/")
		}
		return err
	}
	opts := demo.Options{WABAID: h.cfg.WhatsApp.WABAID, Log: h.log.With("component", "demo")}
	if h.gateway != nil {
		opts.Gateway = h.gateway
	}
	if h.runner != nil && h.gateway != nil {
		opts.Send = h.demoSend
	}
	go func() {
		// The load outlives the request; it has ten minutes.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		if _, err := demo.Load(ctx, h.store, opts); err != nil {
			h.log.Error("demo data failed", "err", err)
		}
	}()
	h.flash(c, "success", "Loading demo data… the dashboard fills in over the next minute or two.")
	return redirect(c, "/")
}

// demoSend launches a demo campaign through the running engine and waits
// until the simulator's statuses stop arriving (a message Meta held back
// for a day stays queued; it is not waited for).
func (h *Handlers) demoSend(ctx context.Context, campaignID int64) error {
	if _, err := h.store.LaunchCampaign(ctx, campaignID, time.Now()); err != nil {
		return err
	}
	h.runner.Wake(jobs.SendWorker)
	var last int64 = -1
	stable := 0
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
		st, err := h.store.CampaignStats(ctx, campaignID)
		if err != nil {
			return err
		}
		seen := st.Delivered + st.Read + st.Tapped + st.Failed
		if seen == last && seen > 0 {
			stable++
		} else {
			stable = 0
		}
		last = seen
		if stable >= 6 {
			return nil
		}
	}
	return nil
}
