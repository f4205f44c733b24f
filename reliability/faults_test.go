package reliability

import (
	"context"
	"testing"
	"time"

	"github.com/heraldhq/herald/models"
	"github.com/heraldhq/herald/whatsapp/simulator"
)

// cloudAPIFaults proves: with the Cloud API failing (5xx, dropped
// connections, slow answers, 130429 throughput bursts) every message ends
// sent, failed with a reason, or unknown, and no message the simulator
// accepted is sent again. Retries back off for up to minutes; the test
// moves their send_after to now instead of waiting.
func cloudAPIFaults(t *testing.T, contacts int, faults simulator.Faults, mps int) {
	w := newWorld(t, contacts, func(c *simulator.Config) { c.MPS = mps })
	if err := w.sim.SetFaults(faults); err != nil {
		t.Fatal(err)
	}
	h := w.startHerald("herald", "")
	w.launch()
	ctx := context.Background()
	// A send round waits for its slowest request (up to the 30 s timeout).
	deadline := time.Now().Add(15 * time.Minute)
	for {
		c := w.statusCounts()
		if c[models.MessagePending]+c[models.MessageClaimed]+c[models.MessageSending] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled: %v", c)
		}
		// Time travel for backed-off retries.
		w.store.DB(ctx).Exec("UPDATE messages SET send_after = ? WHERE campaign_id = ? AND status = 'pending' AND send_after > ?",
			time.Now().UTC(), w.campaign.ID, time.Now().UTC())
		time.Sleep(300 * time.Millisecond)
	}
	h.stop()
	v := w.checkExactlyOnce(true)
	st := w.sim.Faults()
	t.Logf("faults %+v, %d msg/s cap: %d sent once, %d failed with a reason, %d unknown, 0 duplicates", st, mps, v.sent, v.failed, v.unknown)
	if faults.Error5xxShare > 0 && v.sent == contacts {
		t.Errorf("no message failed or was retried despite %.0f%% 5xx", 100*faults.Error5xxShare)
	}
}

// TestCloudAPIFaultsQuick: 10% 5xx, 3% dropped connections, 3% slow
// answers (within the client's timeout), and a 300 msg/s cap that answers
// bursts with 130429, over 2,000 messages.
func TestCloudAPIFaultsQuick(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts herald processes")
	}
	cloudAPIFaults(t, 2000, simulator.Faults{Error5xxShare: 0.10, DropShare: 0.03, SlowShare: 0.03, SlowDelay: 1500 * time.Millisecond}, 300)
}
