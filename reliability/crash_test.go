package reliability

import (
	"fmt"
	"testing"
	"time"
)

// killAndRestart proves: kill -9 of `herald serve` at points of a
// campaign, then a restart (and the rescuer's work), delivers to every
// contact exactly once, except messages whose request was in flight at a
// kill, which end unknown and are never sent twice.
func killAndRestart(t *testing.T, contacts, kills int) {
	w := newWorld(t, contacts)
	h := w.startHerald("herald-1", "")
	w.launch()
	for k := 1; k <= kills; k++ {
		// Kill at k/(kills+1) of the campaign, ± a few percent.
		at := contacts*k/(kills+1) + (contacts/50)*(k%3-1)
		w.waitSent(at, 3*time.Minute)
		h.kill9()
		cutoff := time.Now()
		res := w.rescueDead(cutoff)
		t.Logf("kill %d after %d sends: %d claims returned, %d in-flight sends unknown", k, at, res.Returned, res.Unknown)
		h = w.startHerald(fmt.Sprintf("herald-%d", k+1), "")
	}
	w.waitSettled(5 * time.Minute)
	h.stop()
	v := w.checkExactlyOnce(false)
	t.Logf("%d contacts: %d sent exactly once, %d unknown (in flight at a kill), 0 duplicates", contacts, v.sent, v.unknown)
	// Unknowns are bounded by what can be in flight: 2 workers × 128.
	if v.unknown > kills*256 {
		t.Errorf("%d unknown after %d kills: more than could have been in flight", v.unknown, kills)
	}
}

// threeInstances proves: three `herald serve` on one Postgres send one
// campaign without sending any message twice, even when one is killed
// midway; the others finish its share.
func threeInstances(t *testing.T, contacts int) {
	w := newWorld(t, contacts)
	var hs []*herald
	for i := 1; i <= 3; i++ {
		hs = append(hs, w.startHerald(fmt.Sprintf("herald-%d", i), ""))
	}
	w.launch()
	w.waitSent(contacts/3, 3*time.Minute)
	hs[1].kill9()
	w.rescueDead(time.Now())
	w.waitSettled(5 * time.Minute)
	for _, h := range hs {
		h.stop()
	}
	v := w.checkExactlyOnce(false)
	t.Logf("%d contacts over 3 instances, one killed: %d sent exactly once, %d unknown, 0 duplicates", contacts, v.sent, v.unknown)
}

// TestKillNineQuick: one kill -9 mid-campaign of 3,000, then restart.
func TestKillNineQuick(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts herald processes")
	}
	killAndRestart(t, 3000, 1)
}

// TestThreeInstancesQuick: three instances, 3,000 messages, one killed.
func TestThreeInstancesQuick(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts herald processes")
	}
	threeInstances(t, 3000)
}
