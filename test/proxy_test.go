package test

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
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
	wg       sync.WaitGroup
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
		n, _ := io.Copy(c, u)
		p.downstream.Add(n)
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
				p.upstream.Add(int64(n))
				if _, werr := u.Write(buf[:n]); werr != nil {
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
