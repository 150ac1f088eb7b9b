package httpd

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"chancery/sync/relay"
)

// peers shows the missions this agent meets on a shared network.
func (h *handler) peers(c echo.Context) error {
	var list []relay.Peer
	if h.Peers != nil {
		list = h.Peers.Peers()
	}
	return c.Render(http.StatusOK, "peers", h.page(c, "Peers", struct {
		On    bool
		Peers []relay.Peer
	}{h.Peers != nil, list}))
}
