package handlers

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// keyLimits holds one token bucket per API key (HERALD_API_RATE), so one
// integration in a loop cannot starve the others or the UI. The buckets
// live in this process: with several instances each allows the rate.
type keyLimits struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[int64]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	used time.Time
}

func newKeyLimits(perSecond float64, burst int) *keyLimits {
	if perSecond <= 0 {
		perSecond, burst = 50, 100
	}
	return &keyLimits{rate: rate.Limit(perSecond), burst: max(burst, 1), buckets: map[int64]*bucket{}}
}

// take spends one token of key's bucket; when none is left it returns how
// long until one is.
func (k *keyLimits) take(key int64, now time.Time) (bool, time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.buckets[key]
	if b == nil {
		if len(k.buckets) > 10_000 { // drop idle buckets (they are full again anyway)
			for id, old := range k.buckets {
				if now.Sub(old.used) > time.Minute {
					delete(k.buckets, id)
				}
			}
		}
		b = &bucket{lim: rate.NewLimiter(k.rate, k.burst)}
		k.buckets[key] = b
	}
	b.used = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// apiRateLimit answers 429 with Retry-After once a key's bucket is empty.
// It runs after requireAPIKey, so it knows the key.
func (h *Handlers) apiRateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		k := currentAPIKey(c)
		if k == nil || h.apiLimits == nil {
			return next(c)
		}
		ok, wait := h.apiLimits.take(k.ID, time.Now())
		c.Response().Header().Set("X-RateLimit-Limit", strconv.FormatFloat(float64(h.apiLimits.rate), 'f', -1, 64))
		if !ok {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			return apiErr(http.StatusTooManyRequests, "rate_limited",
				"Too many requests for this API key; retry after "+strconv.Itoa(int(math.Ceil(wait.Seconds())))+" s.")
		}
		return next(c)
	}
}
