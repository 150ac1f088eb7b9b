package exchange

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"chancery/shared/fault"
	pouchpkg "chancery/sync/pouch"
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

	// CarriedBy, when a mission carries another's pouch, names the
	// carrier, for HQ's record of how pouches arrive. It proves nothing:
	// the pouch speaks for itself.
	CarriedBy string

	// Progress, if set, is told how much of a resumable upload HQ holds.
	Progress func(sent, total int)

	// Sent counts the pouch bytes sent by resumable uploads, resent ones
	// included: what a slow link paid.
	Sent    int64
	resumed int
}

// UploadChunk is the most bytes one PATCH of a resumable upload carries:
// small enough that progress shows on a slow link, large enough that the
// requests cost little.
const UploadChunk = 256 << 10

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
	// Final is set when trying again cannot help: HQ read the request and
	// refused it.
	Final bool
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("HQ refused the request (%d): %s", e.Status, e.Message)
}

// Enroll registers the mission's keys with a one-time code and returns
// HQ's answer as received: check its MAC (EnrollResponse.Sum) before
// trusting it.
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
	return resp, nil
}

// Exchange sends a pouch and returns HQ's reply pouch. A pouch larger than
// SmallPouch goes by resumable upload.
func (c *Client) Exchange(ctx context.Context, pouch []byte) ([]byte, error) {
	if len(pouch) > SmallPouch {
		return c.upload(ctx, pouch)
	}
	return c.post(ctx, PathExchange, ContentType, pouch)
}

// upload sends a large pouch so that a dropped connection costs only the
// bytes in flight: after a failure it asks HQ for the offset it holds and
// sends from there.
func (c *Client) upload(ctx context.Context, pouch []byte) ([]byte, error) {
	h, attempts, wait := c.defaults()
	base := strings.TrimSuffix(c.BaseURL, "/")
	var loc string
	offset := 0
	// The creation carries the pouch's signed head, which HQ checks before
	// it keeps a byte; it answers with how much of the pouch it holds.
	head := pouch[:min(len(pouch), pouchpkg.HeadSize)]
	err := c.retry(ctx, attempts, wait, func() error {
		resp, err := c.send(ctx, h, http.MethodPost, base+PathUploads, head, map[string]string{"Upload-Length": strconv.Itoa(len(pouch)), "Content-Type": "application/offset+octet-stream"})
		if err != nil {
			return err
		}
		loc = resp.Header.Get("Location")
		if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(loc, PathUploads+"/") {
			return &RemoteError{Status: resp.StatusCode, Message: "HQ did not create the upload", Final: resp.StatusCode == http.StatusRequestEntityTooLarge || resp.StatusCode == http.StatusForbidden}
		}
		if n, err := strconv.Atoi(resp.Header.Get("Upload-Offset")); err == nil && n <= len(pouch) {
			offset = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.Sent += int64(len(head))
	if c.Progress != nil {
		c.Progress(offset, len(pouch))
	}
	err = c.retry(ctx, attempts, wait, func() error {
		if c.resumed > 0 {
			// After a failure, HQ's word on what it holds decides where to go on.
			resp, err := c.send(ctx, h, http.MethodHead, base+loc, nil, nil)
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK {
				return &RemoteError{Status: resp.StatusCode, Message: "the upload is gone at HQ; the next sync starts it again", Final: resp.StatusCode == http.StatusNotFound}
			}
			if n, err := strconv.Atoi(resp.Header.Get("Upload-Offset")); err == nil && n <= len(pouch) {
				offset = n
			}
		}
		c.resumed++
		for offset < len(pouch) {
			end := min(offset+UploadChunk, len(pouch))
			c.Sent += int64(end - offset)
			resp, err := c.send(ctx, h, http.MethodPatch, base+loc, pouch[offset:end], map[string]string{
				"Upload-Offset": strconv.Itoa(offset), "Content-Type": "application/offset+octet-stream"})
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusNoContent {
				return &RemoteError{Status: resp.StatusCode, Message: "HQ did not take the bytes"}
			}
			offset = end
			if c.Progress != nil {
				c.Progress(offset, len(pouch))
			}
			fault.Point("agent-mid-upload")
		}
		return nil
	})
	c.resumed = 0
	if err != nil {
		return nil, err
	}
	return c.post(ctx, loc+"/exchange", ContentType, nil)
}

// retry runs f up to attempts times with exponential backoff and jitter,
// stopping at an error that retrying cannot help.
func (c *Client) retry(ctx context.Context, attempts int, wait time.Duration, f func() error) error {
	var last error
	for i := range attempts {
		if i > 0 {
			d := wait<<(i-1) + rand.N(wait)
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		err := f()
		if err == nil {
			return nil
		}
		var re *RemoteError
		var cert *tls.CertificateVerificationError
		if (errors.As(err, &re) && re.Final) || errors.As(err, &cert) {
			// Trying again cannot help: HQ refused for good, or its
			// certificate is not one this mission can check.
			return err
		}
		last = err
	}
	return last
}

// send makes one request and returns the response with its body read and
// closed.
func (c *Client) send(ctx context.Context, h *http.Client, method, url string, body []byte, header map[string]string) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if c.CarriedBy != "" {
		req.Header.Set(HeaderCarriedBy, c.CarriedBy)
	}
	resp, err := h.Do(req)
	var cert *tls.CertificateVerificationError
	if errors.As(err, &cert) {
		return nil, fmt.Errorf("HQ's HTTPS certificate cannot be checked, so nothing was sent (%w); give the ministry's CA certificate with --hq-ca FILE", err)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot reach HQ: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp, nil
}

func (c *Client) post(ctx context.Context, path, ctype string, body []byte) ([]byte, error) {
	h, attempts, wait := c.defaults()
	var raw []byte
	err := c.retry(ctx, attempts, wait, func() error {
		var err error
		raw, err = c.once(ctx, h, path, ctype, body)
		return err
	})
	return raw, err
}

func (c *Client) once(ctx context.Context, h *http.Client, path, ctype string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	if c.CarriedBy != "" {
		req.Header.Set(HeaderCarriedBy, c.CarriedBy)
	}
	resp, err := h.Do(req)
	var cert *tls.CertificateVerificationError
	if errors.As(err, &cert) {
		return nil, fmt.Errorf("HQ's HTTPS certificate cannot be checked, so nothing was sent (%w); give the ministry's CA certificate with --hq-ca FILE", err)
	}
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
		final := resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests
		return nil, &RemoteError{Status: resp.StatusCode, Message: e.Error, Final: final}
	}
	return raw, nil
}
