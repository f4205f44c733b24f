package campaigns

import "github.com/heraldhq/herald/views/components"

// ReportView is the analytics part of the campaign page: the funnel from
// the counters, rates, money, A/B variants and uplift against the holdout.
type ReportView struct {
	CampaignID  int64
	Funnel      components.Funnel
	Rates       []Rate
	Attribution string // e.g. "purchase within 3 days of a read or tap"
	Revenue     string
	Cost        string
	ROI         string
	Variants    []VariantView
	// VariantVerdict says whether the variants differ, e.g. "B converts
	// better (p = 0.012)" or "not yet significant".
	VariantVerdict     string
	VariantSignificant bool
	Uplift             *UpliftView
}

// Rate is one headline rate.
type Rate struct {
	Label, Value, Hint string
}

// VariantView is one A/B arm.
type VariantView struct {
	Name     string
	Template string
	Funnel   components.Funnel
	Rates    []Rate
}

// UpliftView compares the treated group with the holdout.
type UpliftView struct {
	TreatedRate, HoldoutRate string
	TreatedN, HoldoutN       string
	Uplift                   string
	Verdict                  string
	Significant              bool
}
