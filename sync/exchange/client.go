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

	// Location is HQ's address of the pouch's upload: set it to resume an
	// upload a previous call began (after a cut, a restart). Created, if
	// set, is told the address as soon as HQ makes an upload, to keep
	// with the pouch: a process killed a moment later resumes from it.
	Location string
	Created  func(location string)

	// Sent counts the pouch bytes sent by resumable uploads, resent ones
	// included: what a slow link paid.
	Sent int64
}

// UploadChunk is the most bytes one PATCH of a resumable upload carries:
// small enough that progress shows on a slow link, large enough that the
// requests cost little.
const UploadChunk = 256 << 10

// MinUploadChunk and ChunkTime size the chunks to the link: a chunk takes
// about ChunkTime at the rate the last one went, and is never smaller
// than MinUploadChunk (about 13 s at 9.6 kbit/s).
const (
	MinUploadChunk = 16 << 10
	ChunkTime      = 10 * time.Second
)

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
	return c.post(ctx, PathExchange, "", pouch)
}

// upload sends a large pouch so that a dropped connection costs only the
// bytes in flight: after a failure it asks HQ for the offset it holds and
// sends from there.
func (c *Client) upload(ctx context.Context, pouch []byte) ([]byte, error) {
	h, attempts, wait := c.defaults()
	base := strings.TrimSuffix(c.BaseURL, "/")
	loc := c.Location
	offset := 0
	if loc != "" {
		// An upload begun before: ask how far HQ got, and go on from there
		// without sending its head again.
		resp, err := c.send(ctx, h, http.MethodHead, base+loc, nil, nil)
		n, nerr := 0, error(nil)
		if err == nil {
			n, nerr = strconv.Atoi(resp.Header.Get("Upload-Offset"))
		}
		if err == nil && resp.StatusCode == http.StatusOK && nerr == nil && n <= len(pouch) {
			offset = n
		} else {
			loc = ""
		}
	}
	// The creation carries the pouch's signed head, which HQ checks before
	// it keeps a byte; it answers with how much of the pouch it holds.
	head := pouch[:min(len(pouch), pouchpkg.HeadSize)]
	err := c.retry(ctx, attempts, wait, func() error {
		if loc != "" {
			return nil // resumed
		}
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
	if c.Location != loc {
		c.Sent += int64(len(head))
		if c.Created != nil {
			c.Created(loc)
		}
	}
	c.Location = loc
	if c.Progress != nil {
		c.Progress(offset, len(pouch))
	}
	// The attempts are counted afresh whenever one made progress: a link
	// that drops every few hundred KiB still gets a large pouch through.
	// Each chunk is sized to the rate the link has shown, so that even a
	// 9.6 kbit/s link sends one well inside the request timeout.
	chunk := UploadChunk / 4
	failures := 0
	for {
		before := offset
		err = c.patch(ctx, h, base+loc, pouch, &offset, &chunk)
		if err == nil {
			break
		}
		var re *RemoteError
		if errors.As(err, &re) && re.Final {
			return nil, err
		}
		if offset > before {
			failures = 0
		}
		if failures++; failures >= attempts {
			return nil, err
		}
		select {
		case <-time.After(wait<<(failures-1) + rand.N(wait)):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		// After a failure, HQ's word on what it holds decides where to go on.
		resp, herr := c.send(ctx, h, http.MethodHead, base+loc, nil, nil)
		if herr != nil {
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, &RemoteError{Status: resp.StatusCode, Message: "the upload is gone at HQ; the next sync starts it again", Final: resp.StatusCode == http.StatusNotFound}
		}
		if n, err := strconv.Atoi(resp.Header.Get("Upload-Offset")); err == nil && n <= len(pouch) {
			offset = n
		}
	}
	return c.post(ctx, loc+"/exchange", "", nil)
}

// patch sends the pouch from *offset in chunks, adapting *chunk to the
// rate the link shows, until the end or the first failure.
func (c *Client) patch(ctx context.Context, h *http.Client, url string, pouch []byte, offset, chunk *int) error {
	for *offset < len(pouch) {
		end := min(*offset+*chunk, len(pouch))
		c.Sent += int64(end - *offset)
		start := time.Now()
		resp, err := c.send(ctx, h, http.MethodPatch, url, pouch[*offset:end], map[string]string{
			"Upload-Offset": strconv.Itoa(*offset), "Content-Type": "application/offset+octet-stream"})
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusNoContent {
			return &RemoteError{Status: resp.StatusCode, Message: "HQ did not take the bytes"}
		}
		// Aim at chunks of about ChunkTime at the rate just seen.
		if took := time.Since(start); took > 0 {
			rate := float64(end-*offset) / took.Seconds()
			*chunk = max(MinUploadChunk, min(UploadChunk, int(rate*ChunkTime.Seconds())))
		}
		*offset = end
		if c.Progress != nil {
			c.Progress(*offset, len(pouch))
		}
		fault.Point("agent-mid-upload")
	}
	return nil
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
// Request budget. A request may take RequestBase, plus the time its body
// takes at MinRate: on the slowest line a mission has (9.6 kbit/s), a
// 72 KiB upload head gets a minute and a half, a small exchange twenty
// seconds. Within that a silent line is given up on, and tried again.
const (
	RequestBase = 20 * time.Second
	MinRate     = 1200 // bytes a second
)

func budget(size int) time.Duration {
	return RequestBase + time.Duration(size)*time.Second/MinRate
}

func (c *Client) send(ctx context.Context, h *http.Client, method, url string, body []byte, header map[string]string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, budget(len(body)))
	defer cancel()
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
	// The answer may be a reply pouch of some size: it gets its budget too.
	ctx, cancel := context.WithTimeout(ctx, budget(len(body))+budget(64<<10))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		// A pouch goes without one: it says what it is in its first bytes.
		req.Header.Set("Content-Type", ctype)
	}
	// The pouch says who sends it; a program name would be bytes on every
	// exchange over the slowest links.
	req.Header.Set("User-Agent", "")
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
