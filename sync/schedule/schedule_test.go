package schedule

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunsOnScheduleAndOnDemandWithoutOverlap(t *testing.T) {
	var runs, running, overlap atomic.Int32
	errs := make(chan error, 10)
	r := &Runner{
		Run: func(ctx context.Context) error {
			if running.Add(1) > 1 {
				overlap.Add(1)
			}
			defer running.Add(-1)
			time.Sleep(50 * time.Millisecond)
			if runs.Add(1) == 2 {
				return errors.New("link down")
			}
			return nil
		},
		OnError: func(err error) { errs <- err },
	}
	if err := r.Start("@every 1s"); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		r.Now() // folded: at most one run waits behind the current one
	}
	time.Sleep(1500 * time.Millisecond)
	r.Stop()
	if n := runs.Load(); n < 2 || n > 4 {
		t.Fatalf("%d runs; want the demanded ones folded plus the scheduled one", n)
	}
	if overlap.Load() != 0 {
		t.Fatal("runs overlapped")
	}
	select {
	case err := <-errs:
		if err.Error() != "link down" {
			t.Fatal(err)
		}
	default:
		t.Fatal("the failed run's error was not reported")
	}
}

func TestBadSpec(t *testing.T) {
	r := &Runner{Run: func(context.Context) error { return nil }}
	err := r.Start("every quarter hour")
	if err == nil || !strings.Contains(err.Error(), "is not a cron expression") {
		t.Fatalf("bad spec: %v", err)
	}
}
