package relay_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/sync/exchange"
	"chancery/sync/relay"
)

// memCarrier is a carrier in memory: the agent's is its database.
type memCarrier struct {
	mu   sync.Mutex
	held map[string][]byte // sum → pouch
	from map[string]string // sum → mission
}

func (m *memCarrier) Offer(ctx context.Context, from, sum string, size int64) (relay.Offer, error) {
	return relay.Offer{Accept: true}, nil
}
func (m *memCarrier) Hold(ctx context.Context, from, sum string, raw []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.held[sum], m.from[sum] = raw, from
	return nil
}
func (m *memCarrier) Replies(ctx context.Context, mission string) ([]relay.Reply, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []relay.Reply
	for sum, from := range m.from {
		if from == mission {
			out = append(out, relay.Reply{Pouch: sum, Reply: []byte("reply to " + sum)})
		}
	}
	return out, nil
}
func (m *memCarrier) Done(ctx context.Context, mission string, sums []string) error { return nil }
func (m *memCarrier) Document(ctx context.Context, mission, sum string) ([]byte, error) {
	return nil, nil
}

func (m *memCarrier) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.held)
}

// identity makes a mission's key and HQ's card for it.
func identity(t testing.TB, hq ed25519.PrivateKey, mission string) relay.Identity {
	t.Helper()
	pub, sk, _ := ed25519.GenerateKey(rand.Reader)
	return relay.Identity{Mission: mission, Key: sk, HQ: hq.Public().(ed25519.PublicKey), Card: exchange.SignCard(hq, mission, pub, time.Now())}
}

func fixed(id relay.Identity) relay.IdentityFunc {
	return func(context.Context) (relay.Identity, error) { return id, nil }
}

// serve runs a relay API for id on loopback and returns the peer as
// gossip would show it.
func serve(t *testing.T, id relay.Identity, name string) (relay.Peer, *memCarrier) {
	c := &memCarrier{held: map[string][]byte{}, from: map[string]string{}}
	e := echo.New()
	(&relay.Server{Identity: fixed(id), Carrier: c}).Mount(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return relay.Peer{Name: name, Addr: "127.0.0.1:1", Meta: relay.Meta{Mission: name, API: strings.TrimPrefix(srv.URL, "http://")}}, c
}

func TestHandoffBetweenEnrolledMissions(t *testing.T) {
	_, hq, _ := ed25519.GenerateKey(rand.Reader)
	par, lyo := identity(t, hq, "FR-PAR"), identity(t, hq, "FR-LYO")
	peer, carrier := serve(t, lyo, "FR-LYO")
	client := &relay.Client{Identity: fixed(par)}
	ctx := context.Background()
	pouch := []byte("sealed bytes no relay can read")

	off, err := client.Offer(ctx, peer, pouch)
	if err != nil || !off.Accept {
		t.Fatalf("offer: %+v %v", off, err)
	}
	if err := client.Hand(ctx, peer, pouch); err != nil {
		t.Fatal(err)
	}
	if got := carrier.from[relay.Sum(pouch)]; got != "FR-PAR" {
		t.Fatalf("the carrier holds the pouch as from %q, want FR-PAR", got)
	}
	rs, err := client.Replies(ctx, peer)
	if err != nil || len(rs) != 1 || rs[0].Pouch != relay.Sum(pouch) {
		t.Fatalf("replies: %+v %v", rs, err)
	}
	// Another mission is given only its own replies.
	mrs := &relay.Client{Identity: fixed(identity(t, hq, "FR-MRS"))}
	if rs, err := mrs.Replies(ctx, peer); err != nil || len(rs) != 0 {
		t.Fatalf("FR-MRS sees FR-PAR's replies: %+v %v", rs, err)
	}
}

// TestGossipKeyAloneIsNotEnough: a machine that holds the gossip key but
// no card from HQ can neither hand over a pouch nor pass for a peer to
// receive one; nor can one with a card from another HQ, or one that
// alters or redirects a signed request.
func TestGossipKeyAloneIsNotEnough(t *testing.T) {
	_, hq, _ := ed25519.GenerateKey(rand.Reader)
	_, otherHQ, _ := ed25519.GenerateKey(rand.Reader)
	par, lyo := identity(t, hq, "FR-PAR"), identity(t, hq, "FR-LYO")
	peer, carrier := serve(t, lyo, "FR-LYO")
	ctx := context.Background()
	pouch := []byte("sealed")

	// No card at all.
	r, err := http.Post(peer.APIBase()+relay.PathPouches, "application/octet-stream", bytes.NewReader(pouch))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusForbidden {
		t.Fatalf("a pouch with no card: %d", r.StatusCode)
	}
	// A card from another HQ.
	stranger := &relay.Client{Identity: fixed(identity(t, otherHQ, "FR-PAR"))}
	if err := stranger.Hand(ctx, peer, pouch); err == nil {
		t.Fatal("a mission of another HQ handed over a pouch")
	}
	// A signed request altered on the way, or meant for another mission.
	for name, alter := range map[string]func(*http.Request){
		"body":      func(r *http.Request) { r.Body = http.NoBody; r.ContentLength = 0 },
		"addressee": func(r *http.Request) { r.Header.Set(relay.HeaderTo, "FR-MRS") },
		"old": func(r *http.Request) {
			r.Header.Set(relay.HeaderDate, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano))
		},
	} {
		c := &relay.Client{Identity: fixed(par), HTTP: &http.Client{Transport: alterer{alter}}}
		var pe *relay.PeerError
		if err := c.Hand(ctx, peer, pouch); !errors.As(err, &pe) || pe.Status != http.StatusForbidden {
			t.Errorf("request altered (%s): %v", name, err)
		}
	}
	if n := carrier.count(); n != 0 {
		t.Fatalf("the carrier took %d pouches it should have refused", n)
	}

	// A machine that answers in FR-LYO's place, with a card of its own
	// or with none, is not given the pouch: the offer's answer gives it
	// away before any pouch is sent.
	for name, id := range map[string]relay.Identity{"another mission's card": identity(t, hq, "FR-BAD"), "a card from another HQ": identity(t, otherHQ, "FR-LYO")} {
		impostor, got := serve(t, id, "FR-LYO")
		c := &relay.Client{Identity: fixed(par)}
		if _, err := c.Offer(ctx, impostor, pouch); err == nil || !errors.Is(err, relay.ErrNotPeer) {
			t.Errorf("%s: the offer's answer was trusted: %v", name, err)
		}
		if got.count() != 0 {
			t.Errorf("%s: got a pouch", name)
		}
	}
}

// alterer changes each request after it was signed.
type alterer struct{ f func(*http.Request) }

func (a alterer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	a.f(r)
	return http.DefaultTransport.RoundTrip(r)
}

// BenchmarkHandoff is one mission handing a 1 KB pouch to a peer over
// loopback HTTP: the offer, then the pouch, each request and answer
// signed and checked against HQ's card.
func BenchmarkHandoff(b *testing.B) {
	_, hq, _ := ed25519.GenerateKey(rand.Reader)
	par, lyo := identity(b, hq, "FR-PAR"), identity(b, hq, "FR-LYO")
	c := &memCarrier{held: map[string][]byte{}, from: map[string]string{}}
	e := echo.New()
	(&relay.Server{Identity: fixed(lyo), Carrier: c}).Mount(e)
	srv := httptest.NewServer(e)
	defer srv.Close()
	peer := relay.Peer{Name: "FR-LYO", Meta: relay.Meta{API: strings.TrimPrefix(srv.URL, "http://")}}
	client := &relay.Client{Identity: fixed(par)}
	ctx := context.Background()
	pouch := make([]byte, 1024)
	for i := 0; b.Loop(); i++ {
		pouch[0], pouch[1] = byte(i), byte(i>>8)
		if _, err := client.Offer(ctx, peer, pouch); err != nil {
			b.Fatal(err)
		}
		if err := client.Hand(ctx, peer, pouch); err != nil {
			b.Fatal(err)
		}
	}
}
