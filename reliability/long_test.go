//go:build reliability

package reliability

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald/whatsapp/simulator"
)

// sizeFromEnv reads RELIABILITY_CONTACTS (default def).
func sizeFromEnv(def int) int {
	if v, err := strconv.Atoi(os.Getenv("RELIABILITY_CONTACTS")); err == nil && v > 0 {
		return v
	}
	return def
}

// TestKillNineThreeTimes: kill -9 at three random points of a 50k
// campaign, restart each time; exactly once except in-flight unknowns.
func TestKillNineThreeTimes(t *testing.T) { killAndRestart(t, sizeFromEnv(50_000), 3) }

// TestThreeInstancesOneKilled: three instances send a 50k campaign; one is
// killed midway; no message is sent twice.
func TestThreeInstancesOneKilled(t *testing.T) { threeInstances(t, sizeFromEnv(50_000)) }

// TestDatabaseOutage: a 15-second Postgres outage during a 20k send.
func TestDatabaseOutage(t *testing.T) { databaseOutage(t, sizeFromEnv(20_000), 15*time.Second) }

// TestCloudAPIFaults: 10% 5xx, 5% dropped connections, 5% answers slower
// than Herald's 30 s request timeout, and 130429 bursts over a 4k send
// (a send round waits up to the 30 s timeout for its slow requests).
func TestCloudAPIFaults(t *testing.T) {
	cloudAPIFaults(t, sizeFromEnv(4_000), simulator.Faults{Error5xxShare: 0.10, DropShare: 0.05, SlowShare: 0.05,
		SlowDelay: 35 * time.Second}, 400)
}

// TestTooLargeUpload: a generated 1 GB + 2 MB upload against the default
// 1 GB limit is refused while it streams; nothing is stored.
func TestTooLargeUpload(t *testing.T) { tooLargeUpload(t, 1<<30, 1<<30+2<<20) }
