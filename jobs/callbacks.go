package jobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/heraldhq/herald/models"
)

// CallbacksWorker is the name of the worker that POSTs status callbacks.
const CallbacksWorker = "callbacks"

// CallbackSignatureHeader carries "sha256=<hex HMAC-SHA256 of the body>",
// like Meta's X-Hub-Signature-256.
const CallbackSignatureHeader = "X-Herald-Signature-256"

// CallbackConfig tunes the callback sender; zero fields take the defaults.
type CallbackConfig struct {
	// Secret is the HMAC key (cmd/herald derives it from HERALD_SECRET).
	Secret []byte
	// MaxAttempts before a delivery is given up; default 10.
	MaxAttempts int
	// BaseDelay is the wait after the first failure, doubled after each
	// next one up to MaxDelay; defaults 30 s and 2 h (10 attempts span
	// about four and a half hours).
	BaseDelay, MaxDelay time.Duration
	// Batch is how many deliveries a round takes; default 50.
	Batch int
	// Timeout bounds one POST; default 10 s.
	Timeout time.Duration
	Client  *http.Client
	Now     func() time.Time
	Log     *slog.Logger
}

func (c CallbackConfig) withDefaults() CallbackConfig {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	if c.BaseDelay <= 0 {
		c.BaseDelay = 30 * time.Second
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 2 * time.Hour
	}
	if c.Batch <= 0 {
		c.Batch = 50
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: c.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Callbacks tells API callers about their messages' status changes: it
// turns ledger changes into durable deliveries (models.QueueCallbacks) and
// POSTs them signed, retrying with exponential backoff. It also clears
// one-time passwords of messages that left the queue through the broadcast
// workers rather than the priority lane.
type Callbacks struct {
	store *models.Store
	cfg   CallbackConfig
}

// NewCallbacks builds the callback sender.
func NewCallbacks(store *models.Store, cfg CallbackConfig) *Callbacks {
	return &Callbacks{store: store, cfg: cfg.withDefaults()}
}

// Register adds the worker; it polls every second, so a status change is
// reported within about a second.
func (cb *Callbacks) Register(r *Runner) error {
	return r.Worker(CallbacksWorker, 1, time.Second, cb.Round)
}

// SignCallback returns the signature header value of body under secret.
func SignCallback(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Round queues deliveries for changed messages and sends the due ones.
func (cb *Callbacks) Round(ctx context.Context) (bool, error) {
	now := cb.cfg.Now()
	if _, err := cb.store.ClearSentSecrets(ctx, nil); err != nil {
		return false, err
	}
	queued, err := cb.store.QueueCallbacks(ctx, cb.cfg.Batch, now)
	if err != nil {
		return false, err
	}
	due, err := cb.store.ClaimCallbacks(ctx, cb.cfg.Batch, cb.cfg.Timeout+time.Minute, now)
	if err != nil {
		return false, err
	}
	var wg sync.WaitGroup
	results := make([]models.CallbackAttempt, len(due))
	sem := make(chan struct{}, 8)
	for i, d := range due {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			results[i] = cb.deliver(ctx, d)
		}()
	}
	wg.Wait()
	wctx := context.WithoutCancel(ctx)
	for _, a := range results {
		if err := cb.store.FinishCallback(wctx, a, cb.cfg.Now()); err != nil {
			return false, err
		}
	}
	return queued == cb.cfg.Batch || len(due) == cb.cfg.Batch, nil
}

// deliver POSTs one delivery and decides what comes next.
func (cb *Callbacks) deliver(ctx context.Context, d models.CallbackDelivery) models.CallbackAttempt {
	a := models.CallbackAttempt{ID: d.ID}
	body := []byte(d.Payload)
	rctx, cancel := context.WithTimeout(ctx, cb.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Herald-Callbacks/1")
		req.Header.Set(CallbackSignatureHeader, SignCallback(cb.cfg.Secret, body))
		req.Header.Set("X-Herald-Delivery", strconv.FormatInt(d.ID, 10))
		req.Header.Set("X-Herald-Attempt", strconv.Itoa(d.Attempts))
		var res *http.Response
		if res, err = cb.cfg.Client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
			res.Body.Close()
			a.HTTPStatus = res.StatusCode
			if res.StatusCode >= 200 && res.StatusCode < 300 {
				return a
			}
			err = fmt.Errorf("answered %s", res.Status)
		}
	}
	a.Error = err.Error()
	if d.Attempts < cb.cfg.MaxAttempts {
		a.Retry = cb.cfg.Now().Add(cb.backoff(d.Attempts))
	} else {
		cb.cfg.Log.Warn("callback given up", "delivery", d.ID, "message", d.MessageID, "attempts", d.Attempts, "err", err)
	}
	return a
}

// backoff is the wait after the n-th failed attempt (n from 1).
func (cb *Callbacks) backoff(n int) time.Duration {
	d := cb.cfg.BaseDelay
	for i := 1; i < n && d < cb.cfg.MaxDelay; i++ {
		d *= 2
	}
	return min(d, cb.cfg.MaxDelay)
}
