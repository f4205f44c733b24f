package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/phone"
)

// maxEventBatch is the most events one POST /api/v1/events may carry.
const maxEventBatch = 1000

// eventBody is one event as the API takes it (CONTRACT.md): the contact by
// phone, contact_id or external_id, the event's name, optional value,
// currency, time, properties and idempotency key. With create_contact a
// phone number nobody has yet becomes a new contact instead of a 422.
type eventBody struct {
	Phone          string         `json:"phone"`
	ContactID      int64          `json:"contact_id"`
	ExternalID     string         `json:"external_id"`
	Name           string         `json:"name"`
	Value          *float64       `json:"value"`
	Currency       string         `json:"currency"`
	OccurredAt     *time.Time     `json:"occurred_at"`
	Properties     map[string]any `json:"properties"`
	IdempotencyKey string         `json:"idempotency_key"`
	CreateContact  bool           `json:"create_contact"`
}

// eventBatch is the batch form: {"events": [...]}.
type eventBatch struct {
	Events []eventBody `json:"events"`
}

func (h *Handlers) apiEventsRoutes(r routes) {
	r.apiRoute(http.MethodPost, "/events", h.apiEventsCreate, models.RoleMarketer)
}

// apiEventsCreate records one event (→ 202, or 200 when its idempotency
// key was seen before) or a batch of up to 1,000 (→ 200 with one result per
// event, in order). A batch is all or nothing: any invalid event or unknown
// contact is a 422 naming it by path ("events[3].phone") and nothing is
// stored.
func (h *Handlers) apiEventsCreate(c echo.Context) error {
	raw, err := io.ReadAll(io.LimitReader(c.Request().Body, 8<<20))
	if err != nil {
		return apiErr(http.StatusBadRequest, "bad_body", "The body could not be read.")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(raw, &probe); err != nil {
		return apiErr(http.StatusBadRequest, "bad_json", "The body must be a JSON object: "+err.Error())
	}
	_, isBatch := probe["events"]
	var bodies []eventBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if isBatch {
		var b eventBatch
		if err := dec.Decode(&b); err != nil {
			return apiErr(http.StatusBadRequest, "bad_json", "The batch must be {\"events\": [...]}: "+err.Error())
		}
		switch {
		case len(b.Events) == 0:
			return apiFieldsErr(map[string]string{"events": "Send at least one event."})
		case len(b.Events) > maxEventBatch:
			return apiFieldsErr(map[string]string{"events": fmt.Sprintf("Send at most %d events per request.", maxEventBatch)})
		}
		bodies = b.Events
	} else {
		var b eventBody
		if err := dec.Decode(&b); err != nil {
			return apiErr(http.StatusBadRequest, "bad_json", "The event is not valid JSON for this endpoint: "+err.Error())
		}
		bodies = []eventBody{b}
	}
	prefix := func(i int) string {
		if isBatch {
			return fmt.Sprintf("events[%d].", i)
		}
		return ""
	}
	inputs, err := h.eventInputs(c, bodies, prefix)
	if err != nil {
		return err
	}
	results, err := h.store.RecordEvents(c.Request().Context(), inputs)
	if err != nil {
		return err
	}
	if !isBatch {
		status := http.StatusAccepted
		if results[0].Duplicate {
			status = http.StatusOK
		}
		return c.JSON(status, results[0])
	}
	created := 0
	for _, r := range results {
		if !r.Duplicate {
			created++
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"results": results, "created": created, "duplicates": len(results) - created})
}

// eventInputs validates the bodies and finds (or creates) their contacts;
// every problem comes back at once as one 422.
func (h *Handlers) eventInputs(c echo.Context, bodies []eventBody, prefix func(int) string) ([]models.EventInput, error) {
	ctx := c.Request().Context()
	fields := map[string]string{}
	refs := make([]models.ContactRef, len(bodies))
	inputs := make([]models.EventInput, len(bodies))
	seenKeys := map[string]int{}
	for i, b := range bodies {
		p := prefix(i)
		in := models.EventInput{Name: strings.TrimSpace(b.Name), Value: b.Value, Currency: strings.TrimSpace(b.Currency),
			Properties: b.Properties, IdempotencyKey: strings.TrimSpace(b.IdempotencyKey)}
		if b.OccurredAt != nil {
			in.OccurredAt = *b.OccurredAt
		}
		for k, v := range models.ValidateEvent(in) {
			fields[p+k] = v
		}
		if in.IdempotencyKey != "" {
			if j, dup := seenKeys[in.IdempotencyKey]; dup {
				fields[p+"idempotency_key"] = fmt.Sprintf("Repeats the key of events[%d].", j)
			}
			seenKeys[in.IdempotencyKey] = i
		}
		switch {
		case b.ContactID > 0:
			refs[i].ContactID = b.ContactID
		case b.Phone != "":
			n, err := phone.Parse(b.Phone, "")
			if err != nil {
				fields[p+"phone"] = strings.TrimPrefix(err.Error(), "phone: ")
			}
			refs[i].Phone = n.E164
		case b.ExternalID != "":
			refs[i].ExternalID = strings.TrimSpace(b.ExternalID)
		default:
			fields[p+"phone"] = "Name the contact by phone, contact_id or external_id."
		}
		inputs[i] = in
	}
	if len(fields) > 0 {
		return nil, apiFieldsErr(fields)
	}
	ids, err := h.store.ResolveContacts(ctx, refs)
	if err != nil {
		return nil, err
	}
	// Unknown contacts: a 422 unless the event asks to create them. The
	// batch is checked fully before any contact is created.
	var toCreate []int
	for i, id := range ids {
		if id != 0 {
			continue
		}
		b, p := bodies[i], prefix(i)
		switch {
		case b.CreateContact && refs[i].Phone != "":
			toCreate = append(toCreate, i)
		case b.CreateContact:
			fields[p+"phone"] = "A phone number is needed to create the contact."
		case refs[i].ContactID > 0:
			fields[p+"contact_id"] = "No contact has this id."
		case refs[i].Phone != "":
			fields[p+"phone"] = `No contact has this phone number; send "create_contact": true to create it.`
		default:
			fields[p+"external_id"] = "No contact has this external id."
		}
	}
	if len(fields) > 0 {
		return nil, apiFieldsErr(fields)
	}
	created := map[string]int64{}
	for _, i := range toCreate {
		ph := refs[i].Phone
		if id, ok := created[ph]; ok {
			ids[i] = id
			continue
		}
		n, _ := phone.Parse(ph, "")
		ct := &models.Contact{Phone: n.E164, WaID: n.Digits, Country: n.Country, Timezone: n.Timezone,
			TransactionalOptIn: true, Reachability: models.ReachabilityReachable}
		if ext := strings.TrimSpace(bodies[i].ExternalID); ext != "" {
			ct.ExternalID = &ext
		}
		err := h.store.CreateContact(ctx, ct, apiSource(c))
		if errors.Is(err, models.ErrConflict) {
			// Created by a concurrent request in the meantime.
			again, rerr := h.store.ResolveContacts(ctx, []models.ContactRef{{Phone: n.E164}})
			if rerr != nil {
				return nil, rerr
			}
			if again[0] == 0 {
				return nil, apiFieldsErr(map[string]string{prefix(i) + "external_id": "Another contact has this external id."})
			}
			ct.ID, err = again[0], nil
		}
		if err != nil {
			return nil, err
		}
		ids[i], created[ph] = ct.ID, ct.ID
	}
	for i := range inputs {
		inputs[i].ContactID = ids[i]
	}
	return inputs, nil
}
