package simulator

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/heraldhq/herald/whatsapp"
)

type eventKind int

const (
	evStatus         eventKind = iota // one status, batched with its neighbours
	evChange                          // a whole change value (inbound message, template update…)
	evTemplateReview                  // decide a PENDING template
	evTap                             // a user opens a URL button
	evPost                            // a prepared webhook body being retried
)

// event is something the simulated Meta does at a given time.
type event struct {
	due  time.Time
	seq  uint64
	kind eventKind

	status     map[string]any // evStatus
	field      string         // evChange
	value      map[string]any // evChange
	inboundFor string         // evChange of an inbound message: wa_id whose window opens
	templateID string         // evTemplateReview
	tap        URLTap         // evTap
	body       []byte         // evPost
	attempt    int            // evPost
}

type eventHeap []*event

func (h eventHeap) Len() int { return len(h) }
func (h eventHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h eventHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *eventHeap) Push(x any)   { *h = append(*h, x.(*event)) }
func (h *eventHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// eventQueue orders events by due time, then by insertion, so a message's
// sent, delivered and read keep their order even when all are due at once.
type eventQueue struct {
	mu       sync.Mutex
	h        eventHeap
	seq      uint64
	inflight int
	wake     chan struct{}
}

func newEventQueue() *eventQueue { return &eventQueue{wake: make(chan struct{}, 1)} }

func (q *eventQueue) push(e *event) {
	q.mu.Lock()
	q.seq++
	e.seq = q.seq
	heap.Push(&q.h, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// popDue removes every event due at now and marks them in flight; it also
// returns the next due time when nothing is due.
func (q *eventQueue) popDue(now time.Time) ([]*event, time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []*event
	for len(q.h) > 0 && !q.h[0].due.After(now) {
		out = append(out, heap.Pop(&q.h).(*event))
	}
	q.inflight += len(out)
	if len(out) == 0 && len(q.h) > 0 {
		return nil, q.h[0].due, true
	}
	return out, time.Time{}, false
}

func (q *eventQueue) finish(n int) {
	q.mu.Lock()
	q.inflight -= n
	q.mu.Unlock()
}

func (q *eventQueue) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.h) + q.inflight
}

func (q *eventQueue) clear() {
	q.mu.Lock()
	q.h = nil
	q.mu.Unlock()
}

// WaitIdle blocks until no webhook, tap or review is pending or in flight
// (retries included), or ctx ends. With TimeScale 0 it is how tests wait
// for every consequence of their sends.
func (s *Server) WaitIdle(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.queue.pending() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("simulator: wait idle: %d events pending: %w", s.queue.pending(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// dispatch is the background loop: pop due events, deliver them, sleep.
func (s *Server) dispatch(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		evs, next, has := s.queue.popDue(time.Now())
		if len(evs) > 0 {
			s.deliver(ctx, evs)
			s.queue.finish(len(evs))
			continue
		}
		wait := time.Hour
		if has {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.queue.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// deliver sends due events in order, batching consecutive statuses into one
// POST as Meta does.
func (s *Server) deliver(ctx context.Context, evs []*event) {
	var batch []any
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if s.dropUnsent() {
			batch = nil
			return
		}
		value := s.messagesValue()
		value["statuses"] = batch
		s.post(ctx, s.envelope(whatsapp.FieldMessages, value), 0)
		batch = nil
	}
	for _, e := range evs {
		if ctx.Err() != nil {
			return
		}
		switch e.kind {
		case evStatus:
			batch = append(batch, e.status)
			if len(batch) >= s.cfg.WebhookBatchSize {
				flush()
			}
		case evChange:
			flush()
			if e.inboundFor != "" {
				s.mu.Lock()
				s.windows[e.inboundFor] = time.Now()
				s.mu.Unlock()
			}
			if !s.dropUnsent() {
				s.post(ctx, s.envelope(e.field, e.value), 0)
			}
		case evTemplateReview:
			flush()
			s.review(e.templateID)
		case evTap:
			flush()
			s.openURL(ctx, e.tap)
		case evPost:
			flush()
			s.post(ctx, e.body, e.attempt)
		}
	}
	flush()
}

func (s *Server) messagesValue() map[string]any {
	return map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]string{"display_phone_number": s.cfg.DisplayPhone, "phone_number_id": s.cfg.PhoneNumberID},
	}
}

// envelope wraps a change value into a notification body, serialized the
// way Meta does: non-ASCII characters as \uXXXX escapes. A receiver that
// re-serializes before checking the signature fails, as it would in production.
func (s *Server) envelope(field string, value map[string]any) []byte {
	n := map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{
			"id":      s.cfg.WABAID,
			"time":    time.Now().Unix(),
			"changes": []any{map[string]any{"field": field, "value": value}},
		}},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(n) // maps of strings, numbers and slices always encode
	return asciiJSON(bytes.TrimSpace(buf.Bytes()))
}

// asciiJSON rewrites every non-ASCII rune of a JSON text as \uXXXX escapes
// (surrogate pairs beyond the BMP); outside strings JSON is ASCII already.
func asciiJSON(b []byte) []byte {
	var out bytes.Buffer
	for _, r := range string(b) {
		switch {
		case r < 0x80:
			out.WriteRune(r)
		case r > 0xFFFF:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	return out.Bytes()
}

// dropUnsent counts a webhook dropped, as post would, when no webhook URL is
// set, without building its body first: a benchmark's 100k statuses with no
// receiver would otherwise spend a tenth of the process's CPU encoding JSON
// nobody reads.
func (s *Server) dropUnsent() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhookURL != "" {
		return false
	}
	s.stats.WebhookDropped++
	return true
}

// post delivers one webhook body, signed; a non-200 answer schedules a retry
// with exponential backoff, up to WebhookMaxAttempts.
func (s *Server) post(ctx context.Context, body []byte, attempt int) {
	s.mu.Lock()
	target := s.webhookURL
	if target == "" {
		s.stats.WebhookDropped++
		s.mu.Unlock()
		return
	}
	s.stats.WebhookPosts++
	s.mu.Unlock()

	err := s.postOnce(ctx, target, body)
	if err == nil {
		return
	}
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	s.stats.WebhookFailures++
	giveUp := attempt+1 >= s.cfg.WebhookMaxAttempts
	if giveUp {
		s.stats.WebhookDropped++
	}
	s.mu.Unlock()
	if giveUp {
		s.cfg.Logger.Error("simulator: webhook dropped after retries", "url", target, "attempts", attempt+1, "err", err)
		return
	}
	wait := s.cfg.WebhookRetryBase << min(attempt, 20)
	wait = min(wait, s.cfg.WebhookRetryMax)
	s.cfg.Logger.Warn("simulator: webhook failed, will retry", "url", target, "attempt", attempt+1, "in", wait, "err", err)
	s.queue.push(&event{due: time.Now().Add(wait), kind: evPost, body: body, attempt: attempt + 1})
}

func (s *Server) postOnce(ctx context.Context, target string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign(body, s.cfg.AppSecret))
	req.Header.Set("User-Agent", "facebookexternalua")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
