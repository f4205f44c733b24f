package whatsapp

import (
	"errors"
	"fmt"
)

// ErrOutcomeUnknown is wrapped into errors for requests that may have reached
// Meta without Herald learning the result: a timeout or reset after the request
// was written, a 5xx answer without a Meta error body, or a 200 answer that
// could not be read. Resending such a message risks a duplicate; the sender
// must wait for a status webhook (matched by biz_opaque_callback_data) or
// give up on that recipient.
var ErrOutcomeUnknown = errors.New("whatsapp: outcome unknown, request may have reached Meta")

// ErrNotSent is wrapped into errors for requests that certainly never reached
// Meta (the connection could not be made, or the request was not completely
// written), so sending again cannot produce a duplicate.
var ErrNotSent = errors.New("whatsapp: request not sent")

// ErrInvalidMessage is wrapped into errors for messages rejected by the client
// before any network call, because they could never be accepted by Meta.
var ErrInvalidMessage = errors.New("whatsapp: invalid message")

// Error is an error answered by the Graph API in Meta's JSON error shape:
//
//	{"error": {"message", "type", "code", "error_data": {"details"}, "fbtrace_id"}}
//
// Branch on Code (see Classify), never on HTTPStatus or Message.
type Error struct {
	HTTPStatus int    // HTTP status of the answer; informative only
	Code       int    // error.code, e.g. 132001
	Subcode    int    // error.error_subcode; deprecated by Meta, kept for logs
	Type       string // error.type, e.g. OAuthException
	Message    string // error.message (or error.title)
	Details    string // error.error_data.details
	FBTraceID  string // error.fbtrace_id, quote it to Meta support
}

// Error implements the error interface.
func (e *Error) Error() string {
	msg := fmt.Sprintf("whatsapp: meta error %d (HTTP %d): %s", e.Code, e.HTTPStatus, e.Message)
	if e.Details != "" {
		msg += ": " + e.Details
	}
	return msg
}

// HTTPError is an HTTP answer that carries no Meta error body, e.g. from a
// proxy or a misconfigured base URL. 5xx answers of this kind are also wrapped
// with ErrOutcomeUnknown, since the request may have been processed.
type HTTPError struct {
	StatusCode int
	Body       string // first bytes of the body, for logs
}

// Error implements the error interface.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("whatsapp: HTTP %d without Meta error body: %.200s", e.StatusCode, e.Body)
}

// metaErrorEnvelope is the wire shape of a Graph API error.
type metaErrorEnvelope struct {
	Error *struct {
		Message      string `json:"message"`
		Title        string `json:"error_user_title"`
		Type         string `json:"type"`
		Code         int    `json:"code"`
		ErrorSubcode int    `json:"error_subcode"`
		ErrorData    struct {
			Details string `json:"details"`
		} `json:"error_data"`
		FBTraceID string `json:"fbtrace_id"`
	} `json:"error"`
}
