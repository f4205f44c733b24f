package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// Defaults used when Config leaves a field empty.
const (
	DefaultBaseURL    = "https://graph.facebook.com"
	DefaultAPIVersion = "v23.0"
	DefaultTimeout    = 30 * time.Second
)

// maxResponseBytes bounds how much of an answer is read; Graph answers for
// these endpoints are small, template lists are paged.
const maxResponseBytes = 8 << 20

// Config holds one sender's credentials and the transport settings.
type Config struct {
	BaseURL       string // e.g. https://graph.facebook.com or the simulator's URL; default DefaultBaseURL
	APIVersion    string // e.g. v23.0; default DefaultAPIVersion
	Token         string // system-user access token
	PhoneNumberID string // sender's phone-number ID (send, phone info)
	WABAID        string // WhatsApp Business Account ID (templates)
	HTTPClient    *http.Client
	Timeout       time.Duration // per request; default DefaultTimeout
}

// Client calls the Cloud API for one sender number and its WABA. It is safe
// for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
}

// NewClient returns a Client with defaults filled in.
func NewClient(cfg Config) *Client {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{cfg: cfg, http: hc}
}

// Config returns the effective configuration (with defaults applied).
func (c *Client) Config() Config { return c.cfg }

// endpoint builds BaseURL/version/path?query.
func (c *Client) endpoint(path string, q url.Values) string {
	u := c.cfg.BaseURL + "/" + c.cfg.APIVersion + "/" + strings.TrimLeft(path, "/")
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// do performs one Graph call and decodes a 200 answer into out. Its errors
// tell apart the three situations a sender must treat differently:
//   - *Error: Meta answered with its error body (refused, or failed by code);
//   - ErrNotSent: the request never fully left this process;
//   - ErrOutcomeUnknown: the request was written and the answer is missing
//     or unreadable, so Meta may have acted on it.
func (c *Client) do(ctx context.Context, method, rawURL string, body any, out any) error {
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("%w: encode body: %v", ErrInvalidMessage, err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	// wrote becomes true once the whole request is on the wire: from then on
	// a failure means "maybe processed".
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				wrote.Store(true)
			}
		},
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, rawURL, bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("%w: build request: %v", ErrInvalidMessage, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	req.Header.Set("Accept", "application/json")
	// No Idempotency-Key header on purpose: with it, net/http would treat the
	// POST as idempotent and could replay it after a network error, which is
	// exactly the blind resend this package must avoid.

	resp, err := c.http.Do(req)
	if err != nil {
		if wrote.Load() {
			return fmt.Errorf("%w: %s %s: %w", ErrOutcomeUnknown, method, req.URL.Path, err)
		}
		return fmt.Errorf("%w: %s %s: %w", ErrNotSent, method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		if resp.StatusCode == http.StatusOK || resp.StatusCode >= 500 {
			return fmt.Errorf("%w: %s %s: read answer: %w", ErrOutcomeUnknown, method, req.URL.Path, err)
		}
		return fmt.Errorf("whatsapp: %s %s: read error answer (HTTP %d): %w", method, req.URL.Path, resp.StatusCode, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			// Meta accepted something we cannot read: treat as unknown so the
			// message is not sent twice.
			return fmt.Errorf("%w: %s %s: decode answer: %v", ErrOutcomeUnknown, method, req.URL.Path, err)
		}
		return nil
	}
	if me := parseMetaError(resp.StatusCode, data); me != nil {
		return me
	}
	he := &HTTPError{StatusCode: resp.StatusCode, Body: string(data)}
	if resp.StatusCode >= 500 {
		return fmt.Errorf("%w: %w", ErrOutcomeUnknown, he)
	}
	return he
}

// parseMetaError returns the Meta error in data, or nil if data is not one.
func parseMetaError(status int, data []byte) *Error {
	var env metaErrorEnvelope
	if err := json.Unmarshal(data, &env); err != nil || env.Error == nil {
		return nil
	}
	e := env.Error
	if e.Code == 0 && e.Message == "" && e.Type == "" {
		return nil
	}
	msg := e.Message
	if msg == "" {
		msg = e.Title
	}
	return &Error{
		HTTPStatus: status, Code: e.Code, Subcode: e.ErrorSubcode, Type: e.Type,
		Message: msg, Details: e.ErrorData.Details, FBTraceID: e.FBTraceID,
	}
}
