package httpd

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/agent/uplink"
	"chancery/web"
)

func (h *handler) syncStatus(c echo.Context) error {
	st, err := h.Link.Status(c.Request().Context())
	if err != nil {
		return err
	}
	u, _ := web.CurrentUser(c)
	var waiting *uplink.Delivery
	if st.Pending > 0 {
		d := st.DeliveryOf(st.Acked+st.Pending, time.Time{}, h.nextSync())
		waiting = &d
	}
	p := h.page(c, "sync.title", struct {
		Status         uplink.Status
		Waiting        *uplink.Delivery
		CanSync        bool
		Relaying       bool
		TLSFingerprint string
	}{st, waiting, has(canAnswer, u.Role), h.Peers != nil, h.TLSFingerprint})
	if web.Flash(c) == "asked" {
		p.Flash = web.T(c, "sync.asked")
	}
	return c.Render(http.StatusOK, "sync", p)
}

func (h *handler) syncNow(c echo.Context) error {
	if err := h.Store.Audit(c.Request().Context(), web.ActorOf(c), "sync.now", "HQ", ""); err != nil {
		return err
	}
	h.SyncNow()
	web.SetFlash(c, "asked")
	return c.Redirect(http.StatusSeeOther, "/sync")
}
