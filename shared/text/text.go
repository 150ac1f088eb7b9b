// Package text checks the strings people type, wherever they come from:
// a form at the mission, or a mission's pouch at HQ. Both run the same
// checks, so a record HQ accepts is one the mission could have made.
package text

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"chancery/shared/i18n"
	"chancery/shared/problem"
)

// Line checks a one-line field: valid UTF-8, no control characters (a NUL,
// a newline, an escape), at most max characters. what names the field in
// the error: a catalog key under field ("field.title"), so the error reads
// in its reader's language.
func Line(what, s string, max int) error {
	return check(what, s, max, false)
}

// Block checks a multi-line field: as Line, but newlines and tabs are
// allowed.
func Block(what, s string, max int) error {
	return check(what, s, max, true)
}

func check(what, s string, max int, multiline bool) error {
	field := i18n.Key(what)
	if !utf8.ValidString(s) {
		return problem.New(problem.Invalid, "text.not_utf8", "Field", field)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return problem.New(problem.Invalid, "text.too_long", "Field", field, "N", n, "Max", max)
	}
	if i := strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\t' || r == '\r'))
	}); i >= 0 {
		return problem.New(problem.Invalid, "text.control", "Field", field, "Char", fmt.Sprintf("%U", []rune(s[i:])[0]), "At", fmt.Sprint(i))
	}
	return nil
}

// Earliest and MaxAhead bound the times a record may carry: none is from
// before Chancery's era, and none from further ahead of the reader's clock
// than a year. The window is wide on purpose: a mission whose clock is
// wrong by weeks must still be heard (what is newer is decided by
// sequence numbers, not clocks); only times no clock gives are refused.
var Earliest = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// MaxAhead is how far ahead of the reader's clock a record's time may be.
const MaxAhead = 366 * 24 * time.Hour

// When checks a time a record carries against now (the reader's clock).
func When(what string, t, now time.Time) error {
	switch {
	case t.Before(Earliest):
		return problem.New(problem.Invalid, "text.too_early", "Field", i18n.Key(what), "At", t.UTC().Format("2006-01-02"), "Year", fmt.Sprint(Earliest.Year()))
	case t.After(now.Add(MaxAhead)):
		return problem.New(problem.Invalid, "text.too_late", "Field", i18n.Key(what), "At", t.UTC().Format("2006-01-02 15:04 UTC"), "Now", now.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return nil
}

// First returns the first error that is not nil: for running a record's
// checks in order and reporting the first it fails.
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
