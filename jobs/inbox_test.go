package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/testdb"
)

func TestPriorityInbox(t *testing.T) {
	var none *PriorityInbox
	if none.ClaimFor() != "" {
		t.Fatal("a nil inbox (no lane here) must not take claims")
	}
	in := &PriorityInbox{instance: "i"}
	if in.ClaimFor() != "i" {
		t.Fatal("an open inbox claims for its instance")
	}
	ctx := context.Background()
	for id := range int64(3) {
		if err := in.Give(ctx, nil, models.ClaimedMessage{ID: id + 1}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	got, db := in.take(2, now)
	if len(got) != 2 || got[0].ID != 1 || !db {
		t.Fatalf("first take: %v db=%v, want messages 1, 2 and a ledger claim (never done)", got, db)
	}
	if got, db = in.take(2, now.Add(10*time.Millisecond)); len(got) != 1 || got[0].ID != 3 || db {
		t.Fatalf("second take: %v db=%v, want message 3 and no ledger claim", got, db)
	}
	if got, db = in.take(2, now.Add(20*time.Millisecond)); len(got) != 0 || db {
		t.Fatalf("empty take: %v db=%v, want nothing and no ledger claim", got, db)
	}
	in.nudge()
	if _, db = in.take(2, now.Add(30*time.Millisecond)); !db {
		t.Fatal("a nudge must make the next round claim from the ledger")
	}
	if _, db = in.take(2, now.Add(30*time.Millisecond+priorityDBClaimEvery)); !db {
		t.Fatal("the lane must claim from the ledger at least every priorityDBClaimEvery")
	}

	// Closing returns what waits; a message given after that goes back to pending.
	db2 := testdb.SQLite(t)
	var id int64
	nowUTC := time.Now().UTC()
	if err := db2.Store.DB(ctx).Raw(`INSERT INTO messages (to_phone, priority, status, claimed_by, claimed_at, send_after, created_at, updated_at)
		VALUES ('+5511900000001', 100, 'claimed', 'i', ?, ?, ?, ?) RETURNING id`, nowUTC, nowUTC, nowUTC, nowUTC).Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	if err := in.Give(ctx, db2.Store, models.ClaimedMessage{ID: 9}); err != nil {
		t.Fatal(err)
	}
	if ids := in.close(); len(ids) != 1 || ids[0] != 9 {
		t.Fatalf("close returned %v, want [9]", ids)
	}
	if in.ClaimFor() != "" {
		t.Fatal("a closed inbox must not take claims")
	}
	if err := in.Give(ctx, db2.Store, models.ClaimedMessage{ID: id}); err != nil {
		t.Fatal(err)
	}
	var status string
	db2.Store.DB(ctx).Raw("SELECT status FROM messages WHERE id = ?", id).Scan(&status)
	if status != models.MessagePending {
		t.Fatalf("a message given to a closed inbox is %s, want pending", status)
	}
}
