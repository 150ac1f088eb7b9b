package test

import (
	"net"
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
	// rate, if above zero, is the link's speed in bytes a second, each
	// way, shared by all its connections, as a slow line is.
	rate atomic.Int64
	up   bucket
	dn   bucket
	wg   sync.WaitGroup
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
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.pipe(c)
		}()
	}
}

func (p *proxy) pipe(c net.Conn) {
	defer c.Close()
	u, err := net.Dial("tcp", p.target.Load().(string))
	if err != nil {
		return
	}
	defer u.Close()
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
		if tc, ok := c.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	go func() {
		buf := make([]byte, 16<<10)
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
				if limit > 0 && carried+int64(n) > limit {
					n = int(limit - carried)
					u.Write(buf[:n])
					p.upstream.Add(int64(n))
					p.cutAfter.Store(0)
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
		if tc, ok := u.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}()
	<-done
}
