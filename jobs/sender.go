package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/whatsapp"
)

// Sender sends one WhatsApp message; *whatsapp.Client implements it.
type Sender interface {
	Send(ctx context.Context, m whatsapp.Message) (whatsapp.SendResult, error)
}

// SenderLimits are a sender number's sending limits.
type SenderLimits struct {
	// Rate is messages per second across all instances; 0 = unthrottled.
	Rate float64
	// DailyUnique is the messaging-limit tier: unique recipients per
	// rolling 24 h; 0 = unlimited.
	DailyUnique int
}

// SenderProvider resolves a campaign's sender (0 = the default sender) to a
// client and its limits. Credentials may live in encrypted columns; the
// provider owns that.
type SenderProvider interface {
	ClientFor(ctx context.Context, senderID int64) (Sender, SenderLimits, error)
}

// StaticSenders serves one client for every sender id: the sender
// configured with WHATSAPP_* (or the simulator), which is all a single-number
// install needs.
type StaticSenders struct {
	Client Sender
	Limits SenderLimits
}

// ClientFor implements SenderProvider.
func (s StaticSenders) ClientFor(context.Context, int64) (Sender, SenderLimits, error) {
	if s.Client == nil {
		return nil, SenderLimits{}, errors.New("jobs: no WhatsApp client configured")
	}
	return s.Client, s.Limits, nil
}

// TierLimit maps a messaging-limit tier name (TIER_250, TIER_2K, TIER_10K,
// TIER_100K, TIER_UNLIMITED) to unique recipients per 24 h; 0 = unlimited.
func TierLimit(tier string) int {
	switch tier {
	case "TIER_250":
		return 250
	case "TIER_1K":
		return 1000
	case "TIER_2K":
		return 2000
	case "TIER_10K":
		return 10_000
	case "TIER_100K":
		return 100_000
	}
	return 0
}

// EngineConfig tunes the send engine; zero fields take the defaults.
type EngineConfig struct {
	ClaimBatch   int           // messages claimed per round; default 500
	Concurrency  int           // requests in flight per worker goroutine; default DefaultConcurrency
	ClaimStale   time.Duration // rescuer returns claims older than this; default 2 min
	SendingStale time.Duration // rescuer turns sends older than this unknown; default 5 min
	MaxAttempts  int           // retries of retryable errors before failing; default 8
	// Unthrottled ignores sender rates (benchmarks).
	Unthrottled bool
	Now         func() time.Time
	Log         *slog.Logger
}

// DefaultConcurrency is the requests a send worker keeps in flight, and
// ServeSendWorkers the send workers `herald serve` runs.
const (
	DefaultConcurrency = 128
	ServeSendWorkers   = 2
)

// An answer may wait for the outcome writer in a queue of
// resultQueuePerSlot × Concurrency, and the writer records outcomes in
// batches of outcomeBatchPerSlot × Concurrency.
const (
	resultQueuePerSlot  = 2
	outcomeBatchPerSlot = 2
)

// MaxUnrecorded bounds the ledger rows one send worker holds as "sending"
// without their outcome written: requests in flight, answers queued for the
// outcome writer and the batch it is writing. A crash leaves at most this
// many rows per worker unknown; the status webhooks of those that did leave
// (matched by biz_opaque_callback_data) still settle them.
func MaxUnrecorded(concurrency int) int {
	return concurrency * (1 + resultQueuePerSlot + outcomeBatchPerSlot)
}

func (c EngineConfig) withDefaults() EngineConfig {
	if c.ClaimBatch <= 0 {
		c.ClaimBatch = 500
	}
	if c.Concurrency <= 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.ClaimStale <= 0 {
		c.ClaimStale = 2 * time.Minute
	}
	if c.SendingStale <= 0 {
		c.SendingStale = 5 * time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// pairRateWindow is Meta's pair rate: one message per 6 s to a user.
const pairRateWindow = 6 * time.Second

// tierRecheck is how long a message held back by the messaging-limit tier
// waits before it is looked at again; the window is rolling, so capacity
// frees up through the day.
const tierRecheck = time.Hour

// Engine sends the ledger's due messages. Several worker goroutines (and
// several instances) may run SendRound at once: each claims its own rows.
type Engine struct {
	store    *models.Store
	senders  SenderProvider
	instance string
	cfg      EngineConfig

	// instances is the live instance count from the heartbeat; each sender's
	// rate is divided by it so all instances together stay at the rate.
	instances atomic.Int64

	mu       sync.Mutex
	limiters map[int64]*rate.Limiter
	tiers    map[int64]*tierUsage
	rules    models.DeliveryRules
	rulesAt  time.Time

	// holds are the recipients with a message of this instance prepared or
	// in flight, whose outcome the ledger does not show yet. Rounds overlap
	// (several workers, and each worker's next batch is prepared while the
	// last one sends), so a recipient's recent sends in the ledger are not
	// the whole story: a held recipient waits out the pair-rate window.
	holdMu sync.Mutex
	holds  map[int64]int
}

// tierUsage caches a sender's unique recipients in the rolling 24 h,
// refreshed from the ledger every minute and counted up locally between.
type tierUsage struct {
	used int64
	at   time.Time
}

// NewEngine builds a send engine for the instance named instanceID.
func NewEngine(store *models.Store, senders SenderProvider, instanceID string, cfg EngineConfig) *Engine {
	e := &Engine{store: store, senders: senders, instance: instanceID, cfg: cfg.withDefaults(),
		limiters: map[int64]*rate.Limiter{}, tiers: map[int64]*tierUsage{}, holds: map[int64]int{}}
	e.instances.Store(1)
	return e
}

// Register adds the engine's jobs to a runner: sendWorkers goroutines of
// the "send" worker, the per-instance heartbeat, and the leader-only
// campaign scheduler (every 15 s) and rescuer (every 30 s).
func (e *Engine) Register(r *Runner, sendWorkers int) error {
	if err := r.Worker(SendWorker, sendWorkers, time.Second, e.SendRound); err != nil {
		return err
	}
	if err := r.Worker("heartbeat", 1, 10*time.Second, e.Heartbeat); err != nil {
		return err
	}
	if err := r.Periodic("campaign-scheduler", "@every 15s", func(ctx context.Context) error {
		n, err := e.ScheduleTick(ctx)
		if n > 0 {
			r.Wake(SendWorker)
		}
		return err
	}); err != nil {
		return err
	}
	return r.Periodic("send-rescuer", "@every 30s", func(ctx context.Context) error {
		_, err := e.Rescue(ctx)
		return err
	})
}

// SendWorker is the name of the send worker, for Runner.Wake after a launch.
const SendWorker = "send"

// Heartbeat records this instance as alive and adopts the live instance
// count for throttling. It is a WorkFunc that always waits for its poll.
func (e *Engine) Heartbeat(ctx context.Context) (bool, error) {
	n, err := e.store.Heartbeat(ctx, e.instance, 30*time.Second)
	if err != nil {
		return false, err
	}
	if old := e.instances.Swap(int64(n)); old != int64(n) {
		e.mu.Lock()
		clear(e.limiters) // rebuilt with the new share on next use
		e.mu.Unlock()
	}
	return false, nil
}

// deliveryRules caches Settings → Delivery rules for a few seconds.
func (e *Engine) deliveryRules(ctx context.Context) (models.DeliveryRules, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if time.Since(e.rulesAt) < 10*time.Second {
		return e.rules, nil
	}
	r, err := e.store.DeliveryRules(ctx)
	if err != nil {
		return r, err
	}
	e.rules, e.rulesAt = r, time.Now()
	return r, nil
}

func (e *Engine) limiter(senderID int64, limits SenderLimits) *rate.Limiter {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.limiters[senderID]
	if l == nil {
		if e.cfg.Unthrottled || limits.Rate <= 0 {
			l = rate.NewLimiter(rate.Inf, 1)
		} else {
			// A burst of a twentieth of a second's tokens: with a burst of
			// one, every pause of the sending goroutine (a mark's commit, a
			// full set of slots) lost the tokens that came due meanwhile,
			// and the sender ran measurably below its rate.
			share := limits.Rate / float64(e.instances.Load())
			l = rate.NewLimiter(rate.Limit(share), max(1, int(share/20)))
		}
		e.limiters[senderID] = l
	}
	return l
}

// job is one claimed message on its way out.
type job struct {
	msg      models.ClaimedMessage
	senderID int64
	client   Sender
	limiter  *rate.Limiter
	payload  whatsapp.Message
	links    []models.NewLink
}

// roundState is what one round loads once and shares.
type roundState struct {
	campaigns map[int64]*models.Campaign
	templates map[int64]*templateEntry
}

type templateEntry struct {
	tmpl   templating.Template
	status string
	err    error
}

// roundsPerCall is how many batches one SendRound call claims before it
// returns to the runner (which checks for shutdown between calls).
const roundsPerCall = 8

// SendRound claims batches of due messages, applies the delivery rules,
// sends the rest with bounded concurrency and records the outcomes in
// batches. It is the send worker's WorkFunc: more is true when it found work.
// The next batch is claimed and prepared while the last one sends, so the
// database round trips of a batch hide behind the requests of the one
// before; every batch has finished (outcomes written or claims released)
// when it returns.
func (e *Engine) SendRound(ctx context.Context) (bool, error) {
	// Outcomes must be written even when ctx ends mid-round.
	wctx := context.WithoutCancel(ctx)
	var sending chan error // the previous batch's dispatch
	finish := func() error {
		if sending == nil {
			return nil
		}
		err := <-sending
		sending = nil
		return err
	}
	found := false
	for range roundsPerCall {
		if ctx.Err() != nil {
			break
		}
		claimed, err := e.store.ClaimDue(ctx, e.instance, e.cfg.ClaimBatch, e.cfg.Now())
		if err != nil {
			return found, errors.Join(err, finish())
		}
		if len(claimed) == 0 {
			break
		}
		found = true
		// RETURNING does not keep the claim's order: restore it, so the
		// priority lane wins the pair-rate and cap checks within the batch.
		slices.SortStableFunc(claimed, func(a, b models.ClaimedMessage) int {
			if a.Priority != b.Priority {
				return b.Priority - a.Priority
			}
			return compareInt(a.ID, b.ID)
		})
		jobs, err := e.prepare(ctx, wctx, claimed)
		if err != nil {
			e.release(wctx, claimed)
			return true, errors.Join(err, finish())
		}
		if err := finish(); err != nil {
			e.unhold(jobs)
			e.release(wctx, jobMessages(jobs))
			return true, err
		}
		sending = make(chan error, 1)
		go func() { sending <- e.dispatch(ctx, wctx, jobs) }()
	}
	if err := finish(); err != nil {
		return true, err
	}
	if !found {
		_, err := e.store.CompleteFinishedCampaigns(ctx)
		return false, err
	}
	return true, nil
}

func jobMessages(jobs []*job) []models.ClaimedMessage {
	out := make([]models.ClaimedMessage, len(jobs))
	for i, j := range jobs {
		out[i] = j.msg
	}
	return out
}

// hold reserves contactID for a message about to be sent; false when this
// instance already has one prepared or in flight for that recipient.
func (e *Engine) hold(contactID int64) bool {
	e.holdMu.Lock()
	defer e.holdMu.Unlock()
	if e.holds[contactID] > 0 {
		return false
	}
	e.holds[contactID]++
	return true
}

// unhold ends the holds of jobs whose outcome is in the ledger (or that
// went back to pending).
func (e *Engine) unhold(jobs []*job) {
	for _, j := range jobs {
		e.unholdContact(j.contactID())
	}
}

func (e *Engine) unholdContact(contactID int64) {
	if contactID == 0 {
		return
	}
	e.holdMu.Lock()
	defer e.holdMu.Unlock()
	if e.holds[contactID]--; e.holds[contactID] <= 0 {
		delete(e.holds, contactID)
	}
}

func (j *job) contactID() int64 {
	if j.msg.ContactID == nil {
		return 0
	}
	return *j.msg.ContactID
}

// release puts claims back to pending.
func (e *Engine) release(ctx context.Context, claimed []models.ClaimedMessage) {
	ids := make([]int64, len(claimed))
	for i, m := range claimed {
		ids[i] = m.ID
	}
	if err := e.store.ReleaseClaims(ctx, e.instance, ids); err != nil {
		e.cfg.Log.Error("release claims", "err", err)
	}
}

// prepare decides each claimed message's fate under the delivery rules and
// renders those that go out.
func (e *Engine) prepare(ctx, wctx context.Context, claimed []models.ClaimedMessage) ([]*job, error) {
	now := e.cfg.Now().UTC()
	rules, err := e.deliveryRules(ctx)
	if err != nil {
		return nil, err
	}
	rs := &roundState{campaigns: map[int64]*models.Campaign{}, templates: map[int64]*templateEntry{}}
	// Hold each recipient before reading its recent sends: a hold ends only
	// after its message's outcome is committed, so either the hold is still
	// there (and the message waits out the pair rate) or the read sees the
	// send. A recipient already held (in this batch or by another worker)
	// waits; holds of messages that do not go out end when prepare returns.
	held := make(map[int64]bool, len(claimed))
	var out []*job
	failed := true
	defer func() {
		kept := make(map[int64]bool, len(out))
		if !failed {
			for _, j := range out {
				kept[j.msg.ID] = true
			}
		}
		for _, m := range claimed {
			if held[m.ID] && !kept[m.ID] {
				e.unholdContact(*m.ContactID)
			}
		}
	}()
	for _, m := range claimed {
		if m.ContactID != nil && e.hold(*m.ContactID) {
			held[m.ID] = true
		}
	}
	var contactIDs []int64
	for _, m := range claimed {
		if m.CampaignID != nil && rs.campaigns[*m.CampaignID] == nil {
			c, err := e.store.Campaign(ctx, *m.CampaignID)
			if err != nil {
				return nil, err
			}
			rs.campaigns[c.ID] = c
		}
		if m.ContactID != nil {
			contactIDs = append(contactIDs, *m.ContactID)
		}
	}
	capDays := max(rules.FrequencyCapDays, 1)
	hist, err := e.store.ContactHistories(ctx, contactIDs, now.AddDate(0, 0, -capDays), now.Add(-pairRateWindow))
	if err != nil {
		return nil, err
	}
	contacts, err := e.store.SendContacts(ctx, contactIDs)
	if err != nil {
		return nil, err
	}

	var settle []models.Settlement
	tierNew := map[int64]int64{}
	for _, m := range claimed {
		var campaign *models.Campaign
		if m.CampaignID != nil {
			campaign = rs.campaigns[*m.CampaignID]
		}
		if m.ExpiresAt.Valid && !m.ExpiresAt.Time.After(now) {
			settle = append(settle, models.Settlement{ID: m.ID, CampaignID: m.CampaignID, Status: models.MessageExpired, Reason: "deadline passed before sending"})
			continue
		}
		contactID := int64(0)
		if m.ContactID != nil {
			contactID = *m.ContactID
		}
		h := hist[contactID]
		lane := m.Priority > 0 // transactional: no caps
		if !lane && contactID != 0 {
			capOn := campaign == nil || campaign.FrequencyCap
			if capOn && m.Category == "MARKETING" && rules.FrequencyCapCount > 0 && h.Marketing >= rules.FrequencyCapCount {
				settle = append(settle, models.Settlement{ID: m.ID, CampaignID: m.CampaignID, Status: models.MessageSkipped, Reason: models.SkipFrequencyCapped})
				continue
			}
		}
		// A recipient with another message prepared or in flight here (in
		// this batch or another worker's) waits out the pair rate too; by
		// then the ledger counts that message against the frequency cap.
		if contactID != 0 && (h.Recent > 0 || !held[m.ID]) {
			settle = append(settle, models.Settlement{ID: m.ID, CampaignID: m.CampaignID, Status: models.MessagePending, SendAfter: now.Add(pairRateWindow)})
			continue
		}
		senderID := int64(0)
		if m.SenderID != nil {
			senderID = *m.SenderID
		}
		client, limits, err := e.senders.ClientFor(ctx, senderID)
		if err != nil {
			return nil, fmt.Errorf("jobs: sender %d: %w", senderID, err)
		}
		if limits.DailyUnique > 0 && !lane {
			used, err := e.tierUsed(ctx, senderID, now)
			if err != nil {
				return nil, err
			}
			if used+tierNew[senderID] >= int64(limits.DailyUnique) {
				settle = append(settle, models.Settlement{ID: m.ID, CampaignID: m.CampaignID, Status: models.MessagePending, SendAfter: now.Add(tierRecheck)})
				continue
			}
			tierNew[senderID]++
		}
		j := &job{msg: m, senderID: senderID, client: client, limiter: e.limiter(senderID, limits)}
		if err := e.render(ctx, rs, j, campaign, contacts[contactID]); err != nil {
			var pause *pauseError
			if errors.As(err, &pause) {
				// The template cannot be sent (paused, rejected…): pause
				// the campaign and put the message back for when it resumes.
				if perr := e.store.PauseCampaign(wctx, pause.campaignID, pause.reason); perr != nil && !errors.Is(perr, models.ErrConflict) {
					return nil, perr
				}
				settle = append(settle, models.Settlement{ID: m.ID, CampaignID: m.CampaignID, Status: models.MessagePending, SendAfter: now})
				continue
			}
			settle = append(settle, models.Settlement{ID: m.ID, CampaignID: m.CampaignID, Status: models.MessageFailed, Reason: err.Error()})
			continue
		}
		out = append(out, j)
	}
	if err := e.store.SettleClaims(wctx, e.instance, settle); err != nil {
		return nil, err
	}
	failed = false
	e.addTierUse(tierNew)
	// Group by sender so each chunk waits on one throttle.
	slices.SortStableFunc(out, func(a, b *job) int { return compareInt(a.senderID, b.senderID) })
	return out, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (e *Engine) tierUsed(ctx context.Context, senderID int64, now time.Time) (int64, error) {
	e.mu.Lock()
	u := e.tiers[senderID]
	e.mu.Unlock()
	if u != nil && now.Sub(u.at) < time.Minute {
		return u.used, nil
	}
	n, err := e.store.UniqueRecipientsSince(ctx, senderID, now.Add(-24*time.Hour))
	if err != nil {
		return 0, err
	}
	e.mu.Lock()
	e.tiers[senderID] = &tierUsage{used: n, at: now}
	e.mu.Unlock()
	return n, nil
}

func (e *Engine) addTierUse(add map[int64]int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, n := range add {
		if u := e.tiers[id]; u != nil {
			u.used += n
		}
	}
}

// pauseError says a campaign must pause before its messages can go out.
type pauseError struct {
	campaignID int64
	reason     string
}

func (p *pauseError) Error() string { return p.reason }

// render builds the message payload from the campaign's (variant's)
// template, the contact and the campaign values.
func (e *Engine) render(ctx context.Context, rs *roundState, j *job, campaign *models.Campaign, contact models.SendContact) error {
	m := j.msg
	if m.TemplateID == nil {
		return errors.New("no template")
	}
	te := rs.templates[*m.TemplateID]
	if te == nil {
		te = &templateEntry{}
		t, err := e.store.TemplateByID(ctx, *m.TemplateID)
		if err != nil {
			te.err = fmt.Errorf("template %d: %w", *m.TemplateID, err)
		} else {
			te.status = t.Status
			te.tmpl, te.err = TemplateFromModel(t)
		}
		rs.templates[*m.TemplateID] = te
	}
	if te.err != nil {
		return te.err
	}
	if te.status != models.TemplateApproved && campaign != nil {
		return &pauseError{campaignID: campaign.ID, reason: fmt.Sprintf("template %s (%s) is %s, not APPROVED; resume once Meta approves it",
			te.tmpl.Name, te.tmpl.Language, te.status)}
	}
	if campaign == nil && m.Priority > 0 {
		// An API message: its values come with the call (jobs/transactional.go).
		return e.renderTransactional(ctx, j, te, contact)
	}
	var values map[string]string
	if campaign != nil {
		values = campaign.TemplateValues
	}
	msg, comps, err := templating.Render(te.tmpl, templatingContact(contact), values)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	j.finish(te, msg, comps)
	return nil
}

// templatingContact is a recipient as templates render it.
func templatingContact(c models.SendContact) templating.Contact {
	return templating.Contact{
		FirstName: c.FirstName, LastName: c.LastName, Phone: c.Phone, Email: c.Email,
		Country: c.Country, Language: c.Language, Timezone: c.Timezone, LifecycleStage: c.LifecycleStage,
		TotalOrders: c.TotalOrders, TotalSpent: c.TotalSpent, Attributes: c.Attributes,
	}
}

// finish keeps a rendered message's tracked links and its Cloud API
// payload on the job; the links are stored with the "sending" mark.
func (j *job) finish(te *templateEntry, msg templating.RenderedMessage, comps []whatsapp.Component) {
	for _, l := range msg.Links {
		j.links = append(j.links, models.NewLink{MessageID: j.msg.ID, Code: l.Code, URL: l.Destination})
	}
	j.payload = whatsapp.Message{
		To:                    j.msg.ToPhone,
		BizOpaqueCallbackData: models.CallbackData(j.msg.ID),
		Template:              &whatsapp.TemplateMessage{Name: te.tmpl.Name, Language: te.tmpl.Language, Components: comps},
	}
}

// TemplateFromModel converts a stored template to the templating type.
func TemplateFromModel(t *models.Template) (templating.Template, error) {
	out := templating.Template{Name: t.Name, Language: t.Language, Category: t.Category,
		ParameterFormat: t.ParameterFormat, Body: t.Body, Footer: t.Footer}
	if t.Header != nil && *t.Header != "" && *t.Header != "null" {
		out.Header = &templating.Header{}
		if err := json.Unmarshal([]byte(*t.Header), out.Header); err != nil {
			return out, fmt.Errorf("template %d header: %w", t.ID, err)
		}
	}
	if t.Buttons != "" {
		if err := json.Unmarshal([]byte(t.Buttons), &out.Buttons); err != nil {
			return out, fmt.Errorf("template %d buttons: %w", t.ID, err)
		}
	}
	if t.Variables != "" {
		if err := json.Unmarshal([]byte(t.Variables), &out.Variables); err != nil {
			return out, fmt.Errorf("template %d variables: %w", t.ID, err)
		}
	}
	out.Normalize()
	return out, nil
}

// result is one send's answer.
type result struct {
	j   *job
	res whatsapp.SendResult
	err error
	at  time.Time
}

// dispatch sends jobs in chunks of the concurrency: each chunk is marked
// sending in one UPDATE right before its requests leave, at most
// Concurrency requests are in flight, and a writer records outcomes in
// batches while later chunks are sending.
func (e *Engine) dispatch(ctx, wctx context.Context, jobs []*job) error {
	defer e.unhold(jobs) // every outcome is written, or the rest released
	if len(jobs) == 0 {
		return nil
	}
	conc := e.cfg.Concurrency
	results := make(chan result, conc*resultQueuePerSlot)
	writerDone := make(chan error, 1)
	halts := &halts{campaigns: map[int64]string{}, senders: map[int64]string{}}
	go func() { writerDone <- e.writeResults(wctx, results, halts) }()

	// Slots are taken for a whole chunk before it is marked sending, so a
	// row is "sending" only once its request can leave at once: after a
	// crash, unknown rows are those in flight or answered and not yet
	// recorded (MaxUnrecorded), never ones still waiting. Chunks are half the
	// slots, and up to markAhead chunks are being marked at once: a mark is
	// a durable commit, which waits for the disk, and commits in flight
	// together share one flush.
	sem := make(chan struct{}, conc)
	marking := make(chan struct{}, markAhead)
	chunkSize := max(conc/2, 1)
	var wg sync.WaitGroup
	var unsentMu sync.Mutex
	var unsent []models.ClaimedMessage
	giveBack := func(js []*job) {
		unsentMu.Lock()
		defer unsentMu.Unlock()
		for _, j := range js {
			unsent = append(unsent, j.msg)
		}
	}
	for start := 0; start < len(jobs); {
		chunk := e.nextChunk(jobs[start:], chunkSize)
		start += len(chunk)
		if ctx.Err() != nil {
			giveBack(chunk)
			continue
		}
		var ready, halted []*job
		for _, j := range chunk {
			if halts.stopped(j) {
				halted = append(halted, j)
				continue
			}
			ready = append(ready, j)
		}
		giveBack(halted)
		// Throttle before marking, so a message is never "sending" while it
		// waits for a token.
		if l := chunkLimiter(ready); l != nil && l.Limit() != rate.Inf {
			for range ready {
				if err := l.Wait(ctx); err != nil {
					break
				}
			}
		}
		if ctx.Err() != nil {
			giveBack(ready)
			continue
		}
		for range ready {
			sem <- struct{}{}
		}
		marking <- struct{}{}
		wg.Add(1)
		go func(ready []*job) {
			defer wg.Done()
			moved, err := e.markSending(wctx, ready)
			<-marking
			if err != nil {
				giveBack(ready)
				for range ready {
					<-sem
				}
				e.cfg.Log.Error("mark sending", "err", err)
				return
			}
			for _, j := range ready {
				if !moved[j.msg.ID] {
					<-sem
					continue // the rescuer took it back; someone else sends it
				}
				wg.Add(1)
				go func(j *job) {
					defer wg.Done()
					defer func() { <-sem }()
					res, err := j.client.Send(ctx, j.payload)
					results <- result{j: j, res: res, err: err, at: e.cfg.Now()}
				}(j)
			}
		}(ready)
	}
	wg.Wait()
	close(results)
	werr := <-writerDone
	if len(unsent) > 0 {
		e.release(wctx, unsent)
	}
	return werr
}

// markAhead is how many chunks of one dispatch may be marked sending at once.
const markAhead = 3

// markSending marks a chunk sending (with its tracked links) and returns
// the ids it moved.
func (e *Engine) markSending(ctx context.Context, chunk []*job) (map[int64]bool, error) {
	ids := make([]int64, len(chunk))
	var links []models.NewLink
	for i, j := range chunk {
		ids[i] = j.msg.ID
		links = append(links, j.links...)
	}
	moved, err := e.store.MarkSending(ctx, e.instance, ids, links)
	if err != nil {
		return nil, err
	}
	ok := make(map[int64]bool, len(moved))
	for _, id := range moved {
		ok[id] = true
	}
	return ok, nil
}

// nextChunk takes up to n jobs of one sender; with a throttle, chunks are
// kept to a tenth of a second's worth so tokens are not hoarded.
func (e *Engine) nextChunk(jobs []*job, n int) []*job {
	size := 1
	for size < len(jobs) && size < n && jobs[size].senderID == jobs[0].senderID {
		size++
	}
	if l := jobs[0].limiter; l != nil && l.Limit() != rate.Inf {
		size = min(size, max(1, int(float64(l.Limit())/10)))
	}
	return jobs[:size]
}

func chunkLimiter(chunk []*job) *rate.Limiter {
	if len(chunk) == 0 {
		return nil
	}
	return chunk[0].limiter
}

// halts records campaigns and senders that must stop for the rest of a round.
type halts struct {
	mu        sync.Mutex
	campaigns map[int64]string
	senders   map[int64]string
}

func (h *halts) stopped(j *job) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.senders[j.senderID]; ok {
		return true
	}
	if j.msg.CampaignID != nil {
		if _, ok := h.campaigns[*j.msg.CampaignID]; ok {
			return true
		}
	}
	return false
}

// sideEffects are the actions outcomes ask for beyond the ledger.
type sideEffects struct {
	unreachable    []int64
	marketingStop  []int64
	pauseCampaigns map[int64]string
	stopSenders    map[int64]string
	touched        map[int64]bool
}

// outcomeFlushEvery bounds how long an answer waits to be written when its
// batch does not fill up (a throttled or slow sender); a dispatch's last
// outcomes are written as soon as its requests are all answered.
const outcomeFlushEvery = 250 * time.Millisecond

// writeResults turns answers into outcomes and writes them in batches.
func (e *Engine) writeResults(ctx context.Context, results <-chan result, h *halts) error {
	batchSize := e.cfg.Concurrency * outcomeBatchPerSlot
	buf := make([]models.SendOutcome, 0, batchSize)
	fx := sideEffects{pauseCampaigns: map[int64]string{}, stopSenders: map[int64]string{}, touched: map[int64]bool{}}
	var firstErr error
	flush := func() {
		if len(buf) == 0 {
			return
		}
		if err := e.store.RecordOutcomes(ctx, buf); err != nil && firstErr == nil {
			firstErr = err
		}
		buf = buf[:0]
	}
	ticker := time.NewTicker(outcomeFlushEvery)
	defer ticker.Stop()
	for {
		select {
		case r, ok := <-results:
			if !ok {
				flush()
				if err := e.applySideEffects(ctx, fx); err != nil && firstErr == nil {
					firstErr = err
				}
				return firstErr
			}
			buf = append(buf, e.outcome(r, &fx, h))
			if len(buf) >= batchSize {
				flush()
			}
		case <-ticker.C:
			flush()
		}
	}
}

// outcome classifies one answer (whatsapp.ClassifyError) into the ledger
// transition and the side effects it calls for.
func (e *Engine) outcome(r result, fx *sideEffects, h *halts) models.SendOutcome {
	m := r.j.msg
	o := models.SendOutcome{ID: m.ID, At: r.at}
	if m.CampaignID != nil {
		fx.touched[*m.CampaignID] = true
	}
	if r.err == nil {
		o.Status, o.WAMID = models.MessageSent, r.res.MessageID
		return o
	}
	cl := whatsapp.ClassifyError(r.err)
	var me *whatsapp.Error
	if errors.As(r.err, &me) {
		o.ErrorCode = me.Code
	}
	o.Reason = cl.Reason
	attempts := m.Attempts + 1 // MarkSending counted this one
	deadlineOK := func(at time.Time) bool { return !m.ExpiresAt.Valid || at.Before(m.ExpiresAt.Time) }
	fail := func(reason string) models.SendOutcome {
		o.Status, o.Reason = models.MessageFailed, reason
		return o
	}
	switch cl.Action {
	case whatsapp.ActionRetry:
		limit := e.cfg.MaxAttempts
		if cl.MaxAttempts > 0 {
			limit = min(limit, cl.MaxAttempts)
		}
		at := r.at.Add(cl.Delay(attempts - 1))
		if cl.Scope == whatsapp.ScopeSender || cl.Scope == whatsapp.ScopeAccount {
			// Throttled as a whole: slow down, but this message has not
			// used up a try.
			o.Refund = true
			at = r.at.Add(cl.Backoff)
		} else if attempts >= limit {
			return fail(fmt.Sprintf("%s (gave up after %d attempts)", cl.Reason, attempts))
		}
		if !deadlineOK(at) {
			return fail(cl.Reason + " (deadline reached while retrying)")
		}
		o.Status, o.SendAfter = models.MessagePending, at
	case whatsapp.ActionRetryNextDay:
		at := r.at.Add(cl.Delay(0))
		if attempts >= 3 || !deadlineOK(at) {
			return fail(cl.Reason)
		}
		o.Status, o.SendAfter = models.MessagePending, at
	case whatsapp.ActionSuppressContact:
		if m.ContactID != nil {
			fx.unreachable = append(fx.unreachable, *m.ContactID)
		}
		return fail(cl.Reason)
	case whatsapp.ActionSuppressMarketing:
		if m.ContactID != nil {
			fx.marketingStop = append(fx.marketingStop, *m.ContactID)
		}
		return fail(cl.Reason)
	case whatsapp.ActionFixTemplate, whatsapp.ActionPauseTemplate:
		if m.CampaignID == nil {
			return fail(cl.Reason)
		}
		// Every recipient would fail alike: pause, keep the message queued.
		fx.pauseCampaigns[*m.CampaignID] = cl.Reason
		h.mu.Lock()
		h.campaigns[*m.CampaignID] = cl.Reason
		h.mu.Unlock()
		o.Status, o.SendAfter = models.MessagePending, r.at
	case whatsapp.ActionStopSender:
		if r.j.senderID == 0 && m.CampaignID != nil {
			// The configured default sender has no row to stop: pause the
			// campaign instead, with the reason.
			fx.pauseCampaigns[*m.CampaignID] = "sender refused: " + cl.Reason
		}
		fx.stopSenders[r.j.senderID] = cl.Reason
		h.mu.Lock()
		h.senders[r.j.senderID] = cl.Reason
		h.mu.Unlock()
		o.Status, o.SendAfter = models.MessagePending, r.at
	case whatsapp.ActionUnknownOutcome:
		o.Status = models.MessageUnknown
	default: // drop, send-template-instead
		return fail(cl.Reason)
	}
	return o
}

func (e *Engine) applySideEffects(ctx context.Context, fx sideEffects) error {
	var errs []error
	errs = append(errs, e.store.SuppressContacts(ctx, fx.unreachable, "whatsapp: undeliverable"))
	errs = append(errs, e.store.WithdrawMarketingConsent(ctx, fx.marketingStop, "whatsapp: user stopped marketing (131050)"))
	for id, reason := range fx.pauseCampaigns {
		if err := e.store.PauseCampaign(ctx, id, "paused: "+reason); err != nil && !errors.Is(err, models.ErrConflict) {
			errs = append(errs, err)
		}
		e.cfg.Log.Warn("campaign paused by a template error", "campaign", id, "reason", reason)
	}
	for id, reason := range fx.stopSenders {
		if id == 0 {
			e.cfg.Log.Error("default sender refused by WhatsApp; its campaigns are paused; check the credentials", "reason", reason)
			continue
		}
		errs = append(errs, e.store.StopSender(ctx, id, reason))
		e.cfg.Log.Error("sender stopped", "sender", id, "reason", reason)
	}
	if len(fx.touched) > 0 {
		rules, err := e.deliveryRules(ctx)
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for id := range fx.touched {
			paused, err := e.store.AutoPauseFailing(ctx, id, rules)
			errs = append(errs, err)
			if paused {
				e.cfg.Log.Warn("campaign paused: failure rate over threshold", "campaign", id)
			}
		}
	}
	return errors.Join(errs...)
}
