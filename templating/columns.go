package templating

import (
	"encoding/json"
	"fmt"
)

// Columns is a template split the way the store keeps it: scalar columns
// plus JSON texts for the header, buttons and variable mappings. The
// conversion lives here because models may not import templating.
type Columns struct {
	Name, Language, Category, ParameterFormat string
	Header                                    *string // nil without a header
	Body, Footer                              string
	Buttons                                   string // JSON array
	Variables                                 string // JSON object
}

// Columns splits t into store columns.
func (t Template) Columns() (Columns, error) {
	c := Columns{Name: t.Name, Language: t.Language, Category: t.Category, ParameterFormat: t.ParameterFormat,
		Body: t.Body, Footer: t.Footer}
	if t.Header != nil {
		raw, err := json.Marshal(t.Header)
		if err != nil {
			return Columns{}, fmt.Errorf("templating: encode header: %w", err)
		}
		h := string(raw)
		c.Header = &h
	}
	buttons := t.Buttons
	if buttons == nil {
		buttons = []Button{}
	}
	raw, err := json.Marshal(buttons)
	if err != nil {
		return Columns{}, fmt.Errorf("templating: encode buttons: %w", err)
	}
	c.Buttons = string(raw)
	if raw, err = json.Marshal(t.Variables); err != nil {
		return Columns{}, fmt.Errorf("templating: encode variables: %w", err)
	}
	c.Variables = string(raw)
	return c, nil
}

// FromColumns rebuilds a template from store columns.
func FromColumns(c Columns) (Template, error) {
	t := Template{Name: c.Name, Language: c.Language, Category: c.Category, ParameterFormat: c.ParameterFormat,
		Body: c.Body, Footer: c.Footer}
	if c.Header != nil && *c.Header != "" && *c.Header != "null" {
		t.Header = &Header{}
		if err := json.Unmarshal([]byte(*c.Header), t.Header); err != nil {
			return Template{}, fmt.Errorf("templating: decode header of %s: %w", c.Name, err)
		}
	}
	if c.Buttons != "" {
		if err := json.Unmarshal([]byte(c.Buttons), &t.Buttons); err != nil {
			return Template{}, fmt.Errorf("templating: decode buttons of %s: %w", c.Name, err)
		}
	}
	if c.Variables != "" {
		if err := json.Unmarshal([]byte(c.Variables), &t.Variables); err != nil {
			return Template{}, fmt.Errorf("templating: decode variables of %s: %w", c.Name, err)
		}
	}
	t.Normalize()
	return t, nil
}
