package sqlite

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Layout is how the databases write a time: UTC, with all nine fractional
// digits, so that comparing two stored times as text (ORDER BY, <, MAX)
// compares them as times. RFC 3339 with trimmed fractions does not: within
// one second "…:05Z" sorts after "…:05.5Z".
const Layout = "2006-01-02T15:04:05.000000000Z"

// Time is a time.Time in a TEXT column that may not be NULL. Rows written
// before [Layout] (RFC 3339, with or without fractions) scan too; text
// that is no time is an error, never a silent zero.
//
//	db.ExecContext(ctx, "INSERT INTO notes (at) VALUES (?)", sqlite.Time(now))
//	var at sqlite.Time
//	row.Scan(&at) // time.Time(at)
type Time time.Time

// Value writes t in [Layout].
func (t Time) Value() (driver.Value, error) {
	return time.Time(t).UTC().Format(Layout), nil
}

// Scan reads a time written in [Layout] or RFC 3339.
func (t *Time) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case time.Time:
		*t = Time(v.UTC())
		return nil
	default:
		return fmt.Errorf("sqlite: a time column holds %T, not text", v)
	}
	p, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("sqlite: %q is not a time in RFC 3339 form", s)
	}
	*t = Time(p.UTC())
	return nil
}

// NullTime is a time in a TEXT column that may be NULL: the zero time is
// written as NULL, and NULL (or empty text) scans as the zero time.
type NullTime time.Time

// NullOf returns p as a NullTime, NULL when p is nil.
func NullOf(p *time.Time) NullTime {
	if p == nil {
		return NullTime{}
	}
	return NullTime(*p)
}

// Ptr returns the time, or nil when it is NULL.
func (t NullTime) Ptr() *time.Time {
	if time.Time(t).IsZero() {
		return nil
	}
	v := time.Time(t)
	return &v
}

// Value writes t in [Layout], or NULL for the zero time.
func (t NullTime) Value() (driver.Value, error) {
	if time.Time(t).IsZero() {
		return nil, nil
	}
	return Time(t).Value()
}

// Scan reads NULL, empty text, or a time as [Time.Scan] does.
func (t *NullTime) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*t = NullTime{}
		return nil
	case string:
		if v == "" {
			*t = NullTime{}
			return nil
		}
	case []byte:
		if len(v) == 0 {
			*t = NullTime{}
			return nil
		}
	}
	return (*Time)(t).Scan(v)
}
