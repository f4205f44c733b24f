package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
)

// campaignInput is the REST shape of a new campaign (CONTRACT.md), plus the
// optional fields Herald adds: sender, campaign values, variants, holdout,
// re-entry days for recurring campaigns, quiet-hours override and zone.
type campaignInput struct {
	Name              string            `json:"name"`
	TemplateID        *int64            `json:"template_id"`
	SenderID          *int64            `json:"sender_id"`
	TemplateValues    map[string]string `json:"template_values"`
	SegmentIDs        []int64           `json:"segment_ids"`
	ExcludeSegmentIDs []int64           `json:"exclude_segment_ids"`
	Schedule          *models.Schedule  `json:"schedule"`
	RespectQuietHours *bool             `json:"respect_quiet_hours"`
	FrequencyCap      *bool             `json:"frequency_cap"`
	Deadline          *time.Time        `json:"deadline"`
	HoldoutPercent    int               `json:"holdout_percent"`
	Variants          []models.Variant  `json:"variants"`
	ReentryDays       *int              `json:"reentry_days"`
	QuietStart        string            `json:"quiet_start"`
	QuietEnd          string            `json:"quiet_end"`
	Timezone          string            `json:"timezone"`
	AttributionDays   int               `json:"attribution_days"`
	ConversionEvents  []string          `json:"conversion_events"`
}

// campaign turns the input into a draft; quiet hours and the frequency cap
// are on unless switched off, as in the UI.
func (in campaignInput) campaign() *models.Campaign {
	c := &models.Campaign{Name: in.Name, TemplateID: in.TemplateID, SenderID: in.SenderID, TemplateValues: in.TemplateValues,
		SegmentIDs: in.SegmentIDs, ExcludeSegmentIDs: in.ExcludeSegmentIDs, Schedule: models.Schedule{Type: models.ScheduleNow},
		RespectQuietHours: true, FrequencyCap: true, Deadline: in.Deadline, HoldoutPercent: in.HoldoutPercent,
		Variants: in.Variants, ReentryDays: 30, QuietStart: in.QuietStart, QuietEnd: in.QuietEnd, Timezone: in.Timezone,
		AttributionDays: in.AttributionDays, ConversionEvents: in.ConversionEvents}
	if in.Schedule != nil {
		c.Schedule = *in.Schedule
	}
	if in.RespectQuietHours != nil {
		c.RespectQuietHours = *in.RespectQuietHours
	}
	if in.FrequencyCap != nil {
		c.FrequencyCap = *in.FrequencyCap
	}
	if in.ReentryDays != nil {
		c.ReentryDays = *in.ReentryDays
	}
	if c.TemplateID == nil && len(c.Variants) > 0 {
		id := c.Variants[0].TemplateID
		c.TemplateID = &id
	}
	return c
}

// campaignJSON is a campaign as the API returns it.
type campaignJSON struct {
	*models.Campaign
	Funnel  funnelJSON           `json:"funnel"`
	Stats   models.CampaignStats `json:"stats"`
	Skipped map[string]int64     `json:"skipped"`
}

// funnelJSON is CONTRACT's funnel.
type funnelJSON struct {
	Targeted   int64   `json:"targeted"`
	Suppressed int64   `json:"suppressed"`
	Queued     int64   `json:"queued"`
	Sent       int64   `json:"sent"`
	Delivered  int64   `json:"delivered"`
	Read       int64   `json:"read"`
	Tapped     int64   `json:"tapped"`
	Converted  int64   `json:"converted"`
	Failed     int64   `json:"failed"`
	Unknown    int64   `json:"unknown"`
	Holdout    int64   `json:"holdout"`
	Revenue    float64 `json:"revenue"`
}

func newCampaignJSON(c *models.Campaign, st models.CampaignStats) campaignJSON {
	return campaignJSON{Campaign: c, Stats: st,
		Funnel: funnelJSON{Targeted: st.Targeted, Suppressed: st.Suppressed(), Queued: st.Queued, Sent: st.Sent,
			Delivered: st.Delivered, Read: st.Read, Tapped: st.Tapped, Converted: st.Converted, Failed: st.Failed,
			Unknown: st.Unknown, Holdout: st.Holdout, Revenue: st.Revenue},
		Skipped: map[string]int64{models.SkipOptedOut: st.SkippedOptedOut, models.SkipUnreachable: st.SkippedUnreachable,
			models.SkipBlocked: st.SkippedBlocked, models.SkipNoConsent: st.SkippedNoConsent, models.SkipUSMarketing: st.SkippedUSMarketing,
			models.SkipFrequencyCapped: st.SkippedFrequencyCapped, "other": st.SkippedOther, "expired": st.Expired, "cancelled": st.Cancelled}}
}

func (h *Handlers) apiCampaignsRoutes(r routes) {
	r.apiRoute(http.MethodGet, "/campaigns", h.apiCampaignList, models.RoleViewer)
	r.apiRoute(http.MethodPost, "/campaigns", h.apiCampaignCreate, models.RoleMarketer)
	r.apiRoute(http.MethodGet, "/campaigns/:id", h.apiCampaignGet, models.RoleViewer)
	r.apiRoute(http.MethodPost, "/campaigns/:id/launch", h.apiCampaignLaunch, models.RoleMarketer)
	r.apiRoute(http.MethodPost, "/campaigns/:id/pause", h.apiCampaignAction(func(h *Handlers, c echo.Context, id int64) error {
		return h.store.PauseCampaign(c.Request().Context(), id, "")
	}), models.RoleMarketer)
	r.apiRoute(http.MethodPost, "/campaigns/:id/resume", h.apiCampaignAction(func(h *Handlers, c echo.Context, id int64) error {
		if err := h.store.ResumeCampaign(c.Request().Context(), id); err != nil {
			return err
		}
		h.wakeSenders()
		return nil
	}), models.RoleMarketer)
	r.apiRoute(http.MethodPost, "/campaigns/:id/cancel", h.apiCampaignAction(func(h *Handlers, c echo.Context, id int64) error {
		return h.store.CancelCampaign(c.Request().Context(), id)
	}), models.RoleMarketer)
}

// wakeSenders starts idle send workers after a launch or resume.
func (h *Handlers) wakeSenders() {
	if h.runner != nil {
		h.runner.Wake(jobs.SendWorker)
	}
}

func campaignID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, echo.NewHTTPError(http.StatusNotFound)
	}
	return id, nil
}

func (h *Handlers) apiCampaignList(c echo.Context) error {
	list, err := h.store.ListCampaigns(c.Request().Context(), 200)
	if err != nil {
		return err
	}
	out := make([]campaignJSON, len(list))
	for i := range list {
		out[i] = newCampaignJSON(&list[i].Campaign, list[i].Stats)
	}
	return c.JSON(http.StatusOK, map[string]any{"campaigns": out})
}

func (h *Handlers) apiCampaignCreate(c echo.Context) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err != nil {
		return apiErr(http.StatusBadRequest, "bad_request", "The body could not be read.")
	}
	var in campaignInput
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return apiErr(http.StatusUnprocessableEntity, "invalid_json", "The body is not a campaign: "+err.Error())
	}
	camp := in.campaign()
	ctx := c.Request().Context()
	errs := models.ValidateCampaign(camp)
	if len(errs) == 0 {
		refs, err := h.store.CheckCampaignRefs(ctx, camp)
		if err != nil {
			return err
		}
		errs = refs
	}
	if len(errs) > 0 {
		return apiFieldsErr(errs)
	}
	if k := currentAPIKey(c); k != nil {
		camp.CreatedByID = k.CreatedByID
	}
	if err := h.store.CreateCampaign(ctx, camp); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newCampaignJSON(camp, models.CampaignStats{}))
}

func (h *Handlers) apiCampaignGet(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	camp, err := h.store.Campaign(ctx, id)
	if err != nil {
		return err
	}
	st, err := h.store.CampaignStats(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newCampaignJSON(camp, st))
}

func (h *Handlers) apiCampaignLaunch(c echo.Context) error {
	id, err := campaignID(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	res, err := h.store.LaunchCampaign(ctx, id, time.Now())
	if err != nil {
		return err
	}
	h.wakeSenders()
	camp, err := h.store.Campaign(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, map[string]any{"id": id, "status": camp.Status, "next_run_at": camp.NextRunAt,
		"run": map[string]any{"id": res.RunID, "targeted": res.Targeted, "queued": res.Pending, "deferred_quiet_hours": res.Deferred}})
}

// apiCampaignAction answers pause/resume/cancel with the campaign's new state.
func (h *Handlers) apiCampaignAction(do func(h *Handlers, c echo.Context, id int64) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := campaignID(c)
		if err != nil {
			return err
		}
		if err := do(h, c, id); err != nil {
			if errors.Is(err, models.ErrConflict) {
				return apiErr(http.StatusConflict, "conflict", conflictMessage(err))
			}
			return err
		}
		return h.apiCampaignGet(c)
	}
}
