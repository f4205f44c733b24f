package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Template statuses. DRAFT is Herald's own (not yet submitted); the rest are
// Meta's. Meta has more (IN_APPEAL, FLAGGED…), stored as they come.
const (
	TemplateDraft    = "DRAFT"
	TemplatePending  = "PENDING"
	TemplateApproved = "APPROVED"
	TemplateRejected = "REJECTED"
	TemplatePaused   = "PAUSED"
	TemplateDisabled = "DISABLED"
)

// TemplateStatuses are the statuses the list can be filtered by.
var TemplateStatuses = []string{TemplateDraft, TemplatePending, TemplateApproved, TemplateRejected, TemplatePaused, TemplateDisabled}

// Template is one translation of a message template. Header, Buttons and
// Variables are JSON in the shape of package templating, which callers
// decode; models keeps them opaque so it imports nothing of Herald.
type Template struct {
	ID              int64
	WABAID          string `gorm:"column:waba_id"`
	MetaID          string `gorm:"column:meta_id"`
	Name            string
	Language        string
	Category        string
	ParameterFormat string
	Status          string
	StatusReason    string
	Quality         string
	Header          *string // JSON object, nil when the template has no header
	Body            string
	Footer          string
	Buttons         string // JSON array
	Variables       string // JSON object
	ArchivedAt      *time.Time
	SyncedAt        *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// TableName is the templates table.
func (Template) TableName() string { return "templates" }

// Editable reports whether the template's content may still change: only
// drafts, since Meta reviews what was submitted.
func (t *Template) Editable() bool { return t.Status == TemplateDraft }

// TemplateFilter selects templates for the list.
type TemplateFilter struct {
	Status   string // one status, or "" for all
	Query    string // part of the name, case-insensitive
	Archived bool   // list archived templates instead of active ones
}

// TemplateRef names a template the way Meta's webhooks do: by its Meta id,
// or by name and language when the id is unknown.
type TemplateRef struct {
	MetaID, Name, Language string
}

func (s *Store) withDefaults(t *Template) {
	if t.Status == "" {
		t.Status = TemplateDraft
	}
	if t.Quality == "" {
		t.Quality = "UNKNOWN"
	}
	if t.ParameterFormat == "" {
		t.ParameterFormat = "POSITIONAL"
	}
	if t.Buttons == "" {
		t.Buttons = "[]"
	}
	if t.Variables == "" {
		t.Variables = "{}"
	}
	if t.Header != nil && (*t.Header == "" || *t.Header == "null") {
		t.Header = nil
	}
}

// CreateTemplate stores a new template (a draft unless Status says
// otherwise). A name and language already used by an active template is
// ErrConflict, whatever WABA it belongs to: Meta would refuse it.
func (s *Store) CreateTemplate(ctx context.Context, t *Template) error {
	s.withDefaults(t)
	now := time.Now().UTC()
	t.ID, t.CreatedAt, t.UpdatedAt = 0, now, now
	return s.Tx(ctx, func(tx *Store) error {
		var n int64
		err := tx.db.Model(&Template{}).
			Where("name = ? AND language = ? AND archived_at IS NULL", t.Name, t.Language).Count(&n).Error
		if err != nil {
			return fmt.Errorf("models: create template %s/%s: %w", t.Name, t.Language, err)
		}
		if n > 0 {
			return fmt.Errorf("models: template %s in %s already exists: %w", t.Name, t.Language, ErrConflict)
		}
		if err := tx.db.Create(t).Error; err != nil {
			return notFound(err, "create template "+t.Name+"/"+t.Language)
		}
		return nil
	})
}

// UpdateTemplate saves a draft's content. A submitted template keeps its
// content (Meta reviewed it): ErrConflict, unless only the variable
// mappings changed, which are Herald's alone and always saved.
func (s *Store) UpdateTemplate(ctx context.Context, t *Template) error {
	s.withDefaults(t)
	return s.Tx(ctx, func(tx *Store) error {
		cur, err := tx.TemplateByID(ctx, t.ID)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		if !cur.Editable() {
			if !sameContent(cur, t) {
				return fmt.Errorf("models: template %s is %s, so its content cannot change; duplicate it instead: %w",
					cur.Name, strings.ToLower(cur.Status), ErrConflict)
			}
			return tx.db.Model(&Template{}).Where("id = ?", t.ID).
				Updates(map[string]any{"variables": t.Variables, "updated_at": now}).Error
		}
		if t.Name != cur.Name || t.Language != cur.Language {
			var n int64
			if err := tx.db.Model(&Template{}).Where("name = ? AND language = ? AND archived_at IS NULL AND id <> ?",
				t.Name, t.Language, t.ID).Count(&n).Error; err != nil {
				return fmt.Errorf("models: update template %d: %w", t.ID, err)
			}
			if n > 0 {
				return fmt.Errorf("models: template %s in %s already exists: %w", t.Name, t.Language, ErrConflict)
			}
		}
		err = tx.db.Model(&Template{}).Where("id = ?", t.ID).Updates(map[string]any{
			"name": t.Name, "language": t.Language, "category": t.Category, "parameter_format": t.ParameterFormat,
			"header": t.Header, "body": t.Body, "footer": t.Footer, "buttons": t.Buttons, "variables": t.Variables,
			"updated_at": now,
		}).Error
		if err != nil {
			return notFound(err, fmt.Sprintf("update template %d", t.ID))
		}
		return nil
	})
}

func sameContent(a, b *Template) bool {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	return a.Name == b.Name && a.Language == b.Language && a.Category == b.Category &&
		a.ParameterFormat == b.ParameterFormat && jsonEqual(str(a.Header), str(b.Header)) && a.Body == b.Body &&
		a.Footer == b.Footer && jsonEqual(a.Buttons, b.Buttons)
}

// TemplateByID finds a template by id.
func (s *Store) TemplateByID(ctx context.Context, id int64) (*Template, error) {
	var t Template
	if err := s.db.WithContext(ctx).First(&t, id).Error; err != nil {
		return nil, notFound(err, fmt.Sprintf("template %d", id))
	}
	return &t, nil
}

// TemplateByNameLanguage finds the template of a WABA by name and language,
// the key Meta sends with.
func (s *Store) TemplateByNameLanguage(ctx context.Context, wabaID, name, language string) (*Template, error) {
	var t Template
	err := s.db.WithContext(ctx).Where("waba_id = ? AND name = ? AND language = ?", wabaID, name, language).First(&t).Error
	if err != nil {
		return nil, notFound(err, "template "+name+"/"+language)
	}
	return &t, nil
}

// ListTemplates returns templates matching f, most recently changed first.
func (s *Store) ListTemplates(ctx context.Context, f TemplateFilter) ([]Template, error) {
	q := s.db.WithContext(ctx).Model(&Template{})
	if f.Archived {
		q = q.Where("archived_at IS NOT NULL")
	} else {
		q = q.Where("archived_at IS NULL")
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if query := strings.TrimSpace(f.Query); query != "" {
		q = q.Where(`LOWER(name) LIKE ? ESCAPE '\'`, "%"+escapeLike(strings.ToLower(query))+"%")
	}
	var out []Template
	if err := q.Order("updated_at DESC, id DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("models: list templates: %w", err)
	}
	return out, nil
}

// jsonEqual compares two JSON texts by value: Postgres hands JSONB back
// re-formatted, so the text alone cannot tell a change.
func jsonEqual(a, b string) bool {
	if a == b {
		return true
	}
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// copyTemplate creates a draft from src with another name or language.
func (s *Store) copyTemplate(ctx context.Context, id int64, change func(*Template)) (*Template, error) {
	src, err := s.TemplateByID(ctx, id)
	if err != nil {
		return nil, err
	}
	cp := *src
	cp.WABAID, cp.MetaID, cp.Status, cp.StatusReason, cp.Quality = "", "", TemplateDraft, "", ""
	cp.ArchivedAt, cp.SyncedAt = nil, nil
	change(&cp)
	if err := s.CreateTemplate(ctx, &cp); err != nil {
		return nil, err
	}
	return &cp, nil
}

// DuplicateTemplate copies a template as a new draft named name.
func (s *Store) DuplicateTemplate(ctx context.Context, id int64, name string) (*Template, error) {
	return s.copyTemplate(ctx, id, func(t *Template) { t.Name = name })
}

// AddTemplateLanguage copies a template as a new draft in language, to be
// translated and submitted as another translation of the same name.
func (s *Store) AddTemplateLanguage(ctx context.Context, id int64, language string) (*Template, error) {
	return s.copyTemplate(ctx, id, func(t *Template) { t.Language = language })
}

// ArchiveTemplate hides a template from lists and campaign pickers.
func (s *Store) ArchiveTemplate(ctx context.Context, id int64) error {
	now := time.Now().UTC()
	res := s.db.WithContext(ctx).Model(&Template{}).Where("id = ? AND archived_at IS NULL", id).
		Updates(map[string]any{"archived_at": now, "updated_at": now})
	if res.Error != nil {
		return fmt.Errorf("models: archive template %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		if _, err := s.TemplateByID(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// MarkTemplateSubmitted records Meta's answer to a creation: the template
// now belongs to wabaID under metaID with status (usually PENDING).
func (s *Store) MarkTemplateSubmitted(ctx context.Context, id int64, wabaID, metaID, status, category string) error {
	now := time.Now().UTC()
	upd := map[string]any{"waba_id": wabaID, "meta_id": metaID, "status": status, "status_reason": "",
		"synced_at": now, "updated_at": now}
	if category != "" {
		upd["category"] = category
	}
	res := s.db.WithContext(ctx).Model(&Template{}).Where("id = ?", id).Updates(upd)
	if res.Error != nil {
		return notFound(res.Error, fmt.Sprintf("mark template %d submitted", id))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: mark template %d submitted: %w", id, ErrNotFound)
	}
	return nil
}

// MetaTemplate is a template as Meta reports it (sync or import). Header,
// Buttons are JSON in templating's shape, converted by the caller.
type MetaTemplate struct {
	WABAID, MetaID, Name, Language, Category, ParameterFormat string
	Status, StatusReason, Quality                             string
	Header                                                    *string
	Body, Footer, Buttons                                     string
}

// UpsertTemplateFromMeta applies what Meta says about a template: an
// existing row (by Meta id, then by WABA, name and language, then a draft of
// the same name and language) gets Meta's status, quality and category; a
// template Herald has never seen (made in WhatsApp Manager) is imported with
// its content. created tells which happened.
func (s *Store) UpsertTemplateFromMeta(ctx context.Context, m MetaTemplate) (t *Template, created bool, err error) {
	err = s.Tx(ctx, func(tx *Store) error {
		var cur Template
		db := tx.db.WithContext(ctx)
		find := func(q *gorm.DB) (bool, error) {
			err := q.First(&cur).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return false, nil
			}
			return err == nil, err
		}
		found := false
		var ferr error
		if m.MetaID != "" {
			found, ferr = find(db.Where("waba_id = ? AND meta_id = ?", m.WABAID, m.MetaID))
		}
		if !found && ferr == nil {
			found, ferr = find(db.Where("waba_id = ? AND name = ? AND language = ?", m.WABAID, m.Name, m.Language))
		}
		if !found && ferr == nil {
			found, ferr = find(db.Where("waba_id = '' AND name = ? AND language = ? AND archived_at IS NULL", m.Name, m.Language))
		}
		if ferr != nil {
			return fmt.Errorf("models: upsert template %s/%s: %w", m.Name, m.Language, ferr)
		}
		now := time.Now().UTC()
		if m.Quality == "" {
			m.Quality = "UNKNOWN"
		}
		if !found {
			t = &Template{WABAID: m.WABAID, MetaID: m.MetaID, Name: m.Name, Language: m.Language, Category: m.Category,
				ParameterFormat: m.ParameterFormat, Status: m.Status, StatusReason: m.StatusReason, Quality: m.Quality,
				Header: m.Header, Body: m.Body, Footer: m.Footer, Buttons: m.Buttons, SyncedAt: &now}
			tx.withDefaults(t)
			t.CreatedAt, t.UpdatedAt = now, now
			if err := db.Create(t).Error; err != nil {
				return notFound(err, "import template "+m.Name+"/"+m.Language)
			}
			created = true
			return nil
		}
		upd := map[string]any{"waba_id": m.WABAID, "status": m.Status, "status_reason": m.StatusReason,
			"quality": m.Quality, "synced_at": now, "updated_at": now}
		if m.MetaID != "" {
			upd["meta_id"] = m.MetaID
		}
		if m.Category != "" {
			upd["category"] = m.Category
		}
		if err := db.Model(&Template{}).Where("id = ?", cur.ID).Updates(upd).Error; err != nil {
			return fmt.Errorf("models: update template %d from Meta: %w", cur.ID, err)
		}
		t, err = tx.TemplateByID(ctx, cur.ID)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return t, created, nil
}

// refWhere narrows a query to the template a webhook names.
func refWhere(q *gorm.DB, wabaID string, ref TemplateRef) (*gorm.DB, error) {
	switch {
	case ref.MetaID != "":
		return q.Where("waba_id = ? AND meta_id = ?", wabaID, ref.MetaID), nil
	case ref.Name != "" && ref.Language != "":
		return q.Where("waba_id = ? AND name = ? AND language = ?", wabaID, ref.Name, ref.Language), nil
	}
	return nil, fmt.Errorf("models: template reference needs a Meta id or a name and language: %w", ErrInvalid)
}

func (s *Store) updateByRef(ctx context.Context, what, wabaID string, ref TemplateRef, upd map[string]any) error {
	q, err := refWhere(s.db.WithContext(ctx).Model(&Template{}), wabaID, ref)
	if err != nil {
		return err
	}
	upd["updated_at"] = time.Now().UTC()
	res := q.Updates(upd)
	if res.Error != nil {
		return fmt.Errorf("models: %s of template %+v: %w", what, ref, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("models: %s of template %+v: %w", what, ref, ErrNotFound)
	}
	return nil
}

// SetTemplateStatus applies a message_template_status_update webhook. The
// reason is kept for REJECTED (and the like) and cleared otherwise.
func (s *Store) SetTemplateStatus(ctx context.Context, wabaID string, ref TemplateRef, status, reason string) error {
	if reason == "NONE" {
		reason = ""
	}
	return s.updateByRef(ctx, "set status", wabaID, ref, map[string]any{"status": status, "status_reason": reason})
}

// SetTemplateQuality applies a message_template_quality_update webhook.
func (s *Store) SetTemplateQuality(ctx context.Context, wabaID string, ref TemplateRef, quality string) error {
	return s.updateByRef(ctx, "set quality", wabaID, ref, map[string]any{"quality": quality})
}

// SetTemplateCategory applies a template_category_update webhook: Meta
// re-categorised the template, and billing follows the new category.
func (s *Store) SetTemplateCategory(ctx context.Context, wabaID string, ref TemplateRef, category string) error {
	return s.updateByRef(ctx, "set category", wabaID, ref, map[string]any{"category": category})
}

// PreviewContact is a contact as the template composer previews with it.
type PreviewContact struct {
	ID                                                   int64
	FirstName, LastName, Phone, Email, Country, Language string
	Timezone, LifecycleStage                             string
	TotalOrders                                          int
	TotalSpent                                           float64
	Attributes                                           string // JSON object
}

// TemplateSampleContacts returns the first few contacts, oldest first, for
// the composer's "preview as" picker.
func (s *Store) TemplateSampleContacts(ctx context.Context, limit int) ([]PreviewContact, error) {
	var out []PreviewContact
	err := s.db.WithContext(ctx).Raw(`SELECT id, first_name, last_name, phone, email, country, language, timezone,
		lifecycle_stage, total_orders, total_spent, attributes FROM contacts ORDER BY id LIMIT ?`, limit).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("models: sample contacts: %w", err)
	}
	return out, nil
}
