package simulator

import (
	"encoding/json"
	"io"
	"net/http"
)

// Received returns every accepted message, oldest first.
func (s *Server) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// ReceivedCount is how many messages were accepted: Received without the
// copy, for callers that poll.
func (s *Server) ReceivedCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.received)
}

// Reset forgets received messages, taps, throughput history and pending
// webhooks; templates and configuration stay.
func (s *Server) Reset() {
	s.mu.Lock()
	s.received = nil
	s.sameKey = map[string]int{}
	s.taps = nil
	s.sendTimes = nil
	s.stats = Stats{}
	s.mu.Unlock()
	s.queue.clear()
}

// serveControl implements the inspection and control endpoints:
//
//	GET  /_sim/messages   accepted messages (JSON array of Received)
//	POST /_sim/reset      Reset
//	GET  /_sim/templates  templates with status
//	GET  /_sim/faults     current Faults;  POST /_sim/faults replaces them
//	POST /_sim/inbound    {"from","text"} a user writes to the business
//	POST /_sim/webhook    {"url"} sets the webhook URL
//	GET  /_sim/taps       URL-button taps
//	GET  /_sim/stats      webhook delivery counters
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /_sim/messages":
		writeJSON(w, http.StatusOK, nonNil(s.Received()))
	case "POST /_sim/reset":
		s.Reset()
		writeJSON(w, http.StatusOK, map[string]bool{"success": true})
	case "GET /_sim/templates":
		writeJSON(w, http.StatusOK, s.Templates())
	case "GET /_sim/faults":
		writeJSON(w, http.StatusOK, s.Faults())
	case "POST /_sim/faults":
		var f Faults
		if !decodeControl(w, r, &f) {
			return
		}
		if err := s.SetFaults(f); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, s.Faults())
	case "POST /_sim/inbound":
		var in struct{ From, Text string }
		if !decodeControl(w, r, &in) {
			return
		}
		id, err := s.InjectInbound(in.From, in.Text)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"id": id})
	case "POST /_sim/webhook":
		var in struct{ URL string }
		if !decodeControl(w, r, &in) {
			return
		}
		s.SetWebhookURL(in.URL)
		writeJSON(w, http.StatusOK, map[string]string{"url": in.URL})
	case "GET /_sim/taps":
		writeJSON(w, http.StatusOK, nonNil(s.URLTaps()))
	case "GET /_sim/stats":
		writeJSON(w, http.StatusOK, s.Stats())
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown simulator control endpoint " + route})
	}
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON: " + err.Error()})
		return false
	}
	return true
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
