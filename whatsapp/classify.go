package whatsapp

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"
)

// Action is what a campaign sender must do after a failed send.
type Action int

// The actions, from the least to the most disruptive. The zero value
// ActionNone is returned for a nil error.
const (
	ActionNone Action = iota
	// ActionRetry: try the same message again after Backoff (see Delay).
	ActionRetry
	// ActionRetryNextDay: per-user marketing cap; try this recipient again no
	// sooner than Backoff (24 h).
	ActionRetryNextDay
	// ActionSuppressContact: the contact cannot be reached; mark it
	// unreachable for every category.
	ActionSuppressContact
	// ActionSuppressMarketing: the contact stopped marketing messages; suppress
	// it for marketing only, until a user_preferences "resume".
	ActionSuppressMarketing
	// ActionFixTemplate: the template or payload is wrong; every recipient will
	// fail the same way, so pause the campaign and show Reason to the user.
	ActionFixTemplate
	// ActionPauseTemplate: the template is paused by Meta; pause the campaign
	// until the template is APPROVED again, then resume on its own.
	ActionPauseTemplate
	// ActionStopSender: the sender number, token or WABA cannot send; stop
	// every send through it and alert an operator.
	ActionStopSender
	// ActionDrop: give up on this message without retrying; keep the contact.
	ActionDrop
	// ActionSendTemplateInstead: free-form message outside the customer
	// service window; only a template can be sent.
	ActionSendTemplateInstead
	// ActionUnknownOutcome: the request may have reached Meta; do not resend,
	// wait for a status webhook or reconcile by hand.
	ActionUnknownOutcome
)

var actionNames = [...]string{
	ActionNone:                "none",
	ActionRetry:               "retry",
	ActionRetryNextDay:        "retry_next_day",
	ActionSuppressContact:     "suppress_contact",
	ActionSuppressMarketing:   "suppress_marketing",
	ActionFixTemplate:         "fix_template",
	ActionPauseTemplate:       "pause_template",
	ActionStopSender:          "stop_sender",
	ActionDrop:                "drop",
	ActionSendTemplateInstead: "send_template_instead",
	ActionUnknownOutcome:      "unknown_outcome",
}

// String returns a stable snake_case name, suitable for logs and database columns.
func (a Action) String() string {
	if a < 0 || int(a) >= len(actionNames) {
		return "unknown"
	}
	return actionNames[a]
}

// Scope says which traffic a retry wait applies to, so a sender slows down
// exactly what Meta throttled and nothing more.
type Scope int

// The scopes of a Classification.
const (
	ScopeMessage   Scope = iota // only this message
	ScopeRecipient              // every message to this recipient (pair rate limit)
	ScopeSender                 // every message from this sender number (throughput)
	ScopeAccount                // every Graph call for this app or WABA
)

// Classification is the decision for one error: the action, how long to wait
// before retrying (for retry actions), and a human-readable reason.
type Classification struct {
	Action  Action
	Backoff time.Duration // first wait for ActionRetry / ActionRetryNextDay
	// MaxAttempts caps retries for errors Meta calls transient but that may be
	// persistent (e.g. 131000); 0 means no cap beyond the sender's own.
	MaxAttempts int
	Scope       Scope
	Reason      string
}

// Delay returns the wait before retry number attempt (0-based): Backoff
// multiplied by 4^attempt, as Meta suggests for rate limits, capped at one
// hour (24 h for ActionRetryNextDay, which never grows).
func (c Classification) Delay(attempt int) time.Duration {
	if c.Action == ActionRetryNextDay {
		return c.Backoff
	}
	d := c.Backoff
	for i := 0; i < attempt && d < time.Hour; i++ {
		d *= 4
	}
	return min(d, time.Hour)
}

// classificationTable is THE table: every error code in the reference
// (section 4, plus the codes named under it) mapped to the sender's reaction.
// Codes 200-299 are handled in Classify as a range.
var classificationTable = map[int]Classification{
	0:      {Action: ActionStopSender, Reason: "authentication problem (AuthException); check the access token"},
	1:      {Action: ActionRetry, Backoff: 30 * time.Second, MaxAttempts: 5, Reason: "unknown Graph API fault"},
	2:      {Action: ActionRetry, Backoff: 30 * time.Second, MaxAttempts: 5, Reason: "temporary Graph API fault"},
	3:      {Action: ActionStopSender, Reason: "app lacks the capability for this call"},
	4:      {Action: ActionRetry, Backoff: time.Minute, Scope: ScopeAccount, Reason: "app-level Graph API rate limit reached; slow all Graph calls"},
	10:     {Action: ActionStopSender, Reason: "permission denied for this app"},
	100:    {Action: ActionFixTemplate, Reason: "invalid parameter in the request (bug in the payload)"},
	190:    {Action: ActionStopSender, Reason: "access token expired or invalid; rotate the token"},
	368:    {Action: ActionStopSender, Reason: "WhatsApp Business Account restricted for policy violations"},
	80007:  {Action: ActionRetry, Backoff: 5 * time.Minute, Scope: ScopeAccount, Reason: "WABA rate limit on management calls reached"},
	130429: {Action: ActionRetry, Backoff: time.Second, Scope: ScopeSender, Reason: "sender number throughput (messages per second) exceeded"},
	130472: {Action: ActionDrop, Reason: "recipient is part of a Meta marketing experiment; message not sent"},
	131000: {Action: ActionRetry, Backoff: 30 * time.Second, MaxAttempts: 3, Reason: "unknown error at Meta"},
	131005: {Action: ActionStopSender, Reason: "access denied: the token lacks a permission"},
	131008: {Action: ActionFixTemplate, Reason: "a required parameter is missing"},
	131009: {Action: ActionFixTemplate, Reason: "a parameter value is invalid"},
	131016: {Action: ActionRetry, Backoff: 30 * time.Second, Reason: "WhatsApp service temporarily unavailable"},
	131026: {Action: ActionSuppressContact, Reason: "undeliverable: not on WhatsApp, outdated app, terms not accepted, or the user blocked you"},
	131031: {Action: ActionStopSender, Reason: "business account locked"},
	131042: {Action: ActionStopSender, Reason: "payment or eligibility problem on the WABA"},
	131045: {Action: ActionStopSender, Reason: "sender number registration or certificate problem"},
	131047: {Action: ActionSendTemplateInstead, Reason: "more than 24 h since the user's last message; only templates are allowed"},
	131048: {Action: ActionStopSender, Reason: "spam rate limit: the number is restricted after blocks or reports; check quality"},
	131049: {Action: ActionRetryNextDay, Backoff: 24 * time.Hour, Reason: "per-user marketing cap (healthy ecosystem engagement); retry no sooner than 24 h"},
	131050: {Action: ActionSuppressMarketing, Reason: "the user stopped marketing messages from you"},
	131051: {Action: ActionFixTemplate, Reason: "unsupported message type"},
	131052: {Action: ActionDrop, Reason: "media sent by the user could not be downloaded"},
	131053: {Action: ActionFixTemplate, Reason: "media could not be fetched or uploaded; fix the asset"},
	131056: {Action: ActionRetry, Backoff: time.Second, Scope: ScopeRecipient, Reason: "pair rate limit: too many messages to this user; back off for this user only"},
	131057: {Action: ActionRetry, Backoff: time.Minute, Scope: ScopeSender, Reason: "account in maintenance (e.g. throughput upgrade)"},
	// 131063 blocks marketing only, so pausing the campaign (not the whole
	// sender) keeps utility and authentication traffic flowing.
	131063: {Action: ActionFixTemplate, Reason: "marketing templates are disabled on Cloud API for this WABA; use the Marketing Messages API"},
	131064: {Action: ActionStopSender, Reason: "messaging limit reached because of template classification violations"},
	132000: {Action: ActionFixTemplate, Reason: "number of parameters does not match the template's variables"},
	132001: {Action: ActionFixTemplate, Reason: "template does not exist in this language or is not approved; re-sync templates"},
	132005: {Action: ActionFixTemplate, Reason: "text too long after parameter substitution; shorten the values"},
	132007: {Action: ActionFixTemplate, Reason: "content breaks WhatsApp policy"},
	132008: {Action: ActionFixTemplate, Reason: "parameter format is wrong"},
	132012: {Action: ActionFixTemplate, Reason: "parameter format does not match the template's format"},
	132015: {Action: ActionPauseTemplate, Reason: "template paused for low quality; wait until it is APPROVED again"},
	132016: {Action: ActionFixTemplate, Reason: "template disabled permanently; create a new template"},
	133010: {Action: ActionStopSender, Reason: "sender number not registered with Cloud API"},
	133016: {Action: ActionRetry, Backoff: time.Hour, Scope: ScopeSender, Reason: "too many registration attempts; retry later"},
	137000: {Action: ActionSuppressContact, Reason: "identity key mismatch; suppress until the user is re-verified"},
}

// ClassifiedCodes returns every code with an explicit table entry, so tests
// and documentation can walk the table.
func ClassifiedCodes() []int {
	codes := make([]int, 0, len(classificationTable))
	for c := range classificationTable {
		codes = append(codes, c)
	}
	return codes
}

// Classify maps a Cloud API error code (synchronous error.code or a failed
// status's errors[].code) to the sender's action. Unknown codes are dropped
// without retry: retrying an error nobody understands risks spam, and
// suppressing would lose the contact.
func Classify(code int) Classification {
	if c, ok := classificationTable[code]; ok {
		return c
	}
	if code >= 200 && code <= 299 {
		return Classification{Action: ActionStopSender, Reason: "permission error; check the token's permissions"}
	}
	return Classification{Action: ActionDrop, Reason: "unclassified error code"}
}

// ClassifyError classifies any error returned by Client: Meta errors by code,
// ErrOutcomeUnknown as ActionUnknownOutcome, ErrNotSent and connection
// failures before sending as ActionRetry, context cancellation as ActionRetry
// (nothing was decided by Meta), ErrInvalidMessage as ActionFixTemplate.
func ClassifyError(err error) Classification {
	if err == nil {
		return Classification{Action: ActionNone}
	}
	// Outcome-unknown wins over everything: a wrapped Meta body cannot occur
	// with it, and resending would be the one unsafe reaction.
	if errors.Is(err, ErrOutcomeUnknown) {
		return Classification{Action: ActionUnknownOutcome, Reason: "request may have reached Meta; do not resend, wait for a status webhook"}
	}
	var me *Error
	if errors.As(err, &me) {
		c := Classify(me.Code)
		if me.Code == 131009 && recipientInvalid(me.Details+" "+me.Message) {
			return Classification{Action: ActionSuppressContact, Reason: "recipient phone number is invalid"}
		}
		return c
	}
	if errors.Is(err, ErrInvalidMessage) {
		return Classification{Action: ActionFixTemplate, Reason: err.Error()}
	}
	if errors.Is(err, ErrNotSent) {
		return Classification{Action: ActionRetry, Backoff: 5 * time.Second, Reason: "request never reached Meta"}
	}
	var he *HTTPError
	if errors.As(err, &he) {
		switch {
		case he.StatusCode == 429:
			return Classification{Action: ActionRetry, Backoff: 5 * time.Second, Scope: ScopeSender, Reason: "HTTP 429 without Meta body"}
		case he.StatusCode == 408:
			return Classification{Action: ActionRetry, Backoff: 5 * time.Second, Reason: "HTTP 408: request not received in time"}
		default:
			// Every other 4xx without a Meta body comes from something in front
			// of Meta (wrong base URL, proxy auth): all sends will fail alike.
			return Classification{Action: ActionStopSender, Reason: he.Error() + "; check the API base URL"}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		// Client wraps deadline errors after writing as ErrOutcomeUnknown, so a
		// bare context error here means nothing was sent.
		return Classification{Action: ActionRetry, Backoff: 5 * time.Second, Reason: "cancelled before sending"}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return Classification{Action: ActionRetry, Backoff: 5 * time.Second, Reason: "could not connect to the Cloud API"}
	}
	return Classification{Action: ActionUnknownOutcome, Reason: "unrecognised error; treated as possibly sent: " + err.Error()}
}

// recipientInvalid tells whether a 131009 concerns the `to` field, which
// makes it a contact problem instead of a payload bug.
func recipientInvalid(text string) bool {
	t := strings.ToLower(text)
	return strings.Contains(t, "phone number") || strings.Contains(t, "recipient") ||
		strings.Contains(t, "'to'") || strings.Contains(t, "parameter to ")
}
