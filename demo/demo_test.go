package demo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/heraldhq/herald/demo"
	"github.com/heraldhq/herald/testdb"
)

func TestLoadSmallOnSQLite(t *testing.T) {
	t.Parallel()
	db := testdb.SQLite(t)
	ctx := context.Background()
	res, err := demo.Load(ctx, db.Store, demo.Options{Contacts: 250, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if res.Contacts != 250 || len(res.Templates) != 3 || len(res.Segments) != 4 || len(res.Campaigns) != 1 || res.Events == 0 {
		t.Fatalf("result %+v", res)
	}
	var countries, zones, approved int64
	db.Store.DB(ctx).Raw("SELECT COUNT(DISTINCT country) FROM contacts").Scan(&countries)
	db.Store.DB(ctx).Raw("SELECT COUNT(DISTINCT timezone) FROM contacts").Scan(&zones)
	db.Store.DB(ctx).Raw("SELECT COUNT(*) FROM templates WHERE status = 'APPROVED'").Scan(&approved)
	if countries < 6 || zones < 6 || approved != 3 {
		t.Fatalf("%d countries, %d zones, %d approved templates", countries, zones, approved)
	}
	st, err := db.Store.CampaignStats(ctx, res.Campaigns[0])
	if err != nil {
		t.Fatal(err)
	}
	recount, _ := db.Store.RecountCampaignStats(ctx, res.Campaigns[0])
	conv, _ := db.Store.RecountConversions(ctx, res.Campaigns[0])
	st.Revenue, st.Cost, st.Converted = 0, 0, conv.Converted
	if st != recount || st.Read == 0 || conv.Converted == 0 {
		t.Fatalf("newsletter counters %+v, recount %+v, conversions %+v", st, recount, conv)
	}
	for _, s := range res.Segments {
		if n, _, err := db.Store.CountSavedSegment(ctx, s); err != nil || n == 0 {
			t.Fatalf("segment %d has %d members (%v)", s, n, err)
		}
	}
	status, ok, err := demo.ReadStatus(ctx, db.Store)
	if err != nil || !ok || status.State != "done" {
		t.Fatalf("status %+v %v %v", status, ok, err)
	}
	if _, err := demo.Load(ctx, db.Store, demo.Options{Contacts: 10}); !errors.Is(err, demo.ErrAlreadyLoaded) {
		t.Fatalf("a second load: %v, want ErrAlreadyLoaded", err)
	}
	var n int64
	db.Store.DB(ctx).Raw("SELECT COUNT(*) FROM contacts").Scan(&n)
	if n != 250 {
		t.Fatalf("%d contacts after a refused second load", n)
	}
}
