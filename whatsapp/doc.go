// Package whatsapp talks to Meta's WhatsApp Cloud API: it sends template, text
// and interactive messages, manages message templates, reads a sender number's
// quality and limits, parses and authenticates webhooks, and classifies every
// Cloud API error code into the one action a campaign sender must take.
//
// The package is a leaf: it imports no other Herald package, so the jobs layer
// can depend on it and the simulator (package whatsapp/simulator) can reuse its
// template rules without cycles.
//
// Exactly-once sending hinges on one distinction made here: a request that was
// refused (Meta answered with an error body, or the connection was never made)
// is safe to send again, while a request that may have reached Meta (timeout
// after the request was written, reset connection, 5xx without a Meta body)
// is reported as ErrOutcomeUnknown and must never be resent blindly. The
// distinction matters only for Send; read calls (templates, phone number) are
// safe to repeat whatever the error.
//
// ClassifyError turns any error of this package into an Action (retry,
// suppress the contact, pause the campaign, stop the sender, …); Classify
// does the same for the error code of a failed status webhook. Both read
// one table, in classify.go.
package whatsapp
