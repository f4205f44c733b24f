package reliability

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"
)

// pgProxy forwards TCP to Postgres and can cut it: every open connection
// is closed and new ones are refused, as when the database restarts. Only
// this test's Herald goes through it, so parallel tests are not disturbed.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]bool
}

func newPGProxy(t *testing.T, dbURL string) (*pgProxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *pgProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *pgProxy) pipe(dst, src net.Conn) {
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// cut closes every connection and refuses new ones until restore.
func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
}

func (p *pgProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// databaseOutage proves: when Postgres goes away mid-send, /readyz says
// so, Herald keeps running, reconnects when it is back, and the campaign
// completes with every contact sent once (sends whose outcome could not be
// written end unknown, never twice).
func databaseOutage(t *testing.T, contacts int, outage time.Duration) {
	w := newWorld(t, contacts)
	proxy, viaProxy := newPGProxy(t, w.dbURL)
	h := w.startHerald("herald", viaProxy)
	w.launch()
	w.waitSent(contacts/4, 3*time.Minute)
	proxy.cut()
	cutAt := time.Now()
	sawDown := false
	for time.Since(cutAt) < outage {
		if code := h.ready(); code == http.StatusServiceUnavailable {
			sawDown = true
		} else if code == 0 {
			t.Fatalf("herald stopped answering during the outage:\n%s", tail(h.logs.String(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !sawDown {
		t.Errorf("/readyz never reported the database outage")
	}
	sentDuring := len(w.sim.Received())
	proxy.restore()
	deadline := time.Now().Add(30 * time.Second)
	for h.ready() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not recover after the outage:\n%s", tail(h.logs.String(), 30))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Outcomes whose write failed left rows "sending"; the rescuer turns
	// them unknown once stale. Time passes here instead of five minutes.
	time.Sleep(time.Second)
	res := w.rescueDead(time.Now().Add(-500 * time.Millisecond))
	w.waitSettled(3 * time.Minute)
	h.stop()
	v := w.checkExactlyOnce(false)
	t.Logf("outage of %s after %d sends: rescued %+v; %d sent exactly once, %d unknown", outage, sentDuring, res, v.sent, v.unknown)
	if v.sent+v.unknown != contacts {
		t.Errorf("%d sent + %d unknown of %d", v.sent, v.unknown, contacts)
	}
}

// TestDatabaseOutageQuick: a 3-second Postgres outage during a 3,000 send.
func TestDatabaseOutageQuick(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts herald processes")
	}
	databaseOutage(t, 3000, 3*time.Second)
}
