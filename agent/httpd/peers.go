package httpd

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"chancery/agent/store"
	"chancery/sync/relay"
)

// peers shows the missions this agent meets on a shared network, and
// what has travelled through whom.
func (h *handler) peers(c echo.Context) error {
	var list, others []relay.Known
	var events []store.RelayEvent
	if h.Peers != nil {
		// A node whose badge does not show a mission of our HQ's is never
		// listed as one: it is shown apart, by its address alone.
		for _, k := range h.Peers.Known() {
			if k.Unknown != "" {
				others = append(others, k)
			} else {
				list = append(list, k)
			}
		}
		var err error
		if events, err = h.Store.RelayEvents(c.Request().Context(), 200); err != nil {
			return err
		}
	}
	return c.Render(http.StatusOK, "peers", h.page(c, "nav.peers", struct {
		On     bool
		Peers  []relay.Known
		Others []relay.Known
		Events []store.RelayEvent
	}{h.Peers != nil, list, others, events}))
}
