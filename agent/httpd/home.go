package httpd

import (
	"chancery/shared/incident"
	"chancery/web"
	"net/http"

	"github.com/labstack/echo/v4"

	"chancery/shared/framework"
	"chancery/shared/readiness"
)

type homeData struct {
	FrameworkVersion int
	Report           readiness.Report
	Unsupported      []framework.Item
	LastSnapshot     *readiness.Snapshot
	CanSignOff       bool
	// Decisions are the incidents flagged for the head of mission, shown
	// to those who decide.
	Decisions []incident.Incident
}

func (h *handler) home(c echo.Context) error {
	ctx := c.Request().Context()
	f, err := h.framework(c)
	if err != nil {
		return err
	}
	answers, err := h.Store.Answers(ctx)
	if err != nil {
		return err
	}
	last, signed, err := h.Store.LatestSnapshot(ctx)
	if err != nil {
		return err
	}
	answers = readiness.Carry(f, answers)
	u, _ := web.CurrentUser(c)
	d := homeData{FrameworkVersion: f.Version, Report: readiness.Assess(f, answers), CanSignOff: has(canSignOff, u.Role)}
	for _, it := range f.Items {
		if a, ok := answers[it.ID]; ok && a.Unsupported() {
			d.Unsupported = append(d.Unsupported, it)
		}
	}
	if signed {
		d.LastSnapshot = &last
	}
	if has(canDecide, u.Role) {
		if d.Decisions, err = h.Store.AwaitingDecision(ctx); err != nil {
			return err
		}
	}
	p := h.page(c, "nav.readiness", d)
	if web.Flash(c) == "signed" {
		p.Flash = web.T(c, "home.signed_flash")
	}
	return c.Render(http.StatusOK, "home", p)
}
