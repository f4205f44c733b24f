package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/config"
	"github.com/heraldhq/herald/handlers"
	"github.com/heraldhq/herald/jobs"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

// setupContacts is setupOn with uploads kept in the test's temp folder and
// a small upload limit, so the size check can be tested cheaply.
func setupContacts(t *testing.T, db testdb.DB) *env {
	t.Helper()
	cfg, err := config.Load(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Secret = "test-secret-test-secret-test-secret"
	cfg.DataDir = t.TempDir()
	cfg.MaxImportBytes = 64 << 10
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := echo.New()
	runner := jobs.New(db.Store, log)
	handlers.New(handlers.Deps{Config: cfg, Store: db.Store, Runner: runner, Log: log}).Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, echo: e, store: db.Store, db: db}
}

// runImports drives the import worker until no import is left to do.
func (e *env) runImports() {
	e.t.Helper()
	imp := jobs.NewImporter(e.store, slog.New(slog.NewTextHandler(io.Discard, nil)), "test-worker")
	for range 20 {
		more, err := imp.Round(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if !more {
			return
		}
	}
	e.t.Fatal("the import worker never ran out of work")
}

// apiKey creates a key with role and returns it.
func (e *env) apiKey(role models.Role) string {
	e.t.Helper()
	_, plain, err := e.store.CreateAPIKey(context.Background(), "test "+string(role), role, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return plain
}

// multipartBody builds a form with fields and one file.
func multipartBody(t *testing.T, fields map[string]string, fileName string, file []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if fileName != "" {
		fw, err := w.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(file); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, w.FormDataContentType()
}

// postMultipart submits a multipart form from the browser, with the CSRF
// token of tokenPage.
func (c *client) postMultipart(path, tokenPage string, fields map[string]string, fileName string, file []byte) *http.Response {
	c.t.Helper()
	if fields == nil {
		fields = map[string]string{}
	}
	fields["_csrf"] = c.csrf(tokenPage)
	body, ctype := multipartBody(c.t, fields, fileName, file)
	res, err := c.http.Post(c.base+path, ctype, body)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { res.Body.Close() })
	return res
}

// getHTMX requests path as htmx does.
func (c *client) getHTMX(path string) *http.Response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	req.Header.Set("HX-Request", "true")
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { res.Body.Close() })
	return res
}

// api calls the REST API with a bearer key and decodes the JSON answer.
func (e *env) api(key, method, path, ctype string, body io.Reader) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+"/api/v1"+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: not JSON (%d): %s", method, path, res.StatusCode, raw)
		}
	}
	return res.StatusCode, out
}

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return strings.NewReader(string(b))
}

func TestSpreadsheetSafe(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"=HYPERLINK(\"x\")": "'=HYPERLINK(\"x\")",
		"+5511987654321":    "'+5511987654321",
		"@SUM(A1)":          "'@SUM(A1)",
		"Ana":               "Ana",
		"":                  "",
	}
	for in, want := range tests {
		if got := handlers.SpreadsheetSafe(in); got != want {
			t.Errorf("SpreadsheetSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
