package httpd

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/sync/relay"
)

// eventMeaning says each relay event in words, from this mission's side.
var eventMeaning = map[string]string{
	uplink.EventHanded:       "gave it a pouch of ours to carry to HQ",
	uplink.EventReceipt:      "brought back HQ's receipt for us",
	uplink.EventReplyRefused: "brought back a reply we refused",
	uplink.EventStale:        "brought back an older reply from HQ, ignored",
	uplink.EventHQRefused:    "HQ refused the pouch carried",
	uplink.EventPeerRefused:  "could not take our pouch",
	uplink.EventTaken:        "gave us a pouch to carry to HQ",
	uplink.EventCarried:      "its pouch handed to HQ by us",
	uplink.EventReturned:     "took HQ's replies from us",
	uplink.EventFull:         "its pouch refused: our relay store is full",
	uplink.EventExpired:      "forgotten: HQ's answer never taken, or HQ never answered",
	uplink.EventSetAside:     "its pouch set aside: HQ kept failing it",
	uplink.EventDocument:     "gave us a document of HQ's update",
	uplink.EventServed:       "took a document of HQ's update from us",
}

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
	return c.Render(http.StatusOK, "peers", h.page(c, "Peers", struct {
		On      bool
		Peers   []relay.Known
		Others  []relay.Known
		Events  []store.RelayEvent
		Meaning map[string]string
	}{h.Peers != nil, list, others, events, eventMeaning}))
}
