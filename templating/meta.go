package templating

import (
	"strings"

	"github.com/heraldhq/herald/whatsapp"
)

// FromMeta converts a template read from the Graph API (for instance one
// created directly in WhatsApp Manager) into Herald's shape. Variables are
// left unmapped: the marketer maps them before a campaign can use it.
func FromMeta(mt whatsapp.Template) Template {
	t := Template{Name: mt.Name, Language: mt.Language, Category: strings.ToUpper(mt.Category),
		ParameterFormat: strings.ToUpper(mt.ParameterFormat)}
	for _, c := range mt.Components {
		switch strings.ToUpper(c.Type) {
		case whatsapp.TemplateHeader:
			h := &Header{Type: strings.ToLower(c.Format)}
			if h.Type == HeaderText {
				h.Text = c.Text
			} else if c.Example != nil && len(c.Example.HeaderHandle) > 0 {
				h.MediaURL = c.Example.HeaderHandle[0]
			}
			t.Header = h
		case whatsapp.TemplateBody:
			t.Body = c.Text
		case whatsapp.TemplateFooter:
			t.Footer = c.Text
		case whatsapp.TemplateButtons:
			for _, b := range c.Buttons {
				hb := Button{Type: strings.ToLower(b.Type), Text: b.Text, URL: b.URL, Phone: b.PhoneNumber}
				if len(b.Example) > 0 && hb.Type == ButtonCopyCode {
					hb.Example = b.Example[0]
				}
				t.Buttons = append(t.Buttons, hb)
			}
		}
	}
	t.Normalize()
	return t
}
