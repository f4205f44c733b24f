package models_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

func newDraft(name, language string) *models.Template {
	header := `{"type":"text","text":"Flash sale"}`
	return &models.Template{Name: name, Language: language, Category: "MARKETING", Header: &header,
		Body: "Hi {{1}}, 30% off.", Footer: "Reply STOP",
		Buttons:   `[{"type":"quick_reply","text":"Show me"}]`,
		Variables: `{"body":[{"field":"first_name","fallback":"there"}]}`}
}

func TestTemplateCRUD(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			d := newDraft("flash_sale", "en_US")
			if err := s.CreateTemplate(ctx, d); err != nil {
				t.Fatal(err)
			}
			if d.ID == 0 || d.Status != models.TemplateDraft || d.Quality != "UNKNOWN" || d.ParameterFormat != "POSITIONAL" {
				t.Fatalf("created %+v", d)
			}
			if err := s.CreateTemplate(ctx, newDraft("flash_sale", "en_US")); !errors.Is(err, models.ErrConflict) {
				t.Errorf("same name and language: err = %v, want ErrConflict", err)
			}
			got, err := s.TemplateByID(ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Body != d.Body || got.Header == nil || !jsonSame(t, *got.Header, *d.Header) || !jsonSame(t, got.Variables, d.Variables) {
				t.Errorf("read back %+v", got)
			}

			got.Body = "Hello {{1}}, 40% off."
			if err := s.UpdateTemplate(ctx, got); err != nil {
				t.Fatal(err)
			}
			if again, _ := s.TemplateByID(ctx, d.ID); again.Body != "Hello {{1}}, 40% off." {
				t.Errorf("draft update not saved: %q", again.Body)
			}

			// Once submitted, content is frozen but mappings still change.
			if err := s.MarkTemplateSubmitted(ctx, d.ID, "waba1", "meta-1", models.TemplatePending, ""); err != nil {
				t.Fatal(err)
			}
			sub, _ := s.TemplateByID(ctx, d.ID)
			sub.Body = "Changed {{1}} after review."
			if err := s.UpdateTemplate(ctx, sub); !errors.Is(err, models.ErrConflict) {
				t.Errorf("content change of a submitted template: err = %v, want ErrConflict", err)
			}
			sub, _ = s.TemplateByID(ctx, d.ID)
			sub.Variables = `{"body":[{"field":"last_name","fallback":"friend"}]}`
			if err := s.UpdateTemplate(ctx, sub); err != nil {
				t.Fatalf("mapping change of a submitted template: %v", err)
			}
			if after, _ := s.TemplateByID(ctx, d.ID); !jsonSame(t, after.Variables, sub.Variables) {
				t.Errorf("variables = %s", after.Variables)
			}
			byName, err := s.TemplateByNameLanguage(ctx, "waba1", "flash_sale", "en_US")
			if err != nil || byName.ID != d.ID || byName.MetaID != "meta-1" {
				t.Errorf("TemplateByNameLanguage = %+v, %v", byName, err)
			}
			if _, err := s.TemplateByNameLanguage(ctx, "waba1", "flash_sale", "pt_BR"); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("unknown language: err = %v", err)
			}

			// Duplicate and add a language make drafts with the same content.
			dup, err := s.DuplicateTemplate(ctx, d.ID, "flash_sale_v2")
			if err != nil {
				t.Fatal(err)
			}
			if dup.Status != models.TemplateDraft || dup.MetaID != "" || dup.WABAID != "" || dup.Body != "Hello {{1}}, 40% off." || dup.Language != "en_US" {
				t.Errorf("duplicate = %+v", dup)
			}
			pt, err := s.AddTemplateLanguage(ctx, d.ID, "pt_BR")
			if err != nil {
				t.Fatal(err)
			}
			if pt.Name != "flash_sale" || pt.Language != "pt_BR" || pt.Status != models.TemplateDraft {
				t.Errorf("translation = %+v", pt)
			}
			if _, err := s.AddTemplateLanguage(ctx, d.ID, "pt_BR"); !errors.Is(err, models.ErrConflict) {
				t.Errorf("second pt_BR: err = %v, want ErrConflict", err)
			}

			// List: filters by status and name; archive hides.
			list := func(f models.TemplateFilter) []int64 {
				t.Helper()
				ts, err := s.ListTemplates(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				var ids []int64
				for _, x := range ts {
					ids = append(ids, x.ID)
				}
				return ids
			}
			if ids := list(models.TemplateFilter{}); len(ids) != 3 {
				t.Errorf("all = %v", ids)
			}
			if ids := list(models.TemplateFilter{Status: models.TemplatePending}); len(ids) != 1 || ids[0] != d.ID {
				t.Errorf("pending = %v", ids)
			}
			if ids := list(models.TemplateFilter{Query: "V2"}); len(ids) != 1 || ids[0] != dup.ID {
				t.Errorf("search v2 = %v", ids)
			}
			if ids := list(models.TemplateFilter{Query: "%"}); len(ids) != 0 {
				t.Errorf("search %% matched %v; wildcards must be literal", ids)
			}
			if err := s.ArchiveTemplate(ctx, dup.ID); err != nil {
				t.Fatal(err)
			}
			if ids := list(models.TemplateFilter{}); len(ids) != 2 {
				t.Errorf("after archive = %v", ids)
			}
			if ids := list(models.TemplateFilter{Archived: true}); len(ids) != 1 || ids[0] != dup.ID {
				t.Errorf("archived = %v", ids)
			}
			if err := s.ArchiveTemplate(ctx, 99999); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("archive unknown: err = %v", err)
			}
		})
	}
}

func jsonSame(t *testing.T, a, b string) bool {
	t.Helper()
	return normJSON(t, a) == normJSON(t, b)
}

func TestTemplateStatusFromMeta(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			d := newDraft("order_shipped", "pt_BR")
			if err := s.CreateTemplate(ctx, d); err != nil {
				t.Fatal(err)
			}
			if err := s.MarkTemplateSubmitted(ctx, d.ID, "waba1", "111", models.TemplatePending, "UTILITY"); err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name          string
				ref           models.TemplateRef
				status        string
				reason        string
				wantReason    string
				wantErrNotFnd bool
			}{
				{"by meta id", models.TemplateRef{MetaID: "111"}, models.TemplateRejected, "INVALID_FORMAT", "INVALID_FORMAT", false},
				{"by name and language", models.TemplateRef{Name: "order_shipped", Language: "pt_BR"}, models.TemplateApproved, "NONE", "", false},
				{"unknown id", models.TemplateRef{MetaID: "999"}, models.TemplatePaused, "", "", true},
			}
			for _, tc := range tests {
				err := s.SetTemplateStatus(ctx, "waba1", tc.ref, tc.status, tc.reason)
				if tc.wantErrNotFnd {
					if !errors.Is(err, models.ErrNotFound) {
						t.Errorf("%s: err = %v, want ErrNotFound", tc.name, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", tc.name, err)
				}
				got, _ := s.TemplateByID(ctx, d.ID)
				if got.Status != tc.status || got.StatusReason != tc.wantReason || got.Category != "UTILITY" {
					t.Errorf("%s: status %s reason %q category %s", tc.name, got.Status, got.StatusReason, got.Category)
				}
			}
			if err := s.SetTemplateStatus(ctx, "waba1", models.TemplateRef{}, "APPROVED", ""); !errors.Is(err, models.ErrInvalid) {
				t.Errorf("empty ref: err = %v, want ErrInvalid", err)
			}
			if err := s.SetTemplateQuality(ctx, "waba1", models.TemplateRef{MetaID: "111"}, "YELLOW"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.TemplateByID(ctx, d.ID); got.Quality != "YELLOW" {
				t.Errorf("quality = %s", got.Quality)
			}

			// Sync: a known template gets Meta's state, an unknown one is imported,
			// a Herald draft of the same name and language is adopted.
			up, created, err := s.UpsertTemplateFromMeta(ctx, models.MetaTemplate{WABAID: "waba1", MetaID: "111",
				Name: "order_shipped", Language: "pt_BR", Category: "MARKETING", Status: "PAUSED", Quality: "RED", Body: "ignored"})
			if err != nil || created || up.ID != d.ID || up.Status != "PAUSED" || up.Quality != "RED" || up.Category != "MARKETING" || up.Body != d.Body {
				t.Errorf("update from Meta = %+v created=%v err=%v", up, created, err)
			}
			header := `{"type":"image","media_url":"https://cdn.example.com/a.jpg"}`
			imp, created, err := s.UpsertTemplateFromMeta(ctx, models.MetaTemplate{WABAID: "waba1", MetaID: "222",
				Name: "made_in_manager", Language: "en", Category: "UTILITY", ParameterFormat: "POSITIONAL", Status: "APPROVED",
				Header: &header, Body: "Your code is ready.", Buttons: `[{"type":"quick_reply","text":"OK"}]`})
			if err != nil || !created || imp.Status != "APPROVED" || imp.Body != "Your code is ready." || imp.SyncedAt == nil || imp.Quality != "UNKNOWN" {
				t.Errorf("import = %+v created=%v err=%v", imp, created, err)
			}
			if _, created, _ := s.UpsertTemplateFromMeta(ctx, models.MetaTemplate{WABAID: "waba1", MetaID: "222",
				Name: "made_in_manager", Language: "en", Status: "APPROVED"}); created {
				t.Error("second sync imported the template again")
			}
			draft := newDraft("welcome", "en")
			if err := s.CreateTemplate(ctx, draft); err != nil {
				t.Fatal(err)
			}
			adopted, created, err := s.UpsertTemplateFromMeta(ctx, models.MetaTemplate{WABAID: "waba1", MetaID: "333",
				Name: "welcome", Language: "en", Status: "PENDING"})
			if err != nil || created || adopted.ID != draft.ID || adopted.MetaID != "333" || adopted.WABAID != "waba1" {
				t.Errorf("adopt draft = %+v created=%v err=%v", adopted, created, err)
			}
		})
	}
}

func TestLinkTapRecordsOnce(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := db.Store
			now := time.Now().UTC()
			if err := s.DB(ctx).Exec(`INSERT INTO campaigns (name, created_at, updated_at) VALUES ('October sale', ?, ?)`, now, now).Error; err != nil {
				t.Fatal(err)
			}
			var campaignID, messageID int64
			s.DB(ctx).Raw(`SELECT id FROM campaigns WHERE name = 'October sale'`).Scan(&campaignID)
			if err := s.DB(ctx).Exec(`INSERT INTO messages (campaign_id, to_phone, send_after, created_at, updated_at) VALUES (?, '5511', ?, ?, ?)`,
				campaignID, now, now, now).Error; err != nil {
				t.Fatal(err)
			}
			s.DB(ctx).Raw(`SELECT id FROM messages WHERE campaign_id = ?`, campaignID).Scan(&messageID)

			if _, err := s.CreateLink(ctx, "Ab12Cd34", messageID, "https://shop.example.com/sale/oct"); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateLink(ctx, "Ab12Cd34", 0, "https://other.example.com"); !errors.Is(err, models.ErrConflict) {
				t.Errorf("duplicate code: err = %v, want ErrConflict", err)
			}
			first, err := s.RecordLinkTap(ctx, "Ab12Cd34", now)
			if err != nil {
				t.Fatal(err)
			}
			if !first.FirstTap || first.URL != "https://shop.example.com/sale/oct" || first.MessageID != messageID ||
				first.CampaignID != campaignID || first.UTMCampaign() != "October sale" {
				t.Errorf("first tap = %+v", first)
			}
			second, err := s.RecordLinkTap(ctx, "Ab12Cd34", now.Add(time.Minute))
			if err != nil || second.FirstTap {
				t.Errorf("second tap = %+v, %v", second, err)
			}
			var events int64
			s.DB(ctx).Raw(`SELECT COUNT(*) FROM message_events WHERE message_id = ? AND status = 'tapped'`, messageID).Scan(&events)
			var tapped time.Time
			s.DB(ctx).Raw(`SELECT tapped_at FROM messages WHERE id = ?`, messageID).Scan(&tapped)
			if d := tapped.Sub(now); events != 1 || d < -time.Second || d > time.Second {
				t.Errorf("events = %d, tapped_at = %v (want %v)", events, tapped, now)
			}

			if _, err := s.CreateLink(ctx, "NoMsg123", 0, "https://shop.example.com/"); err != nil {
				t.Fatal(err)
			}
			if tap, err := s.RecordLinkTap(ctx, "NoMsg123", now); err != nil || tap.MessageID != 0 || tap.FirstTap || tap.UTMCampaign() != "" {
				t.Errorf("tap without message = %+v, %v", tap, err)
			}
			if _, err := s.RecordLinkTap(ctx, "Unknown1", now); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("unknown code: err = %v, want ErrNotFound", err)
			}
		})
	}
}

func normJSON(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %q: %v", s, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}
