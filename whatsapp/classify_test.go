package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"
)

// expectedActions restates section 4 of the reference independently of the
// table in classify.go; every table entry must appear here.
var expectedActions = map[int]Action{
	0: ActionStopSender, 1: ActionRetry, 2: ActionRetry, 3: ActionStopSender, 4: ActionRetry, 10: ActionStopSender,
	100: ActionFixTemplate, 190: ActionStopSender, 368: ActionStopSender, 80007: ActionRetry,
	130429: ActionRetry, 130472: ActionDrop, 131000: ActionRetry, 131005: ActionStopSender,
	131008: ActionFixTemplate, 131009: ActionFixTemplate, 131016: ActionRetry, 131026: ActionSuppressContact,
	131031: ActionStopSender, 131042: ActionStopSender, 131045: ActionStopSender, 131047: ActionSendTemplateInstead,
	131048: ActionStopSender, 131049: ActionRetryNextDay, 131050: ActionSuppressMarketing, 131051: ActionFixTemplate,
	131052: ActionDrop, 131053: ActionFixTemplate, 131056: ActionRetry, 131057: ActionRetry,
	131063: ActionFixTemplate, 131064: ActionStopSender, 132000: ActionFixTemplate, 132001: ActionFixTemplate,
	132005: ActionFixTemplate, 132007: ActionFixTemplate, 132008: ActionFixTemplate, 132012: ActionFixTemplate,
	132015: ActionPauseTemplate, 132016: ActionFixTemplate, 133010: ActionStopSender, 133016: ActionRetry,
	137000: ActionSuppressContact,
	// outside the table: the permission range and unknown codes
	200: ActionStopSender, 250: ActionStopSender, 299: ActionStopSender, 999999: ActionDrop, -1: ActionDrop,
}

func TestClassifyEveryCode(t *testing.T) {
	t.Parallel()
	for code, want := range expectedActions {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			t.Parallel()
			c := Classify(code)
			if c.Action != want {
				t.Errorf("Classify(%d) = %v (%s), want %v", code, c.Action, c.Reason, want)
			}
			if c.Reason == "" {
				t.Errorf("Classify(%d) has no reason", code)
			}
			if (c.Action == ActionRetry || c.Action == ActionRetryNextDay) && c.Backoff <= 0 {
				t.Errorf("Classify(%d) retries without a backoff", code)
			}
		})
	}
	for _, code := range ClassifiedCodes() {
		if _, ok := expectedActions[code]; !ok {
			t.Errorf("table code %d has no expectation in this test", code)
		}
	}
}

func TestClassifyDetails(t *testing.T) {
	t.Parallel()
	if c := Classify(131049); c.Backoff < 24*time.Hour {
		t.Errorf("131049 backoff = %v, want ≥ 24h", c.Backoff)
	}
	if c := Classify(130429); c.Scope != ScopeSender {
		t.Errorf("130429 scope = %v, want sender", c.Scope)
	}
	if c := Classify(131056); c.Scope != ScopeRecipient {
		t.Errorf("131056 scope = %v, want recipient", c.Scope)
	}
	if c := Classify(131000); c.MaxAttempts == 0 {
		t.Errorf("131000 should cap attempts")
	}
	pair := Classify(131056)
	for i, want := range []time.Duration{time.Second, 4 * time.Second, 16 * time.Second, 64 * time.Second} {
		if got := pair.Delay(i); got != want {
			t.Errorf("Delay(%d) = %v, want %v", i, got, want)
		}
	}
	if got := pair.Delay(50); got != time.Hour {
		t.Errorf("Delay(50) = %v, want capped at 1h", got)
	}
	if got := Classify(131049).Delay(5); got != 24*time.Hour {
		t.Errorf("next-day delay grows: %v", got)
	}
	for a := ActionNone; a <= ActionUnknownOutcome; a++ {
		if a.String() == "unknown" || a.String() == "" {
			t.Errorf("action %d has no name", a)
		}
	}
}

func TestClassifyError(t *testing.T) {
	t.Parallel()
	dialErr := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	tests := []struct {
		name string
		err  error
		want Action
	}{
		{"nil", nil, ActionNone},
		{"meta error", fmt.Errorf("send: %w", &Error{Code: 131026}), ActionSuppressContact},
		{"131009 about the payload", &Error{Code: 131009, Details: "Parameter 'components' is invalid"}, ActionFixTemplate},
		{"131009 about the recipient", &Error{Code: 131009, Details: "The parameter 'to' is not a valid phone number."}, ActionSuppressContact},
		{"outcome unknown", fmt.Errorf("send: %w: timeout", ErrOutcomeUnknown), ActionUnknownOutcome},
		{"outcome unknown wrapping a 5xx", fmt.Errorf("%w: %w", ErrOutcomeUnknown, &HTTPError{StatusCode: 503}), ActionUnknownOutcome},
		{"not sent", fmt.Errorf("%w: x", ErrNotSent), ActionRetry},
		{"bare dial error", dialErr, ActionRetry},
		{"context cancelled before sending", context.Canceled, ActionRetry},
		{"invalid message", fmt.Errorf("%w: x", ErrInvalidMessage), ActionFixTemplate},
		{"http 401 without body", &HTTPError{StatusCode: 401}, ActionStopSender},
		{"http 408", &HTTPError{StatusCode: 408}, ActionRetry},
		{"something else", errors.New("mystery"), ActionUnknownOutcome},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ClassifyError(tt.err).Action; got != tt.want {
				t.Errorf("ClassifyError(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
