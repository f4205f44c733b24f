package handlers_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"gopkg.in/yaml.v3"

	"github.com/heraldhq/herald/docs"
	"github.com/heraldhq/herald/models"
)

// TestOpenAPIListsEveryAPIRoute walks Echo's route table, so an endpoint
// added later without documentation fails here.
func TestOpenAPIListsEveryAPIRoute(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(docs.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q, want 3.1", doc.OpenAPI)
	}
	e := setup(t)
	checked := 0
	for _, r := range e.echo.Routes() {
		path, ok := strings.CutPrefix(r.Path, "/api/v1")
		if !ok || r.Method == "RouteNotFound" || strings.HasPrefix(r.Method, "echo_route") || path == "" || path == "/*" {
			continue
		}
		parts := strings.Split(path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") {
				parts[i] = "{" + p[1:] + "}"
			}
		}
		path = strings.Join(parts, "/")
		if _, ok := doc.Paths[path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s /api/v1%s is not in docs/openapi.yaml", r.Method, path)
		}
		checked++
	}
	if checked < 15 {
		t.Fatalf("only %d API routes found", checked)
	}
}

func TestOpenAPIServedAndRendered(t *testing.T) {
	t.Parallel()
	e := setup(t)
	res := e.anon().get("/api/openapi.yaml")
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "/messages/{id}:") {
		t.Fatalf("GET /api/openapi.yaml: %d", res.StatusCode)
	}
	viewer := e.user(models.RoleViewer)
	doc := viewer.doc(viewer.get("/docs/api"))
	var endpoints []string
	doc.Find("article.api-endpoint h3").Each(func(_ int, s *goquery.Selection) { endpoints = append(endpoints, s.Text()) })
	joined := strings.Join(endpoints, "\n")
	for _, want := range []string{"POST /api/v1/messages", "GET /api/v1/messages/{id}", "PATCH /api/v1/contacts/{id}", "POST /api/v1/campaigns/{id}/launch"} {
		if !strings.Contains(joined, want) {
			t.Errorf("docs page lacks %q (has %d endpoints)", want, len(endpoints))
		}
	}
	if doc.Find(`#post-messages td code`).FilterFunction(func(_ int, s *goquery.Selection) bool { return s.Text() == "idempotency_key" }).Length() != 1 {
		t.Error("POST /messages lists no idempotency_key parameter")
	}
}
