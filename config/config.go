// Package config reads Herald's configuration from the environment and the
// flags of `herald serve`. A flag wins over its environment variable, which
// wins over the default. The Config is passed down by constructors; nothing
// reads the environment later.
package config

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Config is everything `herald serve` needs to start.
type Config struct {
	Addr        string
	DatabaseURL string
	BaseURL     string
	Secret      string
	DataDir     string

	AdminEmail    string
	AdminPassword string

	WhatsApp WhatsApp

	// ShutdownTimeout bounds how long in-flight requests and jobs get to
	// finish on SIGTERM.
	ShutdownTimeout time.Duration
	// MaxImportBytes caps an uploaded CSV file.
	MaxImportBytes int64
	// APIRate and APIBurst are each API key's token bucket: requests per
	// second and the burst above it (HERALD_API_RATE "rate[:burst]").
	APIRate  float64
	APIBurst int
	// DBConns is the size of the Postgres connection pool of this instance
	// (HERALD_DB_CONNS); every connection is kept and warmed at start.
	DBConns int
}

// WhatsApp holds the default sender's Cloud API credentials. An empty APIURL
// means the built-in simulator runs in-process.
type WhatsApp struct {
	APIURL        string
	APIVersion    string
	Token         string
	PhoneNumberID string
	WABAID        string
	AppSecret     string
	VerifyToken   string
	// AppID is the Meta app's id, needed to upload media examples of
	// templates with an image, video or document header.
	AppID string
}

// Simulator defaults: the credentials the built-in simulator accepts. They
// are public on purpose; they only ever talk to Herald's own fake.
const (
	SimAPIVersion    = "v24.0"
	SimToken         = "herald-simulator-token"
	SimPhoneNumberID = "1000000001"
	SimWABAID        = "2000000001"
	SimAppSecret     = "herald-simulator-app-secret"
	SimVerifyToken   = "herald-simulator-verify-token"
	SimAppID         = "3000000001"
)

// UsesSimulator reports whether Herald should start its built-in simulator.
func (w WhatsApp) UsesSimulator() bool { return w.APIURL == "" }

// Var describes one configuration variable, for flags and the README.
type Var struct {
	Env, Flag, Default, Usage string
	dst                       *string
}

// Load builds a Config from args (the flags after `serve`) and getenv.
func Load(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	var shutdown, maxImport, apiRate, dbConns string
	vars := []Var{
		{"HERALD_ADDR", "addr", "127.0.0.1:8080", "listen address", &c.Addr},
		{"DATABASE_URL", "database-url", "sqlite://data/herald.db", "sqlite://PATH or postgres://…", &c.DatabaseURL},
		{"HERALD_BASE_URL", "base-url", "", "public URL (default http:// + addr)", &c.BaseURL},
		{"HERALD_SECRET", "secret", "", "key for session cookies and stored credentials (default: generated once into the data folder)", &c.Secret},
		{"HERALD_DATA_DIR", "data-dir", "data", "folder for the generated secret and the default SQLite file", &c.DataDir},
		{"HERALD_ADMIN_EMAIL", "admin-email", "", "first admin's e-mail, used when no user exists", &c.AdminEmail},
		{"HERALD_ADMIN_PASSWORD", "admin-password", "", "first admin's password, used when no user exists", &c.AdminPassword},
		{"HERALD_SHUTDOWN_TIMEOUT", "shutdown-timeout", "20s", "time given to requests and jobs to finish on shutdown", &shutdown},
		{"HERALD_MAX_IMPORT_BYTES", "max-import-bytes", "1073741824", "largest accepted CSV upload in bytes", &maxImport},
		{"HERALD_API_RATE", "api-rate", "50:100", "REST API requests per second per API key, and the burst (rate[:burst])", &apiRate},
		{"HERALD_DB_CONNS", "db-conns", "16", "Postgres connections of this instance, all kept open and warmed at start (SQLite ignores it)", &dbConns},
		{"WHATSAPP_API_URL", "whatsapp-api-url", "", "Cloud API base URL (https://graph.facebook.com); empty runs the built-in simulator", &c.WhatsApp.APIURL},
		{"WHATSAPP_API_VERSION", "whatsapp-api-version", SimAPIVersion, "Graph API version", &c.WhatsApp.APIVersion},
		{"WHATSAPP_TOKEN", "whatsapp-token", SimToken, "system-user access token", &c.WhatsApp.Token},
		{"WHATSAPP_PHONE_NUMBER_ID", "whatsapp-phone-number-id", SimPhoneNumberID, "sender phone-number ID", &c.WhatsApp.PhoneNumberID},
		{"WHATSAPP_WABA_ID", "whatsapp-waba-id", SimWABAID, "WhatsApp Business Account ID", &c.WhatsApp.WABAID},
		{"WHATSAPP_APP_SECRET", "whatsapp-app-secret", SimAppSecret, "app secret that signs webhooks", &c.WhatsApp.AppSecret},
		{"WHATSAPP_VERIFY_TOKEN", "whatsapp-verify-token", SimVerifyToken, "webhook verification token", &c.WhatsApp.VerifyToken},
		{"WHATSAPP_APP_ID", "whatsapp-app-id", SimAppID, "Meta app id, for uploading templates' media examples", &c.WhatsApp.AppID},
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, v := range vars {
		def := v.Default
		if env := getenv(v.Env); env != "" {
			def = env
		}
		fs.StringVar(v.dst, v.Flag, def, v.Usage+" ($"+v.Env+")")
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("config: unexpected arguments %q", fs.Args())
	}
	var err error
	if c.ShutdownTimeout, err = time.ParseDuration(shutdown); err != nil {
		return Config{}, fmt.Errorf("config: HERALD_SHUTDOWN_TIMEOUT: %w", err)
	}
	if _, err := fmt.Sscan(maxImport, &c.MaxImportBytes); err != nil || c.MaxImportBytes <= 0 {
		return Config{}, fmt.Errorf("config: HERALD_MAX_IMPORT_BYTES must be a positive number of bytes, got %q", maxImport)
	}
	if c.APIRate, c.APIBurst, err = parseRate(apiRate); err != nil {
		return Config{}, err
	}
	if _, err := fmt.Sscan(dbConns, &c.DBConns); err != nil || c.DBConns < 4 || c.DBConns > 1000 {
		// Four at least: the send workers' claims, marks and outcome writes,
		// the priority lane, the webhook applier and the web pages all use
		// connections at the same time; with fewer they mostly wait.
		return Config{}, fmt.Errorf("config: HERALD_DB_CONNS must be a whole number from 4 to 1000, got %q", dbConns)
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Config{}, fmt.Errorf("config: HERALD_BASE_URL %q is not an http(s) URL", c.BaseURL)
	}
	if (c.AdminEmail == "") != (c.AdminPassword == "") {
		return Config{}, errors.New("config: set both HERALD_ADMIN_EMAIL and HERALD_ADMIN_PASSWORD, or neither")
	}
	return c, nil
}

// SecureCookies tells whether cookies must carry the Secure flag.
func (c Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// EnsureSecret fills Secret from the data folder, generating and saving one
// on first start so sessions survive restarts.
func (c *Config) EnsureSecret() error {
	if c.Secret != "" {
		return nil
	}
	path := filepath.Join(c.DataDir, "secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		c.Secret = strings.TrimSpace(string(b))
		return nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return fmt.Errorf("config: generate secret: %w", err)
	}
	c.Secret = hex.EncodeToString(buf)
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("config: create %s: %w", c.DataDir, err)
	}
	if err := os.WriteFile(path, []byte(c.Secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("config: save secret: %w", err)
	}
	return nil
}

// Key derives a 32-byte key for one purpose (cookie signing, cookie
// encryption, credential encryption) from the secret, so no two uses share a key.
func (c Config) Key(purpose string) []byte {
	sum := sha256.Sum256([]byte("herald/" + purpose + "/" + c.Secret))
	return sum[:]
}

// parseRate reads HERALD_API_RATE: "50" (burst twice the rate) or "50:100".
func parseRate(s string) (float64, int, error) {
	r, b, hasBurst := strings.Cut(strings.TrimSpace(s), ":")
	var rate float64
	if _, err := fmt.Sscan(r, &rate); err != nil || rate <= 0 {
		return 0, 0, fmt.Errorf("config: HERALD_API_RATE must be a positive rate, optionally with :burst, got %q", s)
	}
	burst := max(int(2*rate), 1)
	if hasBurst {
		if _, err := fmt.Sscan(b, &burst); err != nil || burst < 1 {
			return 0, 0, fmt.Errorf("config: HERALD_API_RATE burst must be a whole number from 1, got %q", s)
		}
	}
	return rate, burst, nil
}
