// Package clock is the programs' wall clock. Embassy machines' clocks are
// often wrong, and Chancery must stay correct when they are; to test and
// drill that with the real binaries, the environment variable
// CHANCERY_CLOCK_SKEW (a duration such as 400h or -90m) moves the clock of
// the program it is given to. Without it, [Now] is [time.Now].
package clock

import (
	"fmt"
	"os"
	"time"
)

// Env is the variable that moves the clock.
const Env = "CHANCERY_CLOCK_SKEW"

var skew = read()

func read() time.Duration {
	v := os.Getenv(Env)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s=%q is not a duration (such as 400h or -90m); the clock is not moved\n", Env, v)
		return 0
	}
	return d
}

// Now returns the current time, moved by CHANCERY_CLOCK_SKEW if set.
func Now() time.Time {
	if skew == 0 {
		return time.Now()
	}
	return time.Now().Add(skew)
}
