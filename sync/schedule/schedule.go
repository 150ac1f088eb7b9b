// Package schedule runs a mission's sync: on a cron schedule with jitter,
// and at once when asked (the "sync now" button, an escalated incident).
// Runs never overlap: a request that comes while a run is going on is
// folded into one more run after it.
package schedule

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
)

// DefaultSpec syncs every 15 minutes. Jitter spreads a thousand missions
// that were installed on the same day over the period instead of letting
// them call HQ in the same second.
const DefaultSpec = "@every 15m"

// Runner calls Run on schedule and on demand.
type Runner struct {
	// Run does one sync. Its error is reported to OnError.
	Run func(ctx context.Context) error
	// OnError, if set, receives the error of a failed run.
	OnError func(error)
	// Jitter is the longest random delay before a scheduled run.
	Jitter time.Duration

	cron   *cron.Cron
	sched  cron.Schedule
	kick   chan struct{}
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start begins running on the cron spec (standard five fields, or
// descriptors such as "@every 15m" and "@hourly").
func (r *Runner) Start(spec string) error {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Errorf("sync schedule %q is not a cron expression (for example @every 15m, or */10 * * * *): %w", spec, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.kick = make(chan struct{}, 1)
	r.done = make(chan struct{})
	r.cron, r.sched = cron.New(), sched
	r.cron.Schedule(sched, cron.FuncJob(func() {
		if r.Jitter > 0 {
			select {
			case <-time.After(rand.N(r.Jitter)):
			case <-ctx.Done():
				return
			}
		}
		r.Now()
	}))
	r.cron.Start()
	go r.loop(ctx)
	return nil
}

// Next is when the next scheduled run is due (up to Jitter later); zero
// before Start.
func (r *Runner) Next() time.Time {
	if r.cron == nil {
		return time.Time{}
	}
	if es := r.cron.Entries(); len(es) > 0 {
		return es[0].Next
	}
	return time.Time{}
}

// Every is the time between two scheduled runs, as the schedule has it
// from now.
func (r *Runner) Every() time.Duration {
	if r.sched == nil {
		return 0
	}
	a := r.sched.Next(time.Now())
	return r.sched.Next(a).Sub(a)
}

// Now asks for a run as soon as possible. It never blocks.
func (r *Runner) Now() {
	select {
	case r.kick <- struct{}{}:
	default: // a run is already asked for
	}
}

func (r *Runner) loop(ctx context.Context) {
	defer close(r.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
			if err := r.Run(ctx); err != nil && r.OnError != nil && ctx.Err() == nil {
				r.OnError(err)
			}
		}
	}
}

// Stop stops the schedule and waits for a run in progress to end.
func (r *Runner) Stop() {
	if r.cron == nil {
		return
	}
	<-r.cron.Stop().Done()
	r.cancel()
	<-r.done
}
