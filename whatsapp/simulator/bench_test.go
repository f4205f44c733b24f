package simulator_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/heraldhq/herald/whatsapp/simulator"
)

// BenchmarkSendWithWebhooks measures a send plus the delivery of its status
// webhooks to a receiver, the path Herald's own benchmarks stress.
func BenchmarkSendWithWebhooks(b *testing.B) {
	f := setup(b, func(c *simulator.Config) { c.Outcomes = simulator.Outcomes{Read: 0.5} })
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := f.client.Send(context.Background(), helloWorld(fmt.Sprintf("4915%08d", i), "b")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	f.idle(b)
	b.StopTimer()
	if got := len(f.recv.statuses()); got < 2*b.N {
		b.Errorf("%d statuses for %d sends", got, b.N)
	}
}
