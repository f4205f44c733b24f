// Package demo fills an empty Herald with believable data, so a newcomer
// sees funnels, conversions and engagement windows at once: a few thousand
// generated contacts across countries and time zones with purchase
// history, approved templates, segments, a past newsletter whose reads
// follow local lunch and evening habits, and two campaigns really sent
// through the WhatsApp simulator, followed by purchases of some readers.
// Everything derives from one seed, so two loads give the same data.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/whatsapp"
)

// SettingKey is the settings key recording that demo data was loaded, and
// how far loading got.
const SettingKey = "demo_data"

// ErrAlreadyLoaded is returned when demo data exists already.
var ErrAlreadyLoaded = errors.New("demo: demo data was loaded already")

// Gateway submits templates to WhatsApp and lists them; *whatsapp.Client
// implements it.
type Gateway interface {
	CreateTemplate(ctx context.Context, def whatsapp.TemplateDefinition) (whatsapp.CreateTemplateResult, error)
	ListTemplates(ctx context.Context) ([]whatsapp.Template, error)
}

// Options configure a load.
type Options struct {
	Contacts int   // default 3000
	Seed     int64 // default 42
	WABAID   string
	// Gateway registers the templates at WhatsApp (the simulator) and waits
	// for their approval; nil stores them approved in Herald only.
	Gateway Gateway
	// Send launches a campaign and returns once its messages went out and
	// their statuses settled; nil skips the live campaigns.
	Send func(ctx context.Context, campaignID int64) error
	Now  func() time.Time
	Log  *slog.Logger
}

// Status is what the dashboard shows while demo data loads.
type Status struct {
	State string    `json:"state"` // loading, done, failed
	Step  string    `json:"step"`
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at"`
}

// ReadStatus returns the demo status, ok false when none was ever loaded.
func ReadStatus(ctx context.Context, store *models.Store) (Status, bool, error) {
	var st Status
	ok, err := store.GetSetting(ctx, SettingKey, &st)
	return st, ok, err
}

// Begin records that a load starts, or returns ErrAlreadyLoaded.
func Begin(ctx context.Context, store *models.Store) error {
	if _, ok, err := ReadStatus(ctx, store); err != nil || ok {
		if err == nil {
			err = ErrAlreadyLoaded
		}
		return err
	}
	return store.PutSetting(ctx, SettingKey, Status{State: "loading", Step: "Starting", At: time.Now().UTC()})
}

// Result says what a load created.
type Result struct {
	Contacts  int
	Templates []int64
	Segments  []int64
	Campaigns []int64
	Events    int
}

type loader struct {
	store *models.Store
	opts  Options
	rnd   *rand.Rand
	now   time.Time
	res   Result
}

func (l *loader) step(ctx context.Context, s string) {
	l.opts.Log.Info("demo data", "step", s)
	_ = l.store.PutSetting(ctx, SettingKey, Status{State: "loading", Step: s, At: time.Now().UTC()})
}

// Load creates the demo data. Call Begin first (Load calls it when no load
// is recorded); the final status is "done" or "failed".
func Load(ctx context.Context, store *models.Store, opts Options) (Result, error) {
	if opts.Contacts <= 0 {
		opts.Contacts = 3000
	}
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	st, ok, err := ReadStatus(ctx, store)
	if err != nil {
		return Result{}, err
	}
	if ok && st.State != "loading" {
		return Result{}, ErrAlreadyLoaded
	}
	if !ok {
		if err := Begin(ctx, store); err != nil {
			return Result{}, err
		}
	}
	l := &loader{store: store, opts: opts, rnd: rand.New(rand.NewPCG(uint64(opts.Seed), 7)), now: opts.Now().UTC()}
	err = l.run(ctx)
	final := Status{State: "done", Step: "Demo data loaded", At: time.Now().UTC()}
	if err != nil {
		final = Status{State: "failed", Step: "Loading stopped", Error: err.Error(), At: time.Now().UTC()}
	}
	if perr := store.PutSetting(context.WithoutCancel(ctx), SettingKey, final); perr != nil && err == nil {
		err = perr
	}
	return l.res, err
}

func (l *loader) run(ctx context.Context) error {
	l.step(ctx, "Creating contacts")
	ids, err := l.contacts(ctx)
	if err != nil {
		return err
	}
	l.step(ctx, "Recording past purchases")
	if err := l.pastPurchases(ctx, ids); err != nil {
		return err
	}
	l.step(ctx, "Creating approved templates")
	if err := l.templates(ctx); err != nil {
		return err
	}
	l.step(ctx, "Creating segments")
	if err := l.segments(ctx); err != nil {
		return err
	}
	l.step(ctx, "Adding last month's newsletter")
	if err := l.newsletter(ctx, ids); err != nil {
		return err
	}
	if l.opts.Send != nil {
		if err := l.liveCampaigns(ctx); err != nil {
			return err
		}
	}
	for _, id := range l.res.Campaigns {
		if _, err := l.store.RefreshCampaignCost(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// market is one country the demo audience lives in.
type market struct {
	country, prefix, language string
	digits                    int
	zones                     []string
	share                     float64
	firstNames                []string
}

var markets = []market{
	{"BR", "+55119", "pt_BR", 8, []string{"America/Sao_Paulo"}, 0.30, []string{"Ana", "João", "Mariana", "Pedro", "Beatriz", "Lucas"}},
	{"MX", "+5255", "es_MX", 8, []string{"America/Mexico_City"}, 0.15, []string{"Sofía", "Diego", "Valeria", "Carlos", "Fernanda"}},
	{"CO", "+57310", "es_CO", 7, []string{"America/Bogota"}, 0.08, []string{"Camila", "Andrés", "Laura", "Santiago"}},
	{"IN", "+919", "en_IN", 9, []string{"Asia/Kolkata"}, 0.17, []string{"Priya", "Arjun", "Ananya", "Rahul", "Divya"}},
	{"ID", "+62812", "id_ID", 8, []string{"Asia/Jakarta"}, 0.10, []string{"Putri", "Budi", "Sari", "Agus"}},
	{"GB", "+4474", "en_GB", 8, []string{"Europe/London"}, 0.07, []string{"Olivia", "Harry", "Amelia", "George"}},
	{"DE", "+49151", "de_DE", 8, []string{"Europe/Berlin"}, 0.07, []string{"Lena", "Paul", "Mia", "Jonas"}},
	{"US", "+1212", "en_US", 7, []string{"America/New_York", "America/Chicago", "America/Los_Angeles"}, 0.06, []string{"Emma", "Liam", "Ava", "Noah"}},
}

var lastNames = []string{"Silva", "García", "Sharma", "Santoso", "Smith", "Müller", "Rodríguez", "Oliveira", "Patel", "Johnson"}

var tagPool = []string{"vip", "newsletter", "app_user", "wholesale", "black_friday_2025"}

func (l *loader) pick(m []market) market {
	x := l.rnd.Float64()
	for _, k := range m {
		if x < k.share {
			return k
		}
		x -= k.share
	}
	return m[0]
}

// contacts inserts the audience and returns the ids it made, in order.
func (l *loader) contacts(ctx context.Context) ([]int64, error) {
	db := l.store.DB(ctx)
	seen := map[string]bool{}
	var phones []string
	const chunk = 200
	var vals []string
	var args []any
	flush := func() error {
		if len(vals) == 0 {
			return nil
		}
		err := db.Exec(`INSERT INTO contacts (phone, wa_id, first_name, last_name, country, timezone, language, tags, lifecycle_stage,
			marketing_opt_in, marketing_opt_in_source, marketing_opt_in_at, reachability, reachability_reason, last_active_at,
			total_orders, total_spent, attributes, created_at, updated_at) VALUES `+strings.Join(vals, ", ")+
			" ON CONFLICT (phone) DO NOTHING", args...).Error
		vals, args = vals[:0], args[:0]
		if err != nil {
			return fmt.Errorf("demo: insert contacts: %w", err)
		}
		return nil
	}
	stages := []string{"lead", "new", "active", "active", "active", "at_risk", "churned"}
	for len(phones) < l.opts.Contacts {
		m := l.pick(markets)
		ph := m.prefix + fmt.Sprintf("%0*d", m.digits, l.rnd.IntN(int(math.Pow10(m.digits))))
		if seen[ph] {
			continue
		}
		seen[ph] = true
		phones = append(phones, ph)
		var tags []string
		for _, t := range tagPool {
			if l.rnd.Float64() < 0.15 {
				tags = append(tags, t)
			}
		}
		tagsJSON, _ := json.Marshal(append([]string{}, tags...))
		optIn := l.rnd.Float64() < 0.9
		reach, reason := "reachable", ""
		switch x := l.rnd.Float64(); {
		case x < 0.03:
			reach, reason = "opted_out", "replied STOP"
		case x < 0.05:
			reach, reason = "unreachable", "not on WhatsApp (131026)"
		case x < 0.06:
			reach, reason = "blocked", "blocked the business"
		}
		created := l.now.Add(-time.Duration(30+l.rnd.IntN(330)) * 24 * time.Hour)
		active := l.now.Add(-time.Duration(l.rnd.IntN(60*24)) * time.Hour)
		var optAt any
		source := ""
		if optIn {
			optAt, source = created, "website checkout"
		}
		attrs, _ := json.Marshal(map[string]any{"plan": []string{"free", "plus", "pro"}[l.rnd.IntN(3)]})
		vals = append(vals, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		args = append(args, ph, strings.TrimPrefix(ph, "+"), m.firstNames[l.rnd.IntN(len(m.firstNames))], lastNames[l.rnd.IntN(len(lastNames))],
			m.country, m.zones[l.rnd.IntN(len(m.zones))], m.language, string(tagsJSON), stages[l.rnd.IntN(len(stages))],
			optIn, source, optAt, reach, reason, active, 0, 0, string(attrs), created, created)
		if len(vals) == chunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	var rows []struct {
		ID    int64
		Phone string
	}
	if err := db.Raw("SELECT id, phone FROM contacts WHERE phone IN ?", phones).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("demo: read contacts: %w", err)
	}
	byPhone := make(map[string]int64, len(rows))
	for _, r := range rows {
		byPhone[r.Phone] = r.ID
	}
	ids := make([]int64, 0, len(phones))
	for _, p := range phones {
		if id := byPhone[p]; id != 0 {
			ids = append(ids, id)
		}
	}
	l.res.Contacts = len(ids)
	return ids, nil
}

func (l *loader) price() float64 {
	return math.Round((15+l.rnd.ExpFloat64()*60)*100) / 100
}

// record stores events in batches.
func (l *loader) record(ctx context.Context, events []models.EventInput) error {
	for start := 0; start < len(events); start += 500 {
		if _, err := l.store.RecordEvents(ctx, events[start:min(start+500, len(events))]); err != nil {
			return fmt.Errorf("demo: record events: %w", err)
		}
	}
	l.res.Events += len(events)
	return nil
}

// pastPurchases gives a third of the audience one to four orders in the
// last year, so spend-based segments have members.
func (l *loader) pastPurchases(ctx context.Context, ids []int64) error {
	var events []models.EventInput
	for _, id := range ids {
		if l.rnd.Float64() >= 0.35 {
			continue
		}
		for range 1 + l.rnd.IntN(4) {
			v := l.price() * 3
			events = append(events, models.EventInput{ContactID: id, Name: models.EventPurchase, Value: &v, Currency: "USD",
				OccurredAt: l.now.Add(-time.Duration(24*30+l.rnd.IntN(24*330)) * time.Hour)})
		}
	}
	return l.record(ctx, events)
}

// demoTemplates are the approved templates the campaigns send.
func demoTemplates() []templating.Template {
	first := templating.Variables{Body: []templating.VariableMapping{{Field: "first_name", Fallback: "there"}}}
	ts := []templating.Template{
		{Name: "demo_spring_sale", Language: "en_US", Category: "MARKETING",
			Header: &templating.Header{Type: "text", Text: "Spring sale"},
			Body:   "Hi {{1}}, our spring sale is on: 30% off everything until Sunday.", Footer: "Reply STOP to opt out",
			Buttons: []templating.Button{{Type: "quick_reply", Text: "Show me"}, {Type: "quick_reply", Text: "Stop promotions"}}, Variables: first},
		{Name: "demo_back_in_stock", Language: "en_US", Category: "MARKETING",
			Body:    "Good news {{1}}: the items on your wishlist are back in stock. Want a look before they sell out?",
			Buttons: []templating.Button{{Type: "quick_reply", Text: "Yes, show me"}}, Variables: first},
		{Name: "demo_weekly_newsletter", Language: "en_US", Category: "MARKETING",
			Body:    "Hi {{1}}, this week's picks are ready: new arrivals, staff favourites and a little surprise.",
			Buttons: []templating.Button{{Type: "quick_reply", Text: "See the picks"}}, Variables: first},
	}
	for i := range ts {
		ts[i].Normalize()
	}
	return ts
}

// templates stores the demo templates approved; with a gateway they are
// also submitted to WhatsApp and awaited until approved, so sends succeed.
func (l *loader) templates(ctx context.Context) error {
	for _, t := range demoTemplates() {
		c, err := t.Columns()
		if err != nil {
			return fmt.Errorf("demo: template %s: %w", t.Name, err)
		}
		row := &models.Template{WABAID: l.opts.WABAID, Name: c.Name, Language: c.Language, Category: c.Category,
			ParameterFormat: c.ParameterFormat, Header: c.Header, Body: c.Body, Footer: c.Footer, Buttons: c.Buttons,
			Variables: c.Variables, Status: models.TemplateApproved}
		if l.opts.Gateway != nil {
			res, err := l.opts.Gateway.CreateTemplate(ctx, templating.Definition(t, templating.DefinitionOptions{}))
			if err != nil {
				return fmt.Errorf("demo: submit template %s: %w", t.Name, err)
			}
			row.MetaID = res.ID
		}
		if err := l.store.CreateTemplate(ctx, row); err != nil {
			return fmt.Errorf("demo: store template %s: %w", t.Name, err)
		}
		l.res.Templates = append(l.res.Templates, row.ID)
	}
	if l.opts.Gateway == nil {
		return nil
	}
	// WhatsApp reviews new templates; the simulator approves within seconds.
	deadline := time.Now().Add(time.Minute)
	for {
		list, err := l.opts.Gateway.ListTemplates(ctx)
		if err != nil {
			return fmt.Errorf("demo: list templates: %w", err)
		}
		approved := 0
		for _, t := range list {
			if strings.HasPrefix(t.Name, "demo_") && strings.EqualFold(t.Status, whatsapp.StatusApproved) {
				approved++
			}
		}
		if approved >= len(demoTemplates()) {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("demo: WhatsApp did not approve the demo templates within a minute")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// segment names, in the order segments are created.
const (
	segOptedIn     = "Opted-in customers"
	segBrazilVIPs  = "Brazil VIPs"
	segInactive    = "Inactive 30 days"
	segBigSpenders = "Big spenders"
)

func (l *loader) segments(ctx context.Context) error {
	for _, s := range []struct{ name, rules string }{
		{segOptedIn, `{"all":[{"field":"opt_in","op":"eq","value":true}]}`},
		{segBrazilVIPs, `{"all":[{"field":"country","op":"eq","value":"BR"},{"field":"tags","op":"contains","value":"vip"}]}`},
		{segInactive, `{"all":[{"field":"last_active_at","op":"older_than_days","value":30}]}`},
		{segBigSpenders, `{"all":[{"field":"total_spent","op":"gte","value":300}]}`},
	} {
		seg, err := l.store.CreateSegment(ctx, models.SegmentInput{Name: s.name, Description: "Demo segment", Rules: json.RawMessage(s.rules)})
		if err != nil {
			return fmt.Errorf("demo: segment %s: %w", s.name, err)
		}
		l.res.Segments = append(l.res.Segments, seg.ID)
	}
	return nil
}

// localHabit draws a local hour at which a contact reads: lunch and
// evening peaks, some mornings, little at night; weekends later.
func (l *loader) localHabit(weekend bool) int {
	x := l.rnd.Float64()
	switch {
	case x < 0.30 && !weekend:
		return 12 + l.rnd.IntN(2) // lunch
	case x < 0.62:
		return 19 + l.rnd.IntN(3) // evening
	case x < 0.82:
		if weekend {
			return 10 + l.rnd.IntN(2)
		}
		return 8 + l.rnd.IntN(2) // commute
	}
	return 9 + l.rnd.IntN(14)
}

// newsletter writes last month's weekly newsletter straight into the
// ledger: four weekly issues to the opted-in audience, each contact's on a
// day of its own, with reads at each contact's
// own lunch and evening hours, a few taps, and purchases after some reads.
// Its counters are then rebuilt from those rows.
func (l *loader) newsletter(ctx context.Context, ids []int64) error {
	db := l.store.DB(ctx)
	tmpl := l.res.Templates[2]
	segID := l.res.Segments[0]
	launched := l.now.Add(-28 * 24 * time.Hour)
	camp := &models.Campaign{Name: "Weekly newsletter", TemplateID: &tmpl, SegmentIDs: []int64{segID},
		Schedule: models.Schedule{Type: models.ScheduleNow}, ReentryDays: 0}
	if err := l.store.CreateCampaign(ctx, camp); err != nil {
		return fmt.Errorf("demo: newsletter: %w", err)
	}
	var audience []struct {
		ID       int64
		Phone    string
		Timezone string
	}
	if err := db.Raw(`SELECT id, phone, timezone FROM contacts WHERE id IN ? AND marketing_opt_in AND reachability = 'reachable'
		AND NOT (phone LIKE '+1%')`, ids).Scan(&audience).Error; err != nil {
		return fmt.Errorf("demo: newsletter audience: %w", err)
	}
	var events []models.EventInput
	var vals []string
	var args []any
	flush := func() error {
		if len(vals) == 0 {
			return nil
		}
		err := db.Exec(`INSERT INTO messages (campaign_id, contact_id, template_id, to_phone, category, status, status_reason, send_after,
			sent_at, delivered_at, read_at, tapped_at, failed_at, error_code, created_at, updated_at) VALUES `+strings.Join(vals, ", "), args...).Error
		vals, args = vals[:0], args[:0]
		if err != nil {
			return fmt.Errorf("demo: newsletter ledger: %w", err)
		}
		return nil
	}
	for week := range 4 {
		sendAt := launched.Add(time.Duration(week) * 7 * 24 * time.Hour)
		for _, c := range audience {
			loc, err := time.LoadLocation(c.Timezone)
			if err != nil {
				loc = time.UTC
			}
			// Each contact gets the week's issue on a day of its own.
			sent := sendAt.Add(time.Duration(l.rnd.IntN(6*24*3600)) * time.Second)
			status, reason := models.MessageDelivered, ""
			var delivered, read, tapped, failed any = sent.Add(3 * time.Second), nil, nil, nil
			code := 0
			switch x := l.rnd.Float64(); {
			case x < 0.03:
				status, reason, code, delivered, failed = models.MessageFailed, "Message undeliverable", 131026, nil, sent.Add(2*time.Second)
			case x < 0.70:
				status = models.MessageRead
				// Read at one of the contact's habitual local hours within two days.
				day := sent.In(loc).AddDate(0, 0, l.rnd.IntN(2))
				wd := day.Weekday()
				hour := l.localHabit(wd == time.Saturday || wd == time.Sunday)
				r := time.Date(day.Year(), day.Month(), day.Day(), hour, l.rnd.IntN(60), 0, 0, loc).UTC()
				if r.Before(sent) {
					r = sent.Add(time.Duration(1+l.rnd.IntN(90)) * time.Minute)
				}
				read = r
				if l.rnd.Float64() < 0.22 {
					tapped = r.Add(time.Duration(10+l.rnd.IntN(300)) * time.Second)
				}
				if l.rnd.Float64() < 0.07 {
					v := l.price()
					events = append(events, models.EventInput{ContactID: c.ID, Name: models.EventPurchase, Value: &v, Currency: "USD",
						OccurredAt: r.Add(time.Duration(5+l.rnd.IntN(36*60)) * time.Minute)})
				}
			}
			vals = append(vals, "(?, ?, ?, ?, 'MARKETING', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			args = append(args, camp.ID, c.ID, tmpl, c.Phone, status, reason, sent, sent, delivered, read, tapped, failed, code, sent, sent)
			if len(vals) == 150 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	completed := launched.Add(22 * 24 * time.Hour)
	if err := db.Exec("UPDATE campaigns SET status = 'completed', launched_at = ?, completed_at = ? WHERE id = ?", launched, completed, camp.ID).Error; err != nil {
		return fmt.Errorf("demo: complete newsletter: %w", err)
	}
	if _, err := l.store.RebuildCampaignStats(ctx, camp.ID); err != nil {
		return err
	}
	l.res.Campaigns = append(l.res.Campaigns, camp.ID)
	// Purchases go through attribution like any event from the API.
	return l.record(ctx, events)
}

// liveCampaigns sends an A/B campaign with a holdout and a VIP campaign
// through the simulator, then records purchases by some readers (more by
// those who tapped) and by a few held-out contacts.
func (l *loader) liveCampaigns(ctx context.Context) error {
	spring, stock := l.res.Templates[0], l.res.Templates[1]
	ab := &models.Campaign{Name: "Spring sale A/B", SegmentIDs: []int64{l.res.Segments[3]},
		Variants: []models.Variant{{TemplateID: spring, Share: 50}, {TemplateID: stock, Share: 50}},
		Schedule: models.Schedule{Type: models.ScheduleNow}, HoldoutPercent: 10, ReentryDays: 30}
	vip := &models.Campaign{Name: "VIP early access", TemplateID: &spring, SegmentIDs: []int64{l.res.Segments[1]},
		Schedule: models.Schedule{Type: models.ScheduleNow}, ReentryDays: 30}
	for _, c := range []*models.Campaign{ab, vip} {
		if errs := models.ValidateCampaign(c); len(errs) > 0 {
			return fmt.Errorf("demo: campaign %s: %v: %w", c.Name, errs, models.ErrInvalid)
		}
		if err := l.store.CreateCampaign(ctx, c); err != nil {
			return fmt.Errorf("demo: campaign %s: %w", c.Name, err)
		}
		l.res.Campaigns = append(l.res.Campaigns, c.ID)
		l.step(ctx, "Sending "+c.Name+" through the simulator")
		if err := l.opts.Send(ctx, c.ID); err != nil {
			return fmt.Errorf("demo: send %s: %w", c.Name, err)
		}
	}
	l.step(ctx, "Recording purchases after reads")
	var rows []struct {
		ContactID int64
		Status    string
		ReadAt    models.NullTime
		TappedAt  models.NullTime
	}
	err := l.store.DB(ctx).Raw(`SELECT contact_id, status, read_at, tapped_at FROM messages WHERE campaign_id IN ?
		AND (read_at IS NOT NULL OR status = 'holdout') ORDER BY id`, []int64{ab.ID, vip.ID}).Scan(&rows).Error
	if err != nil {
		return fmt.Errorf("demo: readers: %w", err)
	}
	now := time.Now().UTC()
	var events []models.EventInput
	for _, r := range rows {
		share, at := 0.0, now
		switch {
		case r.Status == models.MessageHoldout:
			share = 0.02
		case r.TappedAt.Valid:
			share, at = 0.35, r.TappedAt.Time
		default:
			share, at = 0.08, r.ReadAt.Time
		}
		if l.rnd.Float64() >= share {
			continue
		}
		occurred := at.Add(time.Duration(1+l.rnd.IntN(20)) * time.Second)
		if occurred.After(now) {
			occurred = now
		}
		v := l.price()
		events = append(events, models.EventInput{ContactID: r.ContactID, Name: models.EventPurchase, Value: &v, Currency: "USD", OccurredAt: occurred})
	}
	return l.record(ctx, events)
}
