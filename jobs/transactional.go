package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
)

// PriorityWorker is the name of the priority-lane worker; the messages API
// wakes it after queuing a message, so the message leaves at once.
const PriorityWorker = "send-priority"

// priorityBatch bounds a lane round: transactional traffic is small and
// each message should leave as soon as it is queued, not wait for a batch.
const priorityBatch = 50

// priorityDBClaimEvery bounds how long the lane goes without claiming from
// the ledger while its inbox keeps it busy: rows queued by another
// instance, retries and pair-rate deferrals are only found there.
const priorityDBClaimEvery = time.Second

// RegisterPriorityLane adds the priority-lane worker: goroutines that claim
// only priority messages (transactional API sends), so a broadcast batch a
// send worker already holds never delays them. The API hands it what it
// queues, already claimed, through the runner's PriorityInbox and wakes one
// goroutine. The lane claims from the ledger when woken by Runner.Wake
// (something was queued there), and at least every second.
func (e *Engine) RegisterPriorityLane(r *Runner, goroutines int) error {
	inbox := &PriorityInbox{instance: e.instance}
	if err := r.Worker(PriorityWorker, goroutines, time.Second, func(ctx context.Context) (bool, error) {
		return e.priorityRound(ctx, inbox)
	}); err != nil {
		return err
	}
	r.setPriorityInbox(inbox)
	return nil
}

// nudgePriority makes the priority lane claim from the ledger: a message was
// queued there, not handed over in memory.
func (r *Runner) nudgePriority() {
	if in := r.PriorityInbox(); in != nil {
		in.nudge()
	}
}

// PriorityInbox passes messages the API just queued, claimed for this
// instance, to the priority lane in memory: no claim round trip, and no
// broadcast worker can take them into a 500-row batch first.
type PriorityInbox struct {
	instance string

	mu     sync.Mutex
	msgs   []models.ClaimedMessage
	closed bool
	lastDB time.Time // last claim from the ledger
	// ledger says a message may be waiting in the ledger (Runner.Wake, or
	// one the API queued unclaimed): the next round claims from it.
	ledger bool
}

// inboxLimit bounds the messages waiting in memory; past it the API queues
// messages unclaimed and the lane finds them in the ledger.
const inboxLimit = 5000

// ClaimFor is the instance an API message may be queued claimed for, or ""
// when it must be queued unclaimed: no lane runs here (nil inbox), the
// runner is stopping, or the inbox is full.
func (in *PriorityInbox) ClaimFor() string {
	if in == nil {
		return ""
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed || len(in.msgs) >= inboxLimit {
		return ""
	}
	return in.instance
}

// Give hands a message queued claimed for this instance to the lane. After
// the inbox closed (the runner stopped), it puts the claim back instead.
func (in *PriorityInbox) Give(ctx context.Context, store *models.Store, m models.ClaimedMessage) error {
	in.mu.Lock()
	if !in.closed {
		in.msgs = append(in.msgs, m)
		in.mu.Unlock()
		return nil
	}
	in.mu.Unlock()
	return store.ReleaseClaims(ctx, in.instance, []int64{m.ID})
}

// nudge says the ledger may hold a message for the lane now.
func (in *PriorityInbox) nudge() {
	in.mu.Lock()
	in.ledger = true
	in.mu.Unlock()
}

// take removes up to n messages; dbDue tells whether the lane should also
// look in the ledger now: nudged, or not done for priorityDBClaimEvery. A
// wake whose message another goroutine already took so costs nothing.
func (in *PriorityInbox) take(n int, now time.Time) (out []models.ClaimedMessage, dbDue bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	k := min(n, len(in.msgs))
	out = append(out, in.msgs[:k]...)
	in.msgs = in.msgs[k:]
	if len(in.msgs) == 0 {
		in.msgs = nil // let the backing array go
	}
	dbDue = in.ledger || now.Sub(in.lastDB) >= priorityDBClaimEvery
	if dbDue {
		in.lastDB, in.ledger = now, false
	}
	return out, dbDue
}

// close stops accepting messages and returns those still waiting, whose
// claims the runner puts back.
func (in *PriorityInbox) close() []int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	ids := make([]int64, len(in.msgs))
	for i, m := range in.msgs {
		ids[i] = m.ID
	}
	in.msgs = nil
	return ids
}

// priorityRound is the lane worker's round: messages handed over in memory
// first, then those due in the ledger.
func (e *Engine) priorityRound(ctx context.Context, inbox *PriorityInbox) (bool, error) {
	claimed, dbDue := inbox.take(priorityBatch, time.Now())
	if dbDue && len(claimed) < priorityBatch {
		more, err := e.store.ClaimPriority(ctx, e.instance, priorityBatch-len(claimed), e.cfg.Now())
		if err != nil {
			e.release(context.WithoutCancel(ctx), claimed)
			return false, err
		}
		claimed = append(claimed, more...)
	}
	if len(claimed) == 0 {
		return false, nil
	}
	if err := e.sendPriority(ctx, claimed); err != nil {
		return true, err
	}
	// A full batch may have left more behind; otherwise a message queued
	// meanwhile has woken the lane again (Runner.WakeOne), so looking again
	// now would mostly find nothing.
	return len(claimed) == priorityBatch, nil
}

// PriorityRound claims due priority messages from the ledger and sends them
// ahead of the broadcasts sharing their sender (the lane's round without
// its inbox).
func (e *Engine) PriorityRound(ctx context.Context) (bool, error) {
	claimed, err := e.store.ClaimPriority(ctx, e.instance, priorityBatch, e.cfg.Now())
	if err != nil || len(claimed) == 0 {
		return false, err
	}
	if err := e.sendPriority(ctx, claimed); err != nil {
		return true, err
	}
	return len(claimed) == priorityBatch, nil
}

// sendPriority sends claimed priority messages. Each message takes its
// token from the sender's limiter up front, in one go for the whole batch:
// a broadcast chunk waits on the limiter one token at a time, so the lane's
// tokens are placed before any the broadcast asks for next, and at most the
// tokens broadcasts already reserved (one per send goroutine) come first.
// The sender's rate overall is kept; the broadcast slows by what the lane
// uses.
func (e *Engine) sendPriority(ctx context.Context, claimed []models.ClaimedMessage) error {
	slices.SortStableFunc(claimed, func(a, b models.ClaimedMessage) int {
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		return compareInt(a.ID, b.ID)
	})
	wctx := context.WithoutCancel(ctx)
	jobs, err := e.prepare(ctx, wctx, claimed)
	if err != nil {
		e.release(wctx, claimed)
		return err
	}
	// Reserve every token now, then send each message at its token's time.
	now := time.Now()
	type slot struct {
		at time.Time
		j  *job
	}
	slots := make([]slot, 0, len(jobs))
	for _, j := range jobs {
		at := now
		if l := j.limiter; l != nil && l.Limit() != rate.Inf {
			at = now.Add(l.ReserveN(now, 1).DelayFrom(now))
		}
		j.limiter = nil // paced here, not in dispatch
		slots = append(slots, slot{at: at, j: j})
	}
	slices.SortStableFunc(slots, func(a, b slot) int { return a.at.Compare(b.at) })
	for start := 0; start < len(slots); {
		if wait := time.Until(slots[start].at); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		end := start
		wave := []*job{}
		for end < len(slots) && !slots[end].at.After(time.Now()) {
			wave = append(wave, slots[end].j)
			end++
		}
		if len(wave) == 0 { // ctx ended while waiting: hand the rest back
			wave = append(wave, slots[start].j)
			end = start + 1
		}
		if err := e.dispatch(ctx, wctx, wave); err != nil {
			// The rest never left: end their holds and claims.
			rest := make([]*job, 0, len(slots)-end)
			for _, sl := range slots[end:] {
				rest = append(rest, sl.j)
			}
			e.unhold(rest)
			e.release(wctx, jobMessages(rest))
			return err
		}
		start = end
	}
	// One-time passwords are not needed once their message left the queue
	// (sent, failed or expired here); rows still pending keep theirs. Only
	// authentication messages carry one, so most rounds skip the write.
	var ids []int64
	for _, m := range claimed {
		if hasOTP(m.Params) {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) > 0 {
		if _, err := e.store.ClearSentSecrets(wctx, ids); err != nil {
			return err
		}
	}
	return nil
}

// hasOTP tells whether a message's stored parameters are an authentication
// template's, whose one-time password is sealed beside them.
func hasOTP(params string) bool {
	if !strings.Contains(params, `"otp"`) {
		return false
	}
	var p struct {
		OTP bool `json:"otp"`
	}
	return json.Unmarshal([]byte(params), &p) == nil && p.OTP
}

// renderTransactional builds the payload of an API message from the
// parameters the call gave (stored with the message) and, for an
// authentication template, the sealed one-time password.
func (e *Engine) renderTransactional(ctx context.Context, j *job, te *templateEntry, contact models.SendContact) error {
	m := j.msg
	var p templating.SendParams
	if m.Params != "" && m.Params != "{}" {
		if err := json.Unmarshal([]byte(m.Params), &p); err != nil {
			return fmt.Errorf("message %d params: %w", m.ID, err)
		}
	}
	code := ""
	if p.OTP {
		var err error
		if code, err = e.store.MessageSecret(ctx, m.ID); err != nil {
			return err
		}
		if code == "" {
			return fmt.Errorf("message %d: its one-time password is gone", m.ID)
		}
	}
	tmpl, values := te.tmpl.WithParams(p, code)
	msg, comps, err := templating.Render(tmpl, templatingContact(contact), values)
	if err != nil {
		// Never include the values in the error: one may be a code.
		return fmt.Errorf("render template %s: %w", te.tmpl.Name, templating.ErrMissingValue)
	}
	j.finish(te, msg, comps)
	return nil
}
