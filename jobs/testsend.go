package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/whatsapp"
)

// TemplateGateway is the Cloud API client plus "send a test to me": the
// marketer checks an approved template on their own phone before a
// campaign. It satisfies the handlers' template gateway and test sender.
type TemplateGateway struct {
	*whatsapp.Client
	Store *models.Store
}

// SendTest sends the template to phone at once, filled for the contact with
// that number if there is one, otherwise for the built-in sample contact.
// Campaign values are taken from each variable's example or fallback.
func (g TemplateGateway) SendTest(ctx context.Context, templateID int64, phone string) error {
	row, err := g.Store.TemplateByID(ctx, templateID)
	if err != nil {
		return err
	}
	tmpl, err := TemplateFromModel(row)
	if err != nil {
		return err
	}
	contact := templating.SampleContact()
	contact.Phone = phone
	if c, err := g.Store.ContactByPhone(ctx, phone); err == nil {
		contact = templating.Contact{FirstName: c.FirstName, LastName: c.LastName, Phone: c.Phone, Email: c.Email,
			Country: c.Country, Language: c.Language, Timezone: c.Timezone, LifecycleStage: c.LifecycleStage,
			TotalOrders: c.TotalOrders, TotalSpent: c.TotalSpent}
	} else if !errors.Is(err, models.ErrNotFound) {
		return err
	}
	values := map[string]string{}
	for _, m := range append(append([]templating.VariableMapping{}, tmpl.Variables.Header...), tmpl.Variables.Body...) {
		if m.Campaign != "" {
			values[m.Campaign] = firstNonEmpty(m.Example, m.Fallback, "test")
		}
	}
	for _, m := range tmpl.Variables.Buttons {
		if m.Campaign != "" {
			values[m.Campaign] = firstNonEmpty(m.Example, m.Fallback, "test")
		}
	}
	_, comps, err := templating.Render(tmpl, contact, values)
	if err != nil {
		return fmt.Errorf("jobs: render test of %s: %w", row.Name, err)
	}
	_, err = g.Send(ctx, whatsapp.Message{To: phone, Template: &whatsapp.TemplateMessage{
		Name: row.Name, Language: row.Language, Components: comps}})
	if err != nil {
		return fmt.Errorf("jobs: send test of %s: %w", row.Name, err)
	}
	return nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
