package httpd

import (
	"encoding/base64"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"chancery/shared/problem"
	"chancery/sync/exchange"
	"chancery/web"
)

// pouchPage is where a pouch that came on a USB stick is taken in.
func (h *handler) pouchPage(c echo.Context) error {
	return c.Render(http.StatusOK, "pouches", h.page(c, "nav.pouches", struct {
		Reply, ReplyName string
	}{}))
}

func (h *handler) uploadPouch(c echo.Context) error {
	fh, err := c.FormFile("pouch")
	if err != nil {
		return problem.New(problem.Invalid, "pouches.no_file")
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, h.Ingest.Limits.MaxPouch+1))
	if err != nil {
		return err
	}
	reply, err := h.Ingest.Take(c.Request().Context(), raw, "upload by "+web.ActorOf(c).Username)
	if err != nil {
		status, msg := web.StatusOf(c, err)
		if st, ok := exchange.StatusOf(err); ok {
			status, msg = st, err.Error()
		}
		p := h.page(c, "nav.pouches", struct{ Reply, ReplyName string }{})
		p.Error = fh.Filename + " was refused: " + msg + ". Nothing was written."
		return c.Render(status, "pouches", p)
	}
	p := h.page(c, "nav.pouches", struct{ Reply, ReplyName string }{
		Reply: base64.StdEncoding.EncodeToString(reply), ReplyName: "reply-" + fh.Filename})
	p.Flash = web.T(c, "pouches.taken", "Name", fh.Filename)
	return c.Render(http.StatusOK, "pouches", p)
}
