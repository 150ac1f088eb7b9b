package exchange

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"chancery/sync/pouch"
)

// Routes mounts HQ's mission-facing endpoints on e. They need no session:
// a pouch authenticates itself, and enrollment carries its one-time code.
func Routes(e *echo.Echo, hq HQ, maxPouch int64, up *Uploads) {
	if up != nil {
		e.POST(PathUploads, up.create(hq))
		e.HEAD(PathUploads+"/:id", up.head)
		e.PATCH(PathUploads+"/:id", up.patch)
		e.POST(PathUploads+"/:id/exchange", up.finish(hq))
	}
	e.POST(PathEnroll, func(c echo.Context) error {
		var req EnrollRequest
		dec := json.NewDecoder(io.LimitReader(c.Request().Body, 16<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return c.JSON(http.StatusBadRequest, map[string]string{"error": "the enrollment request is not valid JSON: " + err.Error()})
		}
		resp, err := hq.Enroll(c.Request().Context(), req, c.RealIP())
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, resp)
	})
	e.POST(PathExchange, func(c echo.Context) error {
		if c.Request().ContentLength > maxPouch {
			return c.JSON(http.StatusRequestEntityTooLarge, map[string]string{"error": "the pouch is larger than this server accepts; send the backlog in smaller pouches"})
		}
		body, err := io.ReadAll(io.LimitReader(c.Request().Body, maxPouch+1))
		if err != nil {
			return err
		}
		if int64(len(body)) > maxPouch {
			return c.JSON(http.StatusRequestEntityTooLarge, map[string]string{"error": "the pouch is larger than this server accepts; send the backlog in smaller pouches"})
		}
		reply, err := hq.Exchange(c.Request().Context(), body, Remote(c))
		if err != nil {
			return err
		}
		return answer(c, reply)
	})
}

// answer sends a reply pouch with only the HTTP it needs, for it goes
// at every sync over the slowest links: the receipt inside says, signed,
// when HQ took the pouch, so a Date header would tell nothing more, and
// a pouch says what it is in its first bytes, as an age file, so a
// Content-Type would not either.
func answer(c echo.Context, reply []byte) error {
	h := c.Response().Header()
	h["Date"], h["Content-Type"] = nil, nil // nil: net/http neither adds nor guesses them
	c.Response().WriteHeader(http.StatusOK)
	_, err := c.Response().Write(reply)
	return err
}

// HeaderCarriedBy names the mission that carried a pouch for another.
const HeaderCarriedBy = "Chancery-Carried-By"

var carrierRE = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,31}$`)

// Remote describes where a pouch came from: the address, and the
// carrying mission it names, if any (a label, not a proof).
func Remote(c echo.Context) string {
	r := c.RealIP()
	if by := c.Request().Header.Get(HeaderCarriedBy); carrierRE.MatchString(by) {
		r += " carried by " + by
	}
	return r
}

// StatusOf maps the pouch refusals to HTTP: a pouch HQ cannot trust is
// 403, one it cannot read 400, one too large 413. Other errors are left to
// the program's own mapping.
func StatusOf(err error) (int, bool) {
	switch {
	case errors.Is(err, pouch.ErrTooLarge), errors.Is(err, pouch.ErrTooMany):
		return http.StatusRequestEntityTooLarge, true
	case errors.Is(err, pouch.ErrUnknownKey), errors.Is(err, pouch.ErrRevokedKey), errors.Is(err, pouch.ErrSignature),
		errors.Is(err, pouch.ErrMisaddressed), errors.Is(err, pouch.ErrRebound), errors.Is(err, pouch.ErrNotForUs):
		return http.StatusForbidden, true
	case errors.Is(err, pouch.ErrNotPouch), errors.Is(err, pouch.ErrMalformed), errors.Is(err, pouch.ErrTampered):
		return http.StatusBadRequest, true
	}
	return 0, false
}
