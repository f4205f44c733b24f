package jobs_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
	"github.com/heraldhq/herald/whatsapp"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// TestEveryEligibleContactGetsExactlyOneMessage launches a marketing
// campaign over a mixed audience and compares what the simulator received
// with the ledger: one message per eligible contact, none to the others,
// each suppressed contact counted under its reason.
func TestEveryEligibleContactGetsExactlyOneMessage(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, db, quietSim())
			tmpl := f.template("flash_sale", "MARKETING")
			good := f.contacts(eligible(120, 0))
			f.contacts([]contact{
				{phone: "+5511800000001", country: "BR", reachability: "opted_out", optIn: true},
				{phone: "+5511800000002", country: "BR", reachability: "unreachable", optIn: true},
				{phone: "+5511800000003", country: "BR", reachability: "blocked", optIn: true},
				{phone: "+5511800000004", country: "BR", optIn: false},
				{phone: "+12025550100", country: "US", optIn: true},
				{phone: "+5511800000005", country: "BR", optIn: true, tag: "staff"},
			})
			seg := f.segment("")
			exclude := f.segment(`{"all":[{"field":"tags","op":"contains","value":"staff"}]}`)
			c := f.campaign(tmpl, []int64{seg}, func(c *models.Campaign) { c.ExcludeSegmentIDs = []int64{exclude} })

			res, err := f.store.LaunchCampaign(ctx, c.ID, f.now())
			if err != nil {
				t.Fatal(err)
			}
			if res.Targeted != 125 || res.Pending != 120 {
				t.Fatalf("launch targeted %d, pending %d; want 125 and 120", res.Targeted, res.Pending)
			}
			// A second launch is refused, so nobody is snapshotted twice.
			if _, err := f.store.LaunchCampaign(ctx, c.ID, f.now()); err == nil {
				t.Fatal("second launch succeeded")
			}
			e := f.engine("a", jobs.EngineConfig{ClaimBatch: 50, Concurrency: 8})
			f.drain(ctx, e, 1)

			got := f.receivedByOpaque()
			if len(got) != len(good) {
				t.Fatalf("simulator received %d distinct messages, want %d", len(got), len(good))
			}
			sentPhones := map[string]bool{}
			for _, r := range f.sim.Received() {
				sentPhones["+"+r.WAID] = true
				if r.Count != 1 {
					t.Errorf("message %s to %s sent %d times", r.BizOpaque, r.To, r.Count)
				}
				if len(r.BodyParams) != 1 || r.BodyParams[0] != "Ana" {
					t.Errorf("body params %v, want [Ana]", r.BodyParams)
				}
			}
			reasons := map[string]int{}
			for _, row := range f.ledger(c.ID) {
				switch row.Status {
				case models.MessageSent, models.MessageDelivered, models.MessageRead:
					if got[row.ID] != 1 || row.WAMID == nil {
						t.Errorf("ledger row %d is %s but the simulator got it %d times (wamid %v)", row.ID, row.Status, got[row.ID], row.WAMID)
					}
				case models.MessageSkipped:
					reasons[row.StatusReason]++
					if sentPhones[row.ToPhone] {
						t.Errorf("skipped contact %s (%s) was messaged", row.ToPhone, row.StatusReason)
					}
				default:
					t.Errorf("row %d ended %s (%s)", row.ID, row.Status, row.StatusReason)
				}
			}
			want := map[string]int{"opted_out": 1, "unreachable": 1, "blocked": 1, "no_consent": 1, "us_marketing": 1}
			for k, v := range want {
				if reasons[k] != v {
					t.Errorf("skipped %s: %d, want %d (all: %v)", k, reasons[k], v, reasons)
				}
			}
			st := f.checkCounters(c.ID)
			if st.Sent != 120 || st.Suppressed() != 5 || st.Queued != 0 {
				t.Errorf("funnel %+v", st)
			}
			if _, err := f.store.CompleteFinishedCampaigns(ctx); err != nil {
				t.Fatal(err)
			}
			after, _ := f.store.Campaign(ctx, c.ID)
			if after.Status != models.CampaignCompleted {
				t.Errorf("campaign is %s, want completed", after.Status)
			}
		})
	}
}

// TestHoldoutAndVariantsAreDeterministic checks the holdout share receives
// nothing and that holdout and variant assignment repeat for a contact.
func TestHoldoutAndVariantsAreDeterministic(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, db, quietSim())
			a, b := f.template("variant_a", "MARKETING"), f.template("variant_b", "MARKETING")
			f.contacts(eligible(400, 0))
			seg := f.segment("")
			c := f.campaign(a, []int64{seg}, func(c *models.Campaign) {
				c.HoldoutPercent = 20
				c.Variants = []models.Variant{{TemplateID: a, Share: 50}, {TemplateID: b, Share: 50}}
			})
			est, err := f.store.EstimateCampaign(ctx, c, f.now())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.store.LaunchCampaign(ctx, c.ID, f.now()); err != nil {
				t.Fatal(err)
			}
			rows := f.ledger(c.ID)
			holdout, variants := 0, map[int]int{}
			for _, r := range rows {
				if r.Status == models.MessageHoldout {
					holdout++
				} else {
					variants[r.Variant]++
				}
			}
			if holdout < 40 || holdout > 120 || int64(holdout) != est.Holdout {
				t.Fatalf("holdout %d of 400 (estimate %d); want about 20%% and equal to the estimate", holdout, est.Holdout)
			}
			if variants[0] < 100 || variants[1] < 100 {
				t.Fatalf("variant split %v, want about half each", variants)
			}
			e := f.engine("a", jobs.EngineConfig{})
			f.drain(ctx, e, 1)
			got := f.receivedByOpaque()
			byTemplate := map[string]int{}
			for _, r := range f.sim.Received() {
				byTemplate[r.Template]++
			}
			for _, r := range f.ledger(c.ID) {
				if r.Status == models.MessageHoldout && got[r.ID] > 0 {
					t.Errorf("holdout contact %d was messaged", r.ContactID)
				}
			}
			if byTemplate["variant_a"] != variants[0] || byTemplate["variant_b"] != variants[1] {
				t.Errorf("sent per template %v, ledger variants %v", byTemplate, variants)
			}
			// The same campaign computed again puts everyone in the same place.
			again, err := f.store.EstimateCampaign(ctx, c, f.now())
			if err != nil {
				t.Fatal(err)
			}
			if again.Holdout != est.Holdout {
				t.Errorf("holdout changed between computations: %d then %d", est.Holdout, again.Holdout)
			}
			f.checkCounters(c.ID)
		})
	}
}

// TestLocalTimeAndQuietHours checks send_after per contact time zone.
func TestLocalTimeAndQuietHours(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, db, quietSim())
			tmpl := f.template("reminder", "MARKETING")
			zones := []string{"Asia/Tokyo", "America/New_York", "Europe/London", "", "Not/AZone"}
			var list []contact
			for i, z := range zones {
				list = append(list, contact{phone: "+551190000000" + string(rune('0'+i)), country: "BR", timezone: z, optIn: true})
			}
			ids := f.contacts(list)
			seg := f.segment("")
			// 12:00 UTC: 21:00 in Tokyo and 07:00 in New York are quiet;
			// London (12:00) and UTC contacts are not.
			now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
			c := f.campaign(tmpl, []int64{seg}, func(c *models.Campaign) { c.RespectQuietHours = true })
			res, err := f.store.LaunchCampaign(ctx, c.ID, now)
			if err != nil {
				t.Fatal(err)
			}
			tokyo, _ := time.LoadLocation("Asia/Tokyo")
			ny, _ := time.LoadLocation("America/New_York")
			want := map[int64]time.Time{
				ids[0]: time.Date(2026, 3, 11, 9, 0, 0, 0, tokyo).UTC(),
				ids[1]: time.Date(2026, 3, 10, 9, 0, 0, 0, ny).UTC(),
				ids[2]: now, ids[3]: now, ids[4]: now,
			}
			if res.Deferred != 2 {
				t.Errorf("deferred %d, want 2", res.Deferred)
			}
			for _, r := range f.ledger(c.ID) {
				if !r.SendAfter.Time.Equal(want[r.ContactID]) {
					t.Errorf("quiet hours: contact %d send_after %s, want %s", r.ContactID, r.SendAfter.Time, want[r.ContactID])
				}
			}

			// Local time: 10:00 on 2026-03-12 in each zone; contacts without
			// a valid zone use the campaign's zone.
			lt := f.campaign(tmpl, []int64{seg}, func(c *models.Campaign) {
				c.Schedule = models.Schedule{Type: models.ScheduleLocalTime, Date: "2026-03-12", Time: "10:00"}
				c.Timezone = "America/Sao_Paulo"
			})
			if _, err := f.store.LaunchCampaign(ctx, lt.ID, now); err != nil {
				t.Fatal(err)
			}
			sp, _ := time.LoadLocation("America/Sao_Paulo")
			london, _ := time.LoadLocation("Europe/London")
			wantLocal := map[int64]time.Time{
				ids[0]: time.Date(2026, 3, 12, 10, 0, 0, 0, tokyo).UTC(),
				ids[1]: time.Date(2026, 3, 12, 10, 0, 0, 0, ny).UTC(),
				ids[2]: time.Date(2026, 3, 12, 10, 0, 0, 0, london).UTC(),
				ids[3]: time.Date(2026, 3, 12, 10, 0, 0, 0, sp).UTC(),
				ids[4]: time.Date(2026, 3, 12, 10, 0, 0, 0, sp).UTC(),
			}
			for _, r := range f.ledger(lt.ID) {
				if !r.SendAfter.Time.Equal(wantLocal[r.ContactID]) {
					t.Errorf("local time: contact %d send_after %s, want %s", r.ContactID, r.SendAfter.Time, wantLocal[r.ContactID])
				}
			}
		})
	}
}

// TestFrequencyCapDeadlineAndPriorityLane checks the rules applied at claim time.
func TestFrequencyCapDeadlineAndPriorityLane(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, db, quietSim())
			tmpl := f.template("promo", "MARKETING")
			ids := f.contacts(eligible(6, 0))
			capped := ids[:3]
			seg := f.segment("")
			// Two earlier marketing messages this week for the first three.
			earlier := f.campaign(tmpl, []int64{seg}, nil)
			for _, id := range capped {
				for k := range 2 {
					err := f.store.DB(ctx).Exec(`INSERT INTO messages (campaign_id, contact_id, to_phone, category, status, send_after, sent_at, created_at, updated_at)
						VALUES (?, ?, '', 'MARKETING', 'sent', ?, ?, ?, ?)`, earlier.ID, id, f.now(), f.now().Add(-time.Duration(k+1)*24*time.Hour), f.now(), f.now()).Error
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			c := f.campaign(tmpl, []int64{seg}, func(c *models.Campaign) { c.FrequencyCap = true })
			// The same audience in the priority lane ignores the cap.
			lane := f.campaign(tmpl, []int64{seg}, func(c *models.Campaign) { c.FrequencyCap = true; c.Priority = 10 })
			deadline := f.now().Add(time.Minute)
			late := f.campaign(tmpl, []int64{seg}, func(c *models.Campaign) { c.Deadline = &deadline })
			for _, id := range []int64{c.ID, lane.ID, late.ID} {
				if _, err := f.store.LaunchCampaign(ctx, id, f.now()); err != nil {
					t.Fatal(err)
				}
			}
			f.offset.Store(int64(2 * time.Minute)) // past the deadline
			e := f.engine("a", jobs.EngineConfig{})
			// Pair rate defers the second message to a contact by 6 s; the
			// hourly clock steps in drain let those come due.
			f.drain(ctx, e, 3)

			st := f.checkCounters(c.ID)
			if st.SkippedFrequencyCapped != 3 || st.Sent != 3 {
				t.Errorf("capped campaign: %+v; want 3 capped, 3 sent", st)
			}
			if st := f.checkCounters(lane.ID); st.Sent != 6 {
				t.Errorf("priority lane: %+v; want all 6 sent", st)
			}
			if st := f.checkCounters(late.ID); st.Expired != 6 || st.Sent != 0 {
				t.Errorf("deadline: %+v; want all 6 expired", st)
			}
			// Priority first: every lane message went out before any of the capped campaign's.
			var laneLast, otherFirst models.NullTime
			f.store.DB(ctx).Raw("SELECT MAX(sent_at) FROM messages WHERE campaign_id = ?", lane.ID).Scan(&laneLast)
			f.store.DB(ctx).Raw("SELECT MIN(sent_at) FROM messages WHERE campaign_id = ? AND sent_at IS NOT NULL", c.ID).Scan(&otherFirst)
			if laneLast.Time.After(otherFirst.Time) {
				t.Errorf("priority lane finished %s, after the broadcast began %s", laneLast.Time, otherFirst.Time)
			}
		})
	}
}

// TestCronRunsOnce ticks the scheduler twice and from two goroutines: one
// run per due time; a later run reaches only contacts new to the campaign.
func TestCronRunsOnce(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, db, quietSim())
			tmpl := f.template("winback", "MARKETING")
			f.contacts(eligible(5, 0))
			seg := f.segment("")
			c := f.campaign(tmpl, []int64{seg}, func(c *models.Campaign) {
				c.Schedule = models.Schedule{Type: models.ScheduleCron, Cron: "0 10 * * *", Timezone: "America/Sao_Paulo"}
			})
			start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) // 09:00 in São Paulo
			if _, err := f.store.LaunchCampaign(ctx, c.ID, start); err != nil {
				t.Fatal(err)
			}
			first := time.Date(2026, 5, 1, 13, 0, 0, 0, time.UTC) // 10:00 São Paulo
			got, _ := f.store.Campaign(ctx, c.ID)
			if got.NextRunAt == nil || !got.NextRunAt.Equal(first) {
				t.Fatalf("next run %v, want %s", got.NextRunAt, first)
			}
			tick := first.Add(30 * time.Second)
			var wg sync.WaitGroup
			var mu sync.Mutex
			launched := 0
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					runs, err := f.store.LaunchDueRuns(ctx, tick)
					if err != nil {
						t.Error(err)
					}
					mu.Lock()
					launched += len(runs)
					mu.Unlock()
				}()
			}
			wg.Wait()
			if launched != 1 {
				t.Fatalf("%d runs launched for one due time, want 1", launched)
			}
			runs, _ := f.store.CampaignRuns(ctx, c.ID)
			if len(runs) != 1 || runs[0].Targeted != 5 {
				t.Fatalf("runs %+v", runs)
			}
			// Next day: two new contacts match; the five earlier ones are
			// within the re-entry period.
			f.contacts(eligible(2, 100))
			if _, err := f.store.LaunchDueRuns(ctx, first.Add(24*time.Hour)); err != nil {
				t.Fatal(err)
			}
			runs, _ = f.store.CampaignRuns(ctx, c.ID)
			if len(runs) != 2 || runs[0].Targeted != 2 {
				t.Fatalf("second run %+v, want 2 new contacts", runs)
			}
			f.checkCounters(c.ID)
		})
	}
}

// TestTwoInstancesShareOneCampaign runs two engines on one Postgres at once.
func TestTwoInstancesShareOneCampaign(t *testing.T) {
	t.Parallel()
	db := testdb.Postgres(t)
	ctx := context.Background()
	f := newFixture(t, db, quietSim())
	tmpl := f.template("shared", "UTILITY")
	f.contacts(eligible(1500, 0))
	seg := f.segment("")
	c := f.campaign(tmpl, []int64{seg}, nil)
	if _, err := f.store.LaunchCampaign(ctx, c.ID, f.now()); err != nil {
		t.Fatal(err)
	}
	// A second store on the same schema: a second process.
	other, err := models.Open(ctx, db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	a := f.engine("instance-a", jobs.EngineConfig{ClaimBatch: 100, Concurrency: 8})
	b := jobs.NewEngine(other, jobs.StaticSenders{Client: f.client}, "instance-b", jobs.EngineConfig{ClaimBatch: 100, Concurrency: 8})
	waitIdleAll(t, ctx, a, b, a, b)
	got := f.receivedByOpaque()
	if len(got) != 1500 {
		t.Fatalf("simulator received %d distinct messages, want 1500", len(got))
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("message %d sent %d times", id, n)
		}
	}
	st := f.checkCounters(c.ID)
	if st.Sent != 1500 {
		t.Errorf("sent %d, want 1500", st.Sent)
	}
}

// TestFaultsEndInAKnownState injects 5xx answers, dropped connections and
// the throughput cap: every message ends sent, failed with a reason, or
// unknown, and nothing known to be sent is sent again.
func TestFaultsEndInAKnownState(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg := quietSim()
			// The throttle runs a little above the simulator's cap, so some
			// sends meet 130429 as well as the injected faults.
			cfg.MPS = 100
			cfg.Faults = simulator.Faults{Error5xxShare: 0.06, DropShare: 0.04}
			f := newFixture(t, db, cfg)
			tmpl := f.template("faulty", "UTILITY")
			f.contacts(eligible(300, 0))
			seg := f.segment("")
			c := f.campaign(tmpl, []int64{seg}, nil)
			if _, err := f.store.LaunchCampaign(ctx, c.ID, f.now()); err != nil {
				t.Fatal(err)
			}
			e := jobs.NewEngine(f.store, jobs.StaticSenders{Client: f.client, Limits: jobs.SenderLimits{Rate: 130}}, "a",
				jobs.EngineConfig{Concurrency: 16, Now: f.now})
			f.drain(ctx, e, 12)

			got := f.receivedByOpaque()
			counts := map[string]int{}
			for _, r := range f.ledger(c.ID) {
				counts[r.Status]++
				switch r.Status {
				case models.MessageSent, models.MessageDelivered, models.MessageRead:
					if got[r.ID] != 1 {
						t.Errorf("sent message %d reached the simulator %d times", r.ID, got[r.ID])
					}
				case models.MessageFailed:
					if testing.Verbose() {
						t.Logf("failed %d: %s", r.ID, r.StatusReason)
					}
					if r.StatusReason == "" {
						t.Errorf("message %d failed without a reason", r.ID)
					}
				case models.MessageUnknown:
					if got[r.ID] > 1 {
						t.Errorf("unknown message %d was resent", r.ID)
					}
				default:
					t.Errorf("message %d ended %s", r.ID, r.Status)
				}
			}
			for _, r := range f.sim.Received() {
				if r.Count > 1 {
					t.Errorf("duplicate send of %s", r.BizOpaque)
				}
			}
			if counts[models.MessageUnknown] == 0 || counts[models.MessageSent]+counts[models.MessageDelivered] < 240 {
				t.Errorf("outcomes %v: want most sent and the dropped ones unknown", counts)
			}
			f.checkCounters(c.ID)
		})
	}
}

// blockingSender sends the first n messages through the real client, then
// hangs like a process that was killed mid-request.
type blockingSender struct {
	mu      sync.Mutex
	n       int
	hung    int
	client  *whatsapp.Client
	release chan struct{}
}

func (b *blockingSender) hanging() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.hung
}

func (b *blockingSender) Send(ctx context.Context, m whatsapp.Message) (whatsapp.SendResult, error) {
	b.mu.Lock()
	b.n--
	pass := b.n >= 0
	if !pass {
		b.hung++
	}
	b.mu.Unlock()
	if pass {
		return b.client.Send(ctx, m)
	}
	<-b.release
	return whatsapp.SendResult{}, whatsapp.ErrNotSent
}

// TestCrashMidSendThenRescue abandons a worker in the middle of a round
// (claimed and sending rows left behind, as after kill -9); a new engine
// and the rescuer finish the campaign with exactly one send per contact,
// except messages whose outcome became unknown.
func TestCrashMidSendThenRescue(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, db, quietSim())
			tmpl := f.template("crash", "UTILITY")
			f.contacts(eligible(300, 0))
			seg := f.segment("")
			c := f.campaign(tmpl, []int64{seg}, nil)
			if _, err := f.store.LaunchCampaign(ctx, c.ID, f.now()); err != nil {
				t.Fatal(err)
			}
			hung := &blockingSender{n: 70, client: f.client, release: make(chan struct{})}
			dead := jobs.NewEngine(f.store, jobs.StaticSenders{Client: hung}, "dead", jobs.EngineConfig{ClaimBatch: 200, Concurrency: 8, Now: f.now})
			go func() { _, _ = dead.SendRound(ctx) }()
			// Wait until the dead worker hangs: every slot it has is stuck in
			// a request, and its writer flushed what did come back.
			deadline := time.Now().Add(10 * time.Second)
			var sending int64
			for stable := 0; stable < 5 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				f.store.DB(ctx).Raw("SELECT COUNT(*) FROM messages WHERE status = 'sending'").Scan(&sending)
				if h := hung.hanging(); h > 0 && int64(h) == sending {
					stable++
				} else {
					stable = 0
				}
			}
			inFlight := hung.hanging()
			if inFlight == 0 || int64(inFlight) != sending {
				t.Fatalf("dead worker: %d requests hung, %d rows sending", inFlight, sending)
			}

			f.offset.Store(int64(10 * time.Minute)) // the stale thresholds pass
			fresh := f.engine("fresh", jobs.EngineConfig{})
			res, err := fresh.Rescue(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.Unknown != int64(inFlight) || res.Returned == 0 {
				t.Fatalf("rescue %+v: want the %d hung sends unknown and the rest of the claims returned", res, inFlight)
			}
			f.drain(ctx, fresh, 1)
			close(hung.release) // the dead worker wakes; its late writes must change nothing

			got := f.receivedByOpaque()
			unknown := 0
			for _, r := range f.ledger(c.ID) {
				switch r.Status {
				case models.MessageUnknown:
					unknown++
					if got[r.ID] > 1 {
						t.Errorf("unknown message %d sent %d times", r.ID, got[r.ID])
					}
				case models.MessageSent:
					if got[r.ID] != 1 {
						t.Errorf("message %d sent %d times", r.ID, got[r.ID])
					}
				default:
					t.Errorf("message %d ended %s", r.ID, r.Status)
				}
			}
			if unknown != inFlight {
				t.Errorf("%d unknown, want %d", unknown, inFlight)
			}
			time.Sleep(100 * time.Millisecond)
			f.checkCounters(c.ID)
		})
	}
}

// TestTemplateErrorPausesCampaign: the simulator does not know the
// template (132001), so the campaign pauses with the reason and keeps its
// messages queued.
func TestTemplateErrorPausesCampaign(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, db, quietSim())
			f.template("known", "UTILITY")
			var tmplID int64
			f.store.DB(ctx).Raw("SELECT id FROM templates WHERE name = 'known'").Scan(&tmplID)
			f.store.DB(ctx).Exec("UPDATE templates SET name = 'unknown_at_meta' WHERE id = ?", tmplID)
			f.contacts(eligible(50, 0))
			seg := f.segment("")
			c := f.campaign(tmplID, []int64{seg}, nil)
			if _, err := f.store.LaunchCampaign(ctx, c.ID, f.now()); err != nil {
				t.Fatal(err)
			}
			e := f.engine("a", jobs.EngineConfig{Concurrency: 4})
			if err := e.WaitIdle(ctx); err != nil {
				t.Fatal(err)
			}
			got, _ := f.store.Campaign(ctx, c.ID)
			if got.Status != models.CampaignPaused || got.StatusReason == "" {
				t.Fatalf("campaign %s (%q), want paused with a reason", got.Status, got.StatusReason)
			}
			st := f.checkCounters(c.ID)
			if st.Queued != 50 || st.Failed != 0 {
				t.Errorf("after pause %+v: want all 50 still queued", st)
			}
		})
	}
}

// TestPairRateAcrossWorkers sends two campaigns to the same audience from
// four workers of one instance at once, in batches small enough that the
// two messages of a recipient land in different workers' batches: none
// may reach a recipient within Meta's pair-rate window of the other.
func TestPairRateAcrossWorkers(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, db, quietSim())
			tmpl := f.template("update", "UTILITY")
			f.contacts(eligible(40, 0))
			seg := f.segment("")
			for range 2 {
				c := f.campaign(tmpl, []int64{seg}, nil)
				if _, err := f.store.LaunchCampaign(ctx, c.ID, f.now()); err != nil {
					t.Fatal(err)
				}
			}
			e := f.engine("a", jobs.EngineConfig{ClaimBatch: 7})
			waitIdleAll(t, ctx, e, e, e, e)
			f.drain(ctx, e, 2)
			var rows []struct {
				ContactID int64
				Sends     int64
				Gap       float64
			}
			q := "SELECT contact_id, COUNT(*) AS sends, EXTRACT(EPOCH FROM MAX(sent_at) - MIN(sent_at)) AS gap FROM messages WHERE sent_at IS NOT NULL GROUP BY contact_id"
			if db.Name == "sqlite" {
				q = "SELECT contact_id, COUNT(*) AS sends, (julianday(MAX(sent_at)) - julianday(MIN(sent_at))) * 86400 AS gap FROM messages WHERE sent_at IS NOT NULL GROUP BY contact_id"
			}
			if err := f.store.DB(ctx).Raw(q).Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			if len(rows) != 40 {
				t.Fatalf("%d recipients got messages, want 40", len(rows))
			}
			for _, r := range rows {
				if r.Sends != 2 || r.Gap < 6 {
					t.Errorf("contact %d: %d messages %.1f s apart; want 2, at least 6 s apart", r.ContactID, r.Sends, r.Gap)
				}
			}
		})
	}
}

// TestLargeLaunchRefreshesLedgerStatistics: after a launch of more than
// ledgerStatsAfter recipients the ledger is analysed at once, and Herald's
// Postgres sessions run without JIT. Without both, the claims of a fresh
// campaign are planned from stale statistics (a sort of every pending row,
// or 100 ms of JIT compilation per claim), which `make bench` shows as a
// send rate falling as the campaign goes on.
func TestLargeLaunchRefreshesLedgerStatistics(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testdb.Postgres(t), quietSim())
	ctx := context.Background()
	var jit string
	if err := f.store.DB(ctx).Raw("SHOW jit").Scan(&jit).Error; err != nil || jit != "off" {
		t.Fatalf("jit = %q (err %v), want off", jit, err)
	}
	analyses := func() int64 {
		var n int64
		err := f.store.DB(ctx).Raw(`SELECT analyze_count FROM pg_stat_user_tables
			WHERE relname = 'messages' AND schemaname = current_schema()`).Scan(&n).Error
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	f.manyContacts("5511", 10_500, true)
	before := analyses()
	c := f.campaign(f.template("stats", "UTILITY"), []int64{f.segment("")}, nil)
	res, err := f.store.LaunchCampaign(ctx, c.ID, f.now())
	if err != nil {
		t.Fatal(err)
	}
	if res.Pending != 10_500 {
		t.Fatalf("launched %d pending, want 10500", res.Pending)
	}
	if after := analyses(); after != before+1 {
		t.Fatalf("messages analysed %d times by the launch, want once", after-before)
	}
}

// TestCampaignReasonsAreExactOrSharedWhenLarge: the campaign page's errors
// by reason count the ledger's unsent rows; a small campaign's are counted
// on every call, a large one's (reasonsCountedFrom unsent rows) once per
// sharedCountTTL, so 200 viewers of a 1M campaign do not each group its
// skipped rows.
func TestCampaignReasonsAreExactOrSharedWhenLarge(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		noConsent int
		shared    bool
	}{{"small", 3, false}, {"large", 20_000, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, testdb.Postgres(t), quietSim())
			ctx := context.Background()
			f.contacts(eligible(2, 1))
			f.manyContacts("5521", tc.noConsent, false)
			c := f.campaign(f.template("reasons_"+tc.name, "MARKETING"), []int64{f.segment("")}, nil)
			if _, err := f.store.LaunchCampaign(ctx, c.ID, f.now()); err != nil {
				t.Fatal(err)
			}
			skipped := func() (n int64) {
				t.Helper()
				reasons, err := f.store.CampaignReasons(ctx, c.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range reasons {
					if r.Status == models.MessageSkipped {
						n += r.Count
					}
				}
				return n
			}
			if got := skipped(); got != int64(tc.noConsent) {
				t.Fatalf("skipped %d, want %d (no consent)", got, tc.noConsent)
			}
			// One more recipient ends skipped; a shared count does not see it yet.
			err := f.store.DB(ctx).Exec(`UPDATE messages SET status = 'skipped', status_reason = 'test'
				WHERE id = (SELECT MIN(id) FROM messages WHERE campaign_id = ? AND status = 'pending')`, c.ID).Error
			if err != nil {
				t.Fatal(err)
			}
			want := int64(tc.noConsent) + 1
			if tc.shared {
				want--
			}
			if got := skipped(); got != want {
				t.Fatalf("after one more skip: %d, want %d", got, want)
			}
		})
	}
}
