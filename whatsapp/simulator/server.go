package simulator

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/whatsapp"
)

// Server is the simulated Cloud API. Create it with New, serve it with
// ServeHTTP (or Listen), and run its webhook dispatcher with Start.
type Server struct {
	cfg     Config
	started time.Time // part of every wamid, so restarts never reuse one

	mu             sync.Mutex
	webhookURL     string
	faults         Faults
	rng            *rand.Rand // fault rolls; guarded by mu
	templates      []*whatsapp.Template
	nextTemplateID int64
	received       []Received
	sameKey        map[string]int       // (wa_id, biz_opaque) → accepted count
	windows        map[string]time.Time // wa_id → last inbound (customer service window)
	marketingOff   map[string]bool      // wa_id → stopped marketing inside WhatsApp
	taps           []URLTap
	seq            uint64
	sendTimes      []time.Time // accepted sends in the last second, for MPS
	stats          Stats
	uploads        map[string]int  // open upload session → expected bytes
	handles        map[string]bool // media handles of finished uploads

	queue *eventQueue

	lifeMu  sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	servers []*http.Server
	client  *http.Client // webhooks and URL taps
}

// Stats counts webhook deliveries, for tests and the demo's status page.
type Stats struct {
	WebhookPosts    int `json:"webhook_posts"`    // attempts
	WebhookFailures int `json:"webhook_failures"` // non-200 or transport errors
	WebhookDropped  int `json:"webhook_dropped"`  // given up, or no webhook URL
}

// New builds a simulator holding one sender number and the approved
// hello_world template. It starts no goroutines (see Start, Listen).
func New(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{
		cfg:            cfg,
		started:        time.Now(),
		webhookURL:     cfg.WebhookURL,
		faults:         cfg.Faults,
		rng:            rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed)),
		nextTemplateID: 3000000001,
		sameKey:        map[string]int{},
		windows:        map[string]time.Time{},
		marketingOff:   map[string]bool{},
		queue:          newEventQueue(),
		client: &http.Client{
			Timeout: 10 * time.Second,
			// Taps stop at Herald's tracked-link redirect: the marketer's
			// target site is outside the simulated world.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	s.addTemplateLocked(whatsapp.TemplateDefinition{
		Name: "hello_world", Language: "en_US", Category: whatsapp.CategoryUtility,
		Components: []whatsapp.TemplateComponent{
			{Type: whatsapp.TemplateHeader, Format: whatsapp.FormatText, Text: "Hello World"},
			{Type: whatsapp.TemplateBody, Text: "Welcome and congratulations!! This message demonstrates your ability to send a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking the time to test with us."},
			{Type: whatsapp.TemplateFooter, Text: "WhatsApp Business Platform sample message"},
		},
	}, whatsapp.StatusApproved)
	return s
}

// Config returns the effective configuration.
func (s *Server) Config() Config { return s.cfg }

// SetWebhookURL sets where webhooks are posted.
func (s *Server) SetWebhookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhookURL = u
}

// SetFaults replaces the fault injection settings.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	return nil
}

// Faults returns the current fault injection settings.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Stats returns webhook delivery counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Start runs the webhook dispatcher until ctx ends or Close is called.
// Calling it again while running does nothing.
func (s *Server) Start(ctx context.Context) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.dispatch(ctx)
	}()
}

// Listen serves the simulator on addr (e.g. "127.0.0.1:0"), starts the
// dispatcher, and returns the base URL to give the client.
func (s *Server) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("simulator: listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.lifeMu.Lock()
	s.servers = append(s.servers, srv)
	s.lifeMu.Unlock()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Error("simulator: serve", "err", err)
		}
	}()
	s.Start(context.Background())
	return "http://" + ln.Addr().String(), nil
}

// Close stops listeners started by Listen and the dispatcher, and waits for
// the dispatcher to finish. Undelivered webhooks are discarded.
func (s *Server) Close() error {
	s.lifeMu.Lock()
	servers, cancel, done := s.servers, s.cancel, s.done
	s.servers = nil
	s.lifeMu.Unlock()
	var errs []error
	for _, srv := range servers {
		ctx, c := context.WithTimeout(context.Background(), 2*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, srv.Close())
		}
		c()
	}
	if cancel != nil {
		cancel()
		<-done
	}
	return errors.Join(errs...)
}

var versionRe = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// ServeHTTP routes Graph API paths and the /_sim control endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 || !versionRe.MatchString(parts[0]) {
		writeMetaError(w, http.StatusBadRequest, 100, "Unknown path components: "+r.URL.Path, "")
		return
	}
	if !s.authorized(r) {
		writeMetaError(w, http.StatusUnauthorized, 190, "Invalid OAuth access token - Cannot parse access token", "")
		return
	}
	id, rest := parts[1], parts[2:]
	switch {
	case len(rest) == 1 && rest[0] == "uploads" && r.Method == http.MethodPost:
		s.handleStartUpload(w, r)
	case len(rest) == 0 && strings.HasPrefix(id, "upload:") && r.Method == http.MethodPost:
		s.handleUpload(w, r, id)
	case len(rest) == 1 && rest[0] == "messages" && id == s.cfg.PhoneNumberID && r.Method == http.MethodPost:
		s.handleSend(w, r)
	case len(rest) == 1 && rest[0] == "message_templates" && id == s.cfg.WABAID:
		switch r.Method {
		case http.MethodGet:
			s.handleListTemplates(w, r)
		case http.MethodPost:
			s.handleCreateTemplate(w, r)
		case http.MethodDelete:
			s.handleDeleteTemplate(w, r)
		default:
			writeMetaError(w, http.StatusBadRequest, 100, "Unsupported request method", "")
		}
	case len(rest) == 0 && r.Method == http.MethodGet && id == s.cfg.PhoneNumberID:
		s.handlePhoneNumber(w, r)
	case len(rest) == 0 && r.Method == http.MethodGet:
		s.handleGetTemplate(w, id)
	default:
		writeMetaError(w, http.StatusBadRequest, 100,
			fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", strings.ToLower(r.Method), id), "")
	}
}

func (s *Server) authorized(r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		// Meta's Resumable Upload step authenticates with "OAuth <token>".
		tok, ok = strings.CutPrefix(auth, "OAuth ")
	}
	return ok && tok == s.cfg.Token
}

// writeMetaError answers in Meta's error shape.
func writeMetaError(w http.ResponseWriter, status, code int, message, details string) {
	e := map[string]any{
		"message":    fmt.Sprintf("(#%d) %s", code, message),
		"type":       "OAuthException",
		"code":       code,
		"fbtrace_id": "Sim" + base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprint(code)))[:4],
	}
	if details != "" {
		e["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": details}
	}
	writeJSON(w, status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newID returns a unique message ID ("wamid." + opaque base64), derived from
// the seed, the process start and a sequence number. Call with mu held.
func (s *Server) newIDLocked(prefix string) string {
	s.seq++
	var buf [24]byte
	binary.BigEndian.PutUint64(buf[0:], uint64(s.cfg.Seed))
	binary.BigEndian.PutUint64(buf[8:], uint64(s.started.UnixNano()))
	binary.BigEndian.PutUint64(buf[16:], s.seq)
	sum := sha256.Sum256(buf[:])
	return "wamid." + prefix + base64.RawURLEncoding.EncodeToString(sum[:18])
}
