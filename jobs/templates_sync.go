package jobs

import (
	"context"
	"fmt"
	"strings"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/templating"
	"github.com/heraldhq/herald/whatsapp"
)

// TemplateLister reads a WABA's templates; *whatsapp.Client implements it.
type TemplateLister interface {
	ListTemplates(ctx context.Context) ([]whatsapp.Template, error)
}

// TemplateSyncResult counts what a sync changed.
type TemplateSyncResult struct {
	Imported int // templates Herald had not seen (made in WhatsApp Manager)
	Updated  int // known templates whose status, quality and category were refreshed
}

// SyncTemplates reads every template of the WABA and applies it to the
// store: statuses and quality that a missed webhook left stale are
// corrected, and templates created directly in Meta's tools are imported.
// Register it with Runner.Periodic (see TemplateSyncJob).
func SyncTemplates(ctx context.Context, store *models.Store, lister TemplateLister, wabaID string) (TemplateSyncResult, error) {
	var res TemplateSyncResult
	all, err := lister.ListTemplates(ctx)
	if err != nil {
		return res, fmt.Errorf("jobs: sync templates: %w", err)
	}
	for _, mt := range all {
		cols, err := templating.FromMeta(mt).Columns()
		if err != nil {
			return res, fmt.Errorf("jobs: sync template %s/%s: %w", mt.Name, mt.Language, err)
		}
		reason := ""
		if strings.EqualFold(mt.Status, whatsapp.StatusRejected) && mt.RejectedReason != "NONE" {
			reason = mt.RejectedReason
		}
		_, created, err := store.UpsertTemplateFromMeta(ctx, models.MetaTemplate{
			WABAID: wabaID, MetaID: mt.ID, Name: mt.Name, Language: mt.Language,
			Category: strings.ToUpper(mt.Category), ParameterFormat: cols.ParameterFormat,
			Status: strings.ToUpper(mt.Status), StatusReason: reason, Quality: mt.Quality(),
			Header: cols.Header, Body: cols.Body, Footer: cols.Footer, Buttons: cols.Buttons,
		})
		if err != nil {
			return res, fmt.Errorf("jobs: sync templates: %w", err)
		}
		if created {
			res.Imported++
		} else {
			res.Updated++
		}
	}
	return res, nil
}

// TemplateSyncJob adapts SyncTemplates to Runner.Periodic, e.g.
// runner.Periodic("templates-sync", "*/15 * * * *", jobs.TemplateSyncJob(store, client, wabaID)).
func TemplateSyncJob(store *models.Store, lister TemplateLister, wabaID string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := SyncTemplates(ctx, store, lister, wabaID)
		return err
	}
}
