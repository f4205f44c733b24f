package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"

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
	// AppID is the Meta app that owns media-example uploads
	// (WHATSAPP_APP_ID); needed only for templates with a media header.
	AppID string
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

// CreateTemplate submits a template. A media header's example is given to
// Herald as a URL; Meta reviews an uploaded file instead, so the sample is
// fetched and uploaded first and the URL replaced by the upload's handle.
func (g TemplateGateway) CreateTemplate(ctx context.Context, def whatsapp.TemplateDefinition) (whatsapp.CreateTemplateResult, error) {
	def.Components = append([]whatsapp.TemplateComponent(nil), def.Components...) // the caller's stays as it was
	for i, c := range def.Components {
		if c.Type != whatsapp.TemplateHeader || c.Example == nil || len(c.Example.HeaderHandle) == 0 {
			continue
		}
		src := c.Example.HeaderHandle[0]
		if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
			continue // already a handle
		}
		handle, err := g.uploadFromURL(ctx, src)
		if err != nil {
			return whatsapp.CreateTemplateResult{}, fmt.Errorf("jobs: media example of %s: %w", def.Name, err)
		}
		ex := *c.Example
		ex.HeaderHandle = []string{handle}
		def.Components[i].Example = &ex
	}
	return g.Client.CreateTemplate(ctx, def)
}

// maxExampleDownload bounds the media sample fetched for a template.
const maxExampleDownload = 16 << 20

func (g TemplateGateway) uploadFromURL(ctx context.Context, src string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", src, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("fetch %s: HTTP %d", src, res.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxExampleDownload+1))
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", src, err)
	}
	if len(data) > maxExampleDownload {
		return "", fmt.Errorf("fetch %s: larger than 16 MB", src)
	}
	mime := res.Header.Get("Content-Type")
	if i := strings.IndexByte(mime, ';'); i >= 0 {
		mime = mime[:i]
	}
	if mime == "" {
		mime = http.DetectContentType(data)
	}
	name := path.Base(req.URL.Path)
	if name == "/" || name == "." {
		name = "example"
	}
	return g.UploadExample(ctx, g.AppID, name, mime, data)
}
