package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Paths of the API an agent offers its peers. They need no session: every
// request is signed with the sending mission's key and shows HQ's card
// for it; every answer likewise.
const (
	PathOffer    = "/relay/v1/offer"
	PathPouches  = "/relay/v1/pouches"
	PathReplies  = "/relay/v1/replies"
	PathDone     = "/relay/v1/replies/done"
	PathDocument = "/relay/v1/document"
)

// MaxPouch is the largest pouch a peer hands over.
const MaxPouch = 16 << 20

// Sum names a pouch in the relay: the SHA-256 of its sealed bytes. A
// relay cannot open a pouch, so it knows it by its bytes alone.
func Sum(raw []byte) string {
	s := sha256.Sum256(raw)
	return hex.EncodeToString(s[:])
}

// Offer is a peer's answer to "will you carry this pouch?".
type Offer struct {
	Accept bool `json:"accept"`
	// Holding is how many of the asking mission's pouches the peer holds
	// that HQ has not answered yet.
	Holding int    `json:"holding"`
	Reason  string `json:"reason,omitempty"`
}

// Reply is what a relay holds for a mission about a pouch it carried:
// HQ's reply pouch, sealed to the mission and signed by HQ, or HQ's
// refusal of the pouch.
type Reply struct {
	Pouch string    `json:"pouch"` // Sum of the pouch carried
	Reply []byte    `json:"reply,omitempty"`
	Error string    `json:"error,omitempty"`
	At    time.Time `json:"at"`
}

// Carrier is the agent's store of the pouches it carries for its peers.
type Carrier interface {
	// Offer says whether a pouch of size bytes from mission would be
	// taken, within the carrier's quota.
	Offer(ctx context.Context, from, sum string, size int64) (Offer, error)
	// Hold keeps a pouch until it has been handed to HQ; it refuses one
	// beyond the quota, with ErrFull.
	Hold(ctx context.Context, from, sum string, raw []byte) error
	// Replies lists what is held for mission.
	Replies(ctx context.Context, mission string) ([]Reply, error)
	// Done forgets the replies the mission has taken.
	Done(ctx context.Context, mission string, sums []string) error
	// Document returns a document of an HQ release by its SHA-256 (hex),
	// for mission; nil if none is held.
	Document(ctx context.Context, mission, sha256 string) ([]byte, error)
}

// ErrFull is a carrier's refusal of a pouch over its quota.
var ErrFull = errors.New("this mission's relay store is full")

// Server serves the relay API over a carrier.
type Server struct {
	Identity IdentityFunc
	Carrier  Carrier
	// Held, if set, is called after a pouch is taken to carry.
	Held func()
}

// Mount adds the relay API to e.
func (s *Server) Mount(e *echo.Echo) {
	e.POST(PathOffer, s.handle(func(ctx context.Context, from string, body []byte) (int, any, error) {
		var o struct {
			Pouch string `json:"pouch"`
			Size  int64  `json:"size"`
		}
		if err := json.Unmarshal(body, &o); err != nil || len(o.Pouch) != 64 || o.Size <= 0 {
			return http.StatusBadRequest, nil, errors.New("an offer names a pouch by its SHA-256 and gives its size")
		}
		if o.Size > MaxPouch {
			return http.StatusOK, Offer{Reason: fmt.Sprintf("a pouch to carry is at most %d bytes", MaxPouch)}, nil
		}
		off, err := s.Carrier.Offer(ctx, from, o.Pouch, o.Size)
		return http.StatusOK, off, err
	}))
	e.POST(PathPouches, s.handle(func(ctx context.Context, from string, body []byte) (int, any, error) {
		sum := Sum(body)
		if err := s.Carrier.Hold(ctx, from, sum, body); errors.Is(err, ErrFull) {
			return http.StatusInsufficientStorage, nil, err
		} else if err != nil {
			return 0, nil, err
		}
		if s.Held != nil {
			s.Held()
		}
		return http.StatusCreated, map[string]string{"pouch": sum}, nil
	}))
	e.GET(PathReplies, s.handle(func(ctx context.Context, from string, _ []byte) (int, any, error) {
		rs, err := s.Carrier.Replies(ctx, from)
		if rs == nil {
			rs = []Reply{}
		}
		return http.StatusOK, rs, err
	}))
	e.POST(PathDocument, s.handle(func(ctx context.Context, from string, body []byte) (int, any, error) {
		var d struct {
			SHA256 string `json:"sha256"`
		}
		if err := json.Unmarshal(body, &d); err != nil || len(d.SHA256) != 64 {
			return http.StatusBadRequest, nil, errors.New("ask for a document by its SHA-256")
		}
		doc, err := s.Carrier.Document(ctx, from, d.SHA256)
		if err == nil && doc == nil {
			return http.StatusNotFound, nil, errors.New("no such document here")
		}
		return http.StatusOK, map[string][]byte{"body": doc}, err
	}))
	e.POST(PathDone, s.handle(func(ctx context.Context, from string, body []byte) (int, any, error) {
		var d struct {
			Pouches []string `json:"pouches"`
		}
		if err := json.Unmarshal(body, &d); err != nil {
			return http.StatusBadRequest, nil, errors.New("done lists the pouches whose replies were taken")
		}
		return http.StatusOK, map[string]int{"done": len(d.Pouches)}, s.Carrier.Done(ctx, from, d.Pouches)
	}))
}

type errorBody struct {
	Error string `json:"error"`
}

// handle verifies a request, runs f for the mission that sent it, and
// signs the answer.
func (s *Server) handle(f func(ctx context.Context, from string, body []byte) (int, any, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx := c.Request().Context()
		self, err := s.Identity(ctx)
		if err != nil {
			return c.JSON(http.StatusServiceUnavailable, errorBody{"this mission cannot relay: " + err.Error()})
		}
		// A refusal is signed too, so that a genuine peer's "no" (a clock
		// too far off, say) reaches the asking mission as such. The body
		// is read only from a request whose card is our HQ's.
		status, v := http.StatusForbidden, any(nil)
		reqSig := requestSig(c.Request())
		card, key, err := checkHeaders(c.Request(), self)
		if err == nil {
			var body []byte
			body, err = io.ReadAll(io.LimitReader(c.Request().Body, MaxPouch+1))
			switch {
			case err != nil:
				return err
			case len(body) > MaxPouch:
				status, err = http.StatusRequestEntityTooLarge, fmt.Errorf("a pouch to carry is at most %d bytes", MaxPouch)
			default:
				if err = verifyRequest(c.Request(), self, card, key, body); err == nil {
					status, v, err = f(ctx, card.Mission, body)
				}
			}
		}
		if err != nil {
			if status == 0 {
				status = http.StatusInternalServerError
			}
			v = errorBody{err.Error()}
		}
		out, _ := json.Marshal(v)
		signAnswer(c.Response().Header(), self, reqSig, status, out)
		return c.Blob(status, echo.MIMEApplicationJSON, out)
	}
}

// Client talks to peers' relay APIs.
type Client struct {
	Identity IdentityFunc
	HTTP     *http.Client
}

// PeerError is a peer's signed refusal.
type PeerError struct {
	Peer    string
	Status  int
	Message string
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("%s refused (%d): %s", e.Peer, e.Status, e.Message)
}

// do sends a signed request to a peer and checks that the answer is the
// peer's own, to this very request, before reading it into out.
func (c *Client) do(ctx context.Context, p Peer, method, path string, body []byte, out any) error {
	id, err := c.Identity(ctx)
	if err != nil {
		return err
	}
	base := p.APIBase()
	if base == "" {
		return fmt.Errorf("%s does not say where its agent answers", p.Name)
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, r)
	if err != nil {
		return err
	}
	signRequest(req, id, p.Name, body)
	h := c.HTTP
	if h == nil {
		h = peerHTTP
	}
	resp, err := h.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", p.Name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4*MaxPouch))
	if err != nil {
		return fmt.Errorf("%s's answer was cut off: %w", p.Name, err)
	}
	if err := verifyAnswer(resp, id, p.Name, requestSig(req), raw); err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e errorBody
		json.Unmarshal(raw, &e)
		return &PeerError{Peer: p.Name, Status: resp.StatusCode, Message: e.Error}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s's answer is not readable: %w", p.Name, err)
		}
	}
	return nil
}

// Offer asks a peer whether it will carry a pouch.
func (c *Client) Offer(ctx context.Context, p Peer, raw []byte) (Offer, error) {
	body, _ := json.Marshal(map[string]any{"pouch": Sum(raw), "size": len(raw)})
	var o Offer
	err := c.do(ctx, p, http.MethodPost, PathOffer, body, &o)
	return o, err
}

// Hand gives a peer a pouch to carry to HQ.
func (c *Client) Hand(ctx context.Context, p Peer, raw []byte) error {
	var got struct {
		Pouch string `json:"pouch"`
	}
	if err := c.do(ctx, p, http.MethodPost, PathPouches, raw, &got); err != nil {
		return err
	}
	if got.Pouch != Sum(raw) {
		return fmt.Errorf("%s took a pouch other than the one handed", p.Name)
	}
	return nil
}

// Replies fetches what a peer holds for this mission.
func (c *Client) Replies(ctx context.Context, p Peer) ([]Reply, error) {
	var rs []Reply
	err := c.do(ctx, p, http.MethodGet, PathReplies, nil, &rs)
	return rs, err
}

// Document asks a peer for a document of an HQ release by its SHA-256
// (hex). The caller checks it against the release, signed by HQ: a peer
// vouches for nothing.
func (c *Client) Document(ctx context.Context, p Peer, sha256 string) ([]byte, error) {
	body, _ := json.Marshal(map[string]string{"sha256": sha256})
	var got struct {
		Body []byte `json:"body"`
	}
	err := c.do(ctx, p, http.MethodPost, PathDocument, body, &got)
	return got.Body, err
}

// Done tells a peer that replies were taken, and may be forgotten.
func (c *Client) Done(ctx context.Context, p Peer, sums []string) error {
	body, _ := json.Marshal(map[string][]string{"pouches": sums})
	return c.do(ctx, p, http.MethodPost, PathDone, body, nil)
}

// APIBase is the URL of the peer's agent. An agent that listens on every
// address (":8080", "0.0.0.0:8080") is reached at the address it gossips
// from.
func (p Peer) APIBase() string {
	if p.Meta.API == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(p.Meta.API)
	if err != nil {
		return ""
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host, _, _ = net.SplitHostPort(p.Addr)
	}
	scheme := "http://"
	if p.Meta.TLS {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port)
}

// peerHTTP reaches peers. A peer's HTTPS certificate is its own, made by
// its agent, and no CA vouches for it: it is not checked. Nothing rests
// on it, since every request and every answer between peers is signed
// with a key HQ's card binds to its mission, and pouches are sealed.
var peerHTTP = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, //nolint:gosec // see above
	IdleConnTimeout: 90 * time.Second,
}}
