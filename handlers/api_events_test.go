package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/heraldhq/herald/models"
)

func TestAPIEvents(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	key := e.apiKey(models.RoleMarketer)
	ext := "crm-42"
	known := &models.Contact{Phone: "+5511988887777", ExternalID: &ext, TransactionalOptIn: true, Reachability: models.ReachabilityReachable}
	if err := e.store.CreateContact(ctx, known, "test"); err != nil {
		t.Fatal(err)
	}
	contact := func(id int64) *models.Contact {
		t.Helper()
		c, err := e.store.Contact(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	t.Run("single purchase by phone", func(t *testing.T) {
		status, body := e.api(key, http.MethodPost, "/events", "application/json", jsonBody(map[string]any{
			"phone": "+55 11 98888-7777", "name": "purchase", "value": 49.9, "currency": "BRL", "occurred_at": "2026-01-10T12:00:00Z",
			"idempotency_key": "order-1"}))
		if status != http.StatusAccepted || body["contact_id"] != float64(known.ID) || body["duplicate"] != false {
			t.Fatalf("got %d %v", status, body)
		}
		c := contact(known.ID)
		if c.TotalOrders != 1 || c.TotalSpent != 49.9 || c.LastActiveAt == nil {
			t.Fatalf("contact after purchase: orders %d spent %v active %v", c.TotalOrders, c.TotalSpent, c.LastActiveAt)
		}
		// The same key again is a 200 naming the first event, and changes nothing.
		status, again := e.api(key, http.MethodPost, "/events", "application/json", jsonBody(map[string]any{
			"external_id": "crm-42", "name": "purchase", "value": 49.9, "idempotency_key": "order-1"}))
		if status != http.StatusOK || again["id"] != body["id"] || again["duplicate"] != true {
			t.Fatalf("replay: %d %v (first %v)", status, again, body)
		}
		if c := contact(known.ID); c.TotalOrders != 1 {
			t.Fatalf("a replay counted a second order: %d", c.TotalOrders)
		}
	})
	t.Run("unknown contact is a 422 with the path", func(t *testing.T) {
		status, body := e.api(key, http.MethodPost, "/events", "application/json", jsonBody(map[string]any{"events": []any{
			map[string]any{"contact_id": known.ID, "name": "signup"},
			map[string]any{"phone": "+5511900000001", "name": "purchase", "value": 5},
		}}))
		fields := fieldsOf(body)
		if status != http.StatusUnprocessableEntity || !strings.Contains(fields["events[1].phone"], "create_contact") || len(fields) != 1 {
			t.Fatalf("got %d %v", status, body)
		}
		var n int64
		e.store.DB(ctx).Raw("SELECT COUNT(*) FROM events WHERE name = 'signup'").Scan(&n)
		if n != 0 {
			t.Fatalf("a refused batch stored %d events", n)
		}
	})
	t.Run("validation errors", func(t *testing.T) {
		status, body := e.api(key, http.MethodPost, "/events", "application/json", jsonBody(map[string]any{"phone": "+5511988887777", "value": -3}))
		fields := fieldsOf(body)
		if status != http.StatusUnprocessableEntity || fields["name"] == "" || fields["value"] == "" {
			t.Fatalf("got %d %v", status, body)
		}
		status, _ = e.api(key, http.MethodPost, "/events", "application/json", strings.NewReader(`{"phone": "+5511988887777", "name": "x", "colour": 1}`))
		if status != http.StatusBadRequest {
			t.Fatalf("unknown field: got %d, want 400", status)
		}
		var many []any
		for i := range 1001 {
			many = append(many, map[string]any{"contact_id": known.ID, "name": fmt.Sprint("e", i)})
		}
		status, body = e.api(key, http.MethodPost, "/events", "application/json", jsonBody(map[string]any{"events": many}))
		if status != http.StatusUnprocessableEntity || fieldsOf(body)["events"] == "" {
			t.Fatalf("1001 events: got %d %v", status, body)
		}
	})
	t.Run("batch creates contacts when asked", func(t *testing.T) {
		status, body := e.api(key, http.MethodPost, "/events", "application/json", jsonBody(map[string]any{"events": []any{
			map[string]any{"phone": "+52 55 1234 5678", "name": "purchase", "value": 10, "create_contact": true},
			map[string]any{"phone": "+525512345678", "name": "purchase", "value": 15, "create_contact": true},
			map[string]any{"contact_id": known.ID, "name": "support_ticket_resolved"},
		}}))
		if status != http.StatusOK || body["created"] != float64(3) {
			t.Fatalf("got %d %v", status, body)
		}
		results := body["results"].([]any)
		first, second := results[0].(map[string]any), results[1].(map[string]any)
		if first["contact_id"] != second["contact_id"] {
			t.Fatalf("one new number became two contacts: %v", results)
		}
		c := contact(int64(first["contact_id"].(float64)))
		if c.Phone != "+525512345678" || c.Country != "MX" || c.TotalOrders != 2 || c.TotalSpent != 25 {
			t.Fatalf("created contact %+v", c)
		}
	})
	t.Run("viewers may not post events", func(t *testing.T) {
		status, _ := e.api(e.apiKey(models.RoleViewer), http.MethodPost, "/events", "application/json",
			jsonBody(map[string]any{"contact_id": known.ID, "name": "x"}))
		if status != http.StatusForbidden {
			t.Fatalf("viewer key: got %d, want 403", status)
		}
	})
}

// fieldsOf reads error.fields of an API error body.
func fieldsOf(body map[string]any) map[string]string {
	out := map[string]string{}
	errObj, _ := body["error"].(map[string]any)
	fields, _ := errObj["fields"].(map[string]any)
	for k, v := range fields {
		out[k], _ = v.(string)
	}
	return out
}
