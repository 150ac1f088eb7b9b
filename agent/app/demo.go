package app

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"

	"chancery/agent/store"
	"chancery/shared/account"
	"chancery/shared/cli"
	"chancery/shared/problem"
	"chancery/shared/readiness"
)

// demo fills a mission's database with a plausible assessment, every
// evidence note marked as demo data, and signs it off. It refuses a
// database that already has answers, so it cannot mix with real work.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var seed string
	c, err := parse("demo", args, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&seed, "seed", "demo", "a word that picks the demo mission's strengths and gaps")
	})
	if err != nil {
		return err
	}
	db, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := Demo(ctx, db, seed)
	if err != nil {
		return err
	}
	cli.Say(stdout, "cli.agent_demo", "N", fmt.Sprint(n))
	return nil
}

// Demo writes a demo assessment into db and returns the number of answers.
func Demo(ctx context.Context, db *store.DB, seed string) (int, error) {
	if got, err := db.Answers(ctx); err != nil {
		return 0, err
	} else if len(got) > 0 {
		return 0, problem.New(problem.Conflict, "cli.demo_not_empty", "N", fmt.Sprint(len(got)))
	}
	h := fnv.New64a()
	h.Write([]byte(seed))
	rng := rand.New(rand.NewPCG(h.Sum64(), 7))
	f, err := db.Framework(ctx)
	if err != nil {
		return 0, err
	}
	// Each area gets a strength, so that demo missions differ the way real
	// ones do: strong on public diplomacy, weak on AI, and so on.
	strength := map[string]float64{}
	for _, a := range f.Areas {
		strength[a.ID] = rng.Float64() * 4
	}
	by := account.Actor{Username: "demo", Remote: "local"}
	n := 0
	for _, it := range f.Items {
		if rng.Float64() < 0.15 {
			continue // not answered yet
		}
		a := readiness.Answer{ItemID: it.ID}
		if rng.Float64() < 0.05 {
			a.NA = true
		} else {
			l := int(strength[it.Area] + rng.NormFloat64())
			a.Level = readiness.Level(max(0, min(4, l)))
		}
		if !a.NA && (a.Level >= readiness.Defined || rng.Float64() < 0.5) && rng.Float64() < 0.85 {
			a.Evidence = "Demo data: " + it.Evidence
		}
		if _, err := db.SaveAnswer(ctx, by, a); err != nil {
			return n, err
		}
		n++
	}
	if _, err := db.SignOff(ctx, by, "Demo data: first review"); err != nil {
		return n, err
	}
	return n, nil
}
