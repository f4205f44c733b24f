package dashboard

import (
	"github.com/heraldhq/herald/demo"
	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/views/settings"
)

// View is what the dashboard shows.
type View struct {
	Contacts  int64
	Segments  int64
	Templates int64
	Campaigns int64
	Setup     settings.Checklist
	CanEdit   bool
	Periods   []Period
	Recent    []CampaignRow
	Health    models.ListHealth
	Senders   []SenderRow
	// Demo is the demo loader's status; nil when demo data was never loaded.
	Demo *demo.Status
}

// Period is the totals of one period.
type Period struct {
	Days   int
	Totals models.PeriodTotals
}

// CampaignRow is a recent campaign with its key rates.
type CampaignRow struct {
	ID                                              int64
	Name, Status                                    string
	Sent                                            int64
	DeliveryRate, ReadRate, ConversionRate, Revenue string
}

// SenderRow is one sender number's health.
type SenderRow struct {
	Name, Phone, Quality, Tier, Status string
}

// Empty reports whether Herald has nothing yet: the demo offer shows.
func (v View) Empty() bool { return v.Contacts == 0 && v.Campaigns == 0 }
