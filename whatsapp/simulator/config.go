// Package simulator is an in-process fake of Meta's WhatsApp Cloud API: an
// http.Handler for the send, template and phone-number endpoints plus a
// background dispatcher that posts signed webhooks (statuses, replies,
// template verdicts) the way Meta does. Every recipient's fate is derived
// from a hash of (seed, phone), so runs are reproducible.
//
// It is used by `make run` (no Meta account needed), by Herald's tests and
// by the benchmarks. It imports only the whatsapp package, whose template
// rules it enforces.
package simulator

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
)

// Config describes the simulated WABA and its behaviour.
type Config struct {
	Seed          int64  // drives per-recipient outcomes, fault rolls and wamids
	Token         string // the only accepted bearer token
	AppSecret     string // signs webhooks (X-Hub-Signature-256)
	WABAID        string
	PhoneNumberID string
	DisplayPhone  string // digits, e.g. 15550001111
	VerifiedName  string
	// Phone-number health reported by GET /{phone-number-id}.
	QualityRating      string // GREEN, YELLOW, RED
	ThroughputLevel    string // STANDARD, HIGH
	MessagingLimitTier string // TIER_250 …

	WebhookURL string // may be set later with SetWebhookURL; empty = webhooks are dropped

	// TimeScale multiplies the realistic delays (sent ~1 s, delivered 2-5 s,
	// read within ~30 s, taps within ~60 s). 0 = immediate, for tests.
	TimeScale float64
	// ApprovalDelay is how long a new template stays PENDING.
	ApprovalDelay time.Duration

	Outcomes Outcomes
	// MPS is the messages-per-second cap per sender number; 0 = unlimited.
	MPS    int
	Faults Faults

	// WebhookBatchSize caps statuses per webhook POST (Meta batches up to 1000).
	WebhookBatchSize int
	// WebhookRetryBase is the first retry wait after a non-200 webhook answer;
	// it doubles up to WebhookRetryMax. WebhookMaxAttempts then gives up.
	WebhookRetryBase   time.Duration
	WebhookRetryMax    time.Duration
	WebhookMaxAttempts int

	// URLTapHosts lists hosts (host or host:port) the simulated users may
	// open when they tap a URL button. Loopback hosts and the webhook URL's
	// host are always allowed; any other tap is recorded but not fetched,
	// so the simulator never reaches the internet.
	URLTapHosts []string

	Logger *slog.Logger // default slog.Default()
}

// Outcomes are the shares of simulated user behaviour, each in [0,1].
type Outcomes struct {
	NotOnWhatsApp float64 `json:"not_on_whatsapp"` // of all recipients: async failed 131026
	MarketingCap  float64 `json:"marketing_cap"`   // of all recipients: MARKETING sends fail 131049
	Read          float64 `json:"read"`            // of delivered recipients
	// The next three are shares of readers and exclude each other.
	TapQuickReply float64 `json:"tap_quick_reply"` // inbound "button" message with the payload
	TapURL        float64 `json:"tap_url"`         // HTTP GET of the button's final URL
	ReplyStop     float64 `json:"reply_stop"`      // inbound text "STOP" replying to the message
}

// Faults injects failures into POST /messages. Shares are in [0,1] and are
// rolled in order: Error5xxShare, then DropShare, then SlowShare.
type Faults struct {
	// Error5xxShare answers HTTP 500 with a Meta 131000 body; the message is
	// refused and not recorded.
	Error5xxShare float64 `json:"error_5xx_share"`
	// DropShare accepts and records the message, then closes the connection
	// without answering: the client cannot know it was sent.
	DropShare float64 `json:"drop_share"`
	// SlowShare accepts and records the message, then waits SlowDelay
	// before answering (long enough and the client times out).
	SlowShare float64       `json:"slow_share"`
	SlowDelay time.Duration `json:"-"`
}

type faultsJSON struct {
	Error5xxShare float64 `json:"error_5xx_share"`
	DropShare     float64 `json:"drop_share"`
	SlowShare     float64 `json:"slow_share"`
	SlowDelay     string  `json:"slow_delay"`
}

// MarshalJSON writes SlowDelay as a duration string ("2s").
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{f.Error5xxShare, f.DropShare, f.SlowShare, f.SlowDelay.String()})
}

// UnmarshalJSON reads SlowDelay as a duration string.
func (f *Faults) UnmarshalJSON(data []byte) error {
	var w faultsJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*f = Faults{Error5xxShare: w.Error5xxShare, DropShare: w.DropShare, SlowShare: w.SlowShare}
	if w.SlowDelay != "" {
		d, err := time.ParseDuration(w.SlowDelay)
		if err != nil {
			return fmt.Errorf("slow_delay: %w", err)
		}
		f.SlowDelay = d
	}
	return nil
}

func (f Faults) validate() error {
	for name, v := range map[string]float64{"error_5xx_share": f.Error5xxShare, "drop_share": f.DropShare, "slow_share": f.SlowShare} {
		if v < 0 || v > 1 {
			return fmt.Errorf("simulator: %s must be within [0,1], got %v", name, v)
		}
	}
	if f.SlowDelay < 0 {
		return fmt.Errorf("simulator: slow_delay must not be negative")
	}
	return nil
}

// DefaultConfig is a fresh WABA for demos: one sender number, the
// hello_world template, realistic timings and a small share of every outcome.
func DefaultConfig() Config {
	return Config{
		Seed:               1,
		Token:              "sim-token",
		AppSecret:          "sim-app-secret",
		WABAID:             "2000000001",
		PhoneNumberID:      "1000000001",
		DisplayPhone:       "15550001111",
		VerifiedName:       "Herald Demo",
		QualityRating:      "GREEN",
		ThroughputLevel:    "STANDARD",
		MessagingLimitTier: "TIER_250",
		TimeScale:          1,
		ApprovalDelay:      3 * time.Second,
		Outcomes: Outcomes{
			NotOnWhatsApp: 0.03, MarketingCap: 0.02, Read: 0.7,
			TapQuickReply: 0.1, TapURL: 0.15, ReplyStop: 0.02,
		},
		MPS:                80,
		Faults:             Faults{SlowDelay: 5 * time.Second},
		WebhookBatchSize:   100,
		WebhookRetryBase:   time.Second,
		WebhookRetryMax:    time.Minute,
		WebhookMaxAttempts: 10,
	}
}

// withDefaults fills zero fields that have no meaningful zero value.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Token == "" {
		c.Token = d.Token
	}
	if c.AppSecret == "" {
		c.AppSecret = d.AppSecret
	}
	if c.WABAID == "" {
		c.WABAID = d.WABAID
	}
	if c.PhoneNumberID == "" {
		c.PhoneNumberID = d.PhoneNumberID
	}
	if c.DisplayPhone == "" {
		c.DisplayPhone = d.DisplayPhone
	}
	if c.VerifiedName == "" {
		c.VerifiedName = d.VerifiedName
	}
	if c.QualityRating == "" {
		c.QualityRating = d.QualityRating
	}
	if c.ThroughputLevel == "" {
		c.ThroughputLevel = d.ThroughputLevel
	}
	if c.MessagingLimitTier == "" {
		c.MessagingLimitTier = d.MessagingLimitTier
	}
	if c.WebhookBatchSize <= 0 {
		c.WebhookBatchSize = d.WebhookBatchSize
	}
	if c.WebhookRetryBase <= 0 {
		c.WebhookRetryBase = d.WebhookRetryBase
	}
	if c.WebhookRetryMax <= 0 {
		c.WebhookRetryMax = d.WebhookRetryMax
	}
	if c.WebhookMaxAttempts <= 0 {
		c.WebhookMaxAttempts = d.WebhookMaxAttempts
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
