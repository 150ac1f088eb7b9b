package test

import (
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// proxy stands between a mission and HQ on loopback, like a bad link: it
// counts the bytes the mission sends, and can cut a connection once it
// has carried a given number of bytes, or refuse all connections (HQ
// unreachable).
type proxy struct {
	ln         net.Listener
	target     atomic.Value // string: host:port of HQ, which may move when it restarts
	upstream   atomic.Int64
	downstream atomic.Int64
	conns      atomic.Int64
	// cutAfter, if above zero, cuts the first connection that carries more
	// than that many bytes towards HQ; then it is reset to zero.
	cutAfter atomic.Int64
	cuts     atomic.Int32
	down     atomic.Bool
	// blackhole, when set, takes in what is sent and answers nothing, as
	// a link that silently drops everything does.
	blackhole atomic.Bool
	// rate, if above zero, is the link's speed in bytes a second, each
	// way, shared by all its connections, as a slow line is.
	rate atomic.Int64
	// latency, if above zero, delays every byte by that long each way.
	latency atomic.Int64
	// resetEvery, if above zero, cuts every connection each time it has
	// carried that many more bytes towards HQ.
	resetEvery atomic.Int64
	up         bucket
	dn         bucket
	wg         sync.WaitGroup
	live       sync.Map // the connections open now, client side to HQ's
}

// bucket paces bytes to the proxy's rate: each send waits until the link
// would have carried the bytes before it.
type bucket struct {
	mu   sync.Mutex
	next time.Time
}

// wait holds n bytes until the link, at rate bytes a second, has room.
func (b *bucket) wait(n int, rate int64) {
	if rate <= 0 {
		return
	}
	b.mu.Lock()
	now := time.Now()
	if b.next.Before(now) {
		b.next = now
	}
	b.next = b.next.Add(time.Duration(float64(n) / float64(rate) * float64(time.Second)))
	until := b.next
	b.mu.Unlock()
	time.Sleep(time.Until(until))
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	p.target.Store(target)
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	p.wg.Add(1)
	go p.serve()
	return p
}

func (p *proxy) URL() string { return "http://" + p.ln.Addr().String() }

// closeLive closes every connection open through the proxy, as a NAT box
// forgets an idle one between two syncs.
func (p *proxy) closeLive() {
	p.live.Range(func(c, u any) bool {
		c.(net.Conn).Close()
		u.(net.Conn).Close()
		return true
	})
}

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.down.Load() {
			c.Close()
			continue
		}
		if p.blackhole.Load() {
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer c.Close()
				buf := make([]byte, 16<<10)
				for p.blackhole.Load() {
					c.SetReadDeadline(time.Now().Add(time.Second))
					if _, err := c.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
						return
					}
				}
			}()
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.pipe(c)
		}()
	}
}

func (p *proxy) pipe(client net.Conn) {
	upstream, err := net.Dial("tcp", p.target.Load().(string))
	if err != nil {
		client.Close()
		return
	}
	c, u := p.delayed(client), p.delayed(upstream)
	defer c.Close()
	defer u.Close()
	p.live.Store(c, u)
	defer p.live.Delete(c)
	done := make(chan struct{}, 2)
	p.conns.Add(1)
	go func() {
		buf := make([]byte, 4<<10)
		for {
			n, err := u.Read(buf)
			if n > 0 {
				p.dn.wait(n, p.rate.Load())
				if _, werr := c.Write(buf[:n]); werr != nil {
					break
				}
				p.downstream.Add(int64(n))
			}
			if err != nil {
				break
			}
		}
		if hc, ok := c.(interface{ CloseWrite() error }); ok {
			hc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		// Small reads, so that a connection the sender has given up on
		// holds no more than a few KB of the line, as a dropped TCP
		// connection does.
		buf := make([]byte, 4<<10)
		var carried int64
		for {
			n, err := c.Read(buf)
			if n > 0 && p.down.Load() {
				// The link is down: a connection kept open from before
				// carries nothing more either.
				c.Close()
				u.Close()
				break
			}
			if n > 0 {
				limit := p.cutAfter.Load()
				if every := p.resetEvery.Load(); every > 0 {
					limit = (carried/every + 1) * every
				}
				if limit > 0 && carried+int64(n) > limit {
					n = int(limit - carried)
					u.Write(buf[:n])
					p.upstream.Add(int64(n))
					if p.resetEvery.Load() == 0 {
						p.cutAfter.Store(0)
					}
					p.cuts.Add(1)
					c.Close()
					u.Close()
					break
				}
				carried += int64(n)
				for b := buf[:n]; len(b) > 0; {
					k := min(len(b), 4<<10) // paced in small steps, as a line carries them
					p.up.wait(k, p.rate.Load())
					if _, werr := u.Write(b[:k]); werr != nil {
						n = -1
						break
					}
					p.upstream.Add(int64(k))
					b = b[k:]
				}
				if n < 0 {
					break
				}
			}
			if err != nil {
				break
			}
		}
		if hc, ok := u.(interface{ CloseWrite() error }); ok {
			hc.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
}

// delayedConn is a connection whose writes arrive the proxy's latency
// later, in order, without holding up the writer: a long line, not a slow
// one.
type delayedConn struct {
	net.Conn
	latency time.Duration
	q       chan delayedWrite
	done    chan struct{}
	mu      sync.Mutex
	closed  bool
}

type delayedWrite struct {
	at    time.Time
	b     []byte
	close bool // a half-close, passed on in order
}

func (p *proxy) delayed(c net.Conn) net.Conn {
	d := time.Duration(p.latency.Load())
	if d <= 0 {
		return c
	}
	dc := &delayedConn{Conn: c, latency: d, q: make(chan delayedWrite, 4096), done: make(chan struct{})}
	go func() {
		defer close(dc.done)
		broken := false
		for w := range dc.q {
			if broken {
				continue
			}
			time.Sleep(time.Until(w.at))
			if w.close {
				if tc, ok := dc.Conn.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
				continue
			}
			if _, err := dc.Conn.Write(w.b); err != nil {
				broken = true
			}
		}
	}()
	return dc
}

func (dc *delayedConn) Write(b []byte) (int, error) {
	return len(b), dc.send(delayedWrite{at: time.Now().Add(dc.latency), b: append([]byte(nil), b...)})
}

// CloseWrite half-closes once what was written before has arrived.
func (dc *delayedConn) CloseWrite() error {
	return dc.send(delayedWrite{at: time.Now().Add(dc.latency), close: true})
}

func (dc *delayedConn) send(w delayedWrite) error {
	dc.mu.Lock()
	defer dc.mu.Unlock()
	if dc.closed {
		return net.ErrClosed
	}
	dc.q <- w
	return nil
}

// Close lets what was written arrive, then closes.
func (dc *delayedConn) Close() error {
	dc.mu.Lock()
	if !dc.closed {
		dc.closed = true
		close(dc.q)
	}
	dc.mu.Unlock()
	<-dc.done
	return dc.Conn.Close()
}
