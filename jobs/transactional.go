package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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

// RegisterPriorityLane adds the priority-lane worker: goroutines that claim
// only priority messages (transactional API sends), so a broadcast batch a
// send worker already holds never delays them. It polls every second as a
// safety net; the API wakes it.
func (e *Engine) RegisterPriorityLane(r *Runner, goroutines int) error {
	return r.Worker(PriorityWorker, goroutines, time.Second, e.PriorityRound)
}

// PriorityRound claims due priority messages and sends them ahead of the
// broadcasts sharing their sender. Each message takes its token from the
// sender's limiter up front, in one go for the whole batch: a broadcast
// chunk waits on the limiter one token at a time, so the lane's tokens are
// placed before any the broadcast asks for next, and at most the tokens
// broadcasts already reserved (one per send goroutine) come first. The
// sender's rate overall is kept; the broadcast slows by what the lane uses.
func (e *Engine) PriorityRound(ctx context.Context) (bool, error) {
	claimed, err := e.store.ClaimPriority(ctx, e.instance, priorityBatch, e.cfg.Now())
	if err != nil || len(claimed) == 0 {
		return false, err
	}
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
		return false, err
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
			return false, err
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
			return true, err
		}
	}
	// A full batch may have left more behind; otherwise a message queued
	// meanwhile has woken the lane again (Runner.WakeOne), so looking again
	// now would mostly find nothing.
	return len(claimed) == priorityBatch, nil
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
