package exchange

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"
)

// Client talks to HQ on behalf of a mission.
type Client struct {
	// BaseURL is HQ's address, such as https://hq.example.org.
	BaseURL string
	HTTP    *http.Client
	// Attempts is how many times a failed request is tried in one call,
	// waiting Backoff, then twice as long, and so on, with jitter.
	Attempts int
	Backoff  time.Duration
}

// Defaults: five attempts from one second doubling to 16 s cover a link
// that drops for half a minute; a longer outage is the scheduler's next
// run, and nothing is lost meanwhile.
func (c *Client) defaults() (*http.Client, int, time.Duration) {
	h, n, b := c.HTTP, c.Attempts, c.Backoff
	if h == nil {
		h = &http.Client{Timeout: 2 * time.Minute}
	}
	if n == 0 {
		n = 5
	}
	if b == 0 {
		b = time.Second
	}
	return h, n, b
}

// RemoteError is an answer from HQ that refuses the request; trying again
// will not help.
type RemoteError struct {
	Status  int
	Message string
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("HQ refused the request (%d): %s", e.Status, e.Message)
}

// Enroll registers the mission's keys with a one-time code.
func (c *Client) Enroll(ctx context.Context, req EnrollRequest) (EnrollResponse, error) {
	body, _ := json.Marshal(req)
	raw, err := c.post(ctx, PathEnroll, "application/json", body)
	if err != nil {
		return EnrollResponse{}, err
	}
	var resp EnrollResponse
	if err := json.Unmarshal(raw, &resp); err != nil {
		return resp, fmt.Errorf("HQ's enrollment answer is not readable: %w", err)
	}
	if !hmac.Equal([]byte(resp.MAC), []byte(resp.Sum(req.Code))) {
		return resp, errors.New("HQ's enrollment answer is not signed with the code: the answer did not come from the HQ that issued the code. Check the HQ address, and the network between")
	}
	return resp, nil
}

// Exchange sends a pouch and returns HQ's reply pouch.
func (c *Client) Exchange(ctx context.Context, pouch []byte) ([]byte, error) {
	return c.post(ctx, PathExchange, ContentType, pouch)
}

func (c *Client) post(ctx context.Context, path, ctype string, body []byte) ([]byte, error) {
	h, attempts, wait := c.defaults()
	var last error
	for i := range attempts {
		if i > 0 {
			d := wait<<(i-1) + rand.N(wait)
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		raw, err := c.once(ctx, h, path, ctype, body)
		if err == nil {
			return raw, nil
		}
		var re *RemoteError
		if errors.As(err, &re) && re.Status < 500 && re.Status != http.StatusTooManyRequests {
			return nil, err
		}
		last = err
	}
	return nil, last
}

func (c *Client) once(ctx context.Context, h *http.Client, path, ctype string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := h.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach HQ: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("HQ's answer was cut off: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(raw, &e)
		if e.Error == "" {
			e.Error = http.StatusText(resp.StatusCode)
		}
		return nil, &RemoteError{Status: resp.StatusCode, Message: e.Error}
	}
	return raw, nil
}
