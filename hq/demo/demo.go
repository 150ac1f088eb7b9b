// Package demo makes demo missions for headquarters: real capital cities,
// plausible assessments with a year of monthly sign-offs, every one marked
// as demo data. `make run` and the map's benchmark use it.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"chancery/hq/store"
	"chancery/shared/account"
	"chancery/shared/framework"
	"chancery/shared/readiness"
)

// stride walks the capitals in an order that mixes the regions; it must
// share no factor with len(capitals).
const stride = 37

// Options shape the demo.
type Options struct {
	// Missions is how many to make; past the list of capitals, consulates
	// are added in the same cities.
	Missions int
	// Snapshots is how many monthly sign-offs each mission has.
	Snapshots int
	// Seed makes the demo the same from run to run.
	Seed uint64
	Now  time.Time
}

// Generate adds the demo missions that are not registered yet and returns
// how many it added.
func Generate(ctx context.Context, db *store.DB, o Options) (int, error) {
	rng := rand.New(rand.NewPCG(o.Seed, 1))
	cat, err := db.Catalog(ctx)
	if err != nil {
		return 0, err
	}
	f := cat.Framework()
	added := 0
	for i := range o.Missions {
		// Step through the list by a stride that shares no factor with its
		// length, so that any number of missions spreads over every region.
		c := capitals[(i*stride)%len(capitals)]
		m := store.Mission{Code: c.iso + "-" + c.code, Name: "Embassy in " + c.city, Country: c.country,
			City: c.city, Region: c.region, Lat: &c.lat, Lon: &c.lon, Demo: true, Framework: f.Version}
		if n := i / len(capitals); n > 0 {
			m.Code += strconv.Itoa(n + 1)
			m.Name = fmt.Sprintf("Consulate %d in %s", n+1, c.city)
		}
		// Most missions synced minutes ago; one in seven has gone quiet.
		seen := o.Now.Add(-time.Duration(rng.IntN(30)) * time.Minute)
		if rng.IntN(7) == 0 {
			seen = o.Now.Add(-time.Duration(2+rng.IntN(20)) * 24 * time.Hour)
		}
		current, history := assessment(rng, f, o)
		ok, err := db.PutDemo(ctx, m, current, history, seen)
		if err != nil {
			return added, err
		}
		if ok {
			added++
		}
	}
	return added, ministry(ctx, db, rng, f)
}

// ministry gives HQ an assessment of its own, once: ministry items at
// the levels a ministry part of the way there shows, and a sign-off.
func ministry(ctx context.Context, db *store.DB, rng *rand.Rand, f *framework.Framework) error {
	have, err := db.MinistryAnswers(ctx)
	if err != nil || len(have) > 0 || len(f.Ministry) == 0 {
		return err
	}
	by := account.Actor{Username: "demo", Remote: "demo"}
	for _, it := range f.Ministry {
		a := readiness.Answer{ItemID: it.ID, Level: readiness.Level(rng.IntN(4))}
		if a.Level >= readiness.Defined {
			a.Evidence = "Demo data: " + it.Evidence
		}
		if _, err := db.SaveMinistryAnswer(ctx, by, f, a); err != nil {
			return err
		}
	}
	_, err = db.SignOffMinistry(ctx, by, f, "Demo data: the year's review")
	return err
}

// assessment makes a mission's current answers and its signed-off
// history. Each area has a strength; the mission improves over the year,
// with noise, as real missions do unevenly.
func assessment(rng *rand.Rand, f *framework.Framework, o Options) ([]readiness.Answer, []readiness.Snapshot) {
	strength := map[string]float64{}
	for _, a := range f.Areas {
		strength[a.ID] = 0.5 + rng.Float64()*3.3
	}
	skip := map[string]bool{}
	for _, it := range f.Items {
		skip[it.ID] = rng.Float64() < 0.1
	}
	answers := func(at time.Time, behind float64) []readiness.Answer {
		var out []readiness.Answer
		for _, it := range f.Items {
			if skip[it.ID] {
				continue
			}
			a := readiness.Answer{ItemID: it.ID, AnsweredBy: "demo", AnsweredAt: at}
			if it.ID == "MIS-04" && rng.IntN(2) == 0 {
				a.NA = true
			} else {
				l := strength[it.Area] - behind + rng.NormFloat64()*0.8
				a.Level = readiness.Level(max(0, min(4, int(l+0.5))))
			}
			if !a.NA && (a.Level >= readiness.Defined || rng.IntN(2) == 0) && rng.IntN(8) > 0 {
				a.Evidence = "Demo data: " + it.Evidence
			}
			out = append(out, a)
		}
		return out
	}
	var history []readiness.Snapshot
	for k := range o.Snapshots {
		months := o.Snapshots - k
		at := o.Now.AddDate(0, -months, 0).Truncate(time.Second).UTC()
		history = append(history, readiness.Snapshot{
			ID: at.Format("20060102T150405Z") + "-demo", FrameworkVersion: f.Version, SignedBy: "demo", SignedAt: at,
			Note: "Demo data: monthly review", Answers: answers(at, float64(months)*0.12),
		})
	}
	return answers(o.Now.Add(-time.Duration(rng.IntN(72))*time.Hour).UTC(), 0), history
}
