package changelog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"chancery/shared/incident"
	"chancery/shared/readiness"
	"chancery/shared/text"
)

// Ack is the body of an [EntityAck] change: a person has read and
// understood a version of a protocol.
type Ack struct {
	Protocol string    `json:"protocol"`
	Version  int       `json:"version"`
	Username string    `json:"username"`
	At       time.Time `json:"at"`
}

// UpdateReport is the body of an [EntityUpdate] change: what the mission
// tells HQ about a release, applied or failed with the reason.
type UpdateReport struct {
	Release int64     `json:"release"`
	Status  string    `json:"status"` // "applied" or "failed"
	Reason  string    `json:"reason,omitempty"`
	At      time.Time `json:"at"`
	// Framework is the capability framework version in force at the
	// mission once the release is applied: HQ scores the mission against
	// it. Absent from reports of a failure.
	Framework int `json:"framework,omitempty"`
}

// Update report statuses.
const (
	UpdateApplied = "applied"
	UpdateFailed  = "failed"
)

// Check validates an acknowledgement.
func (a Ack) Check(now time.Time) error {
	switch {
	case a.Protocol == "" || a.Version < 1:
		return fmt.Errorf("an acknowledgement names no protocol version")
	}
	if err := text.First(text.Line("field.protocol_id", a.Protocol, 64),
		text.Line("field.acked_by", a.Username, readiness.MaxName),
		text.When("field.ack", a.At, now)); err != nil {
		return err
	}
	return nil
}

// MaxReason bounds the reason a mission gives for refusing a release.
const MaxReason = 2000

// Check validates a report on a release.
func (r UpdateReport) Check(now time.Time) error {
	switch {
	case r.Status != UpdateApplied && r.Status != UpdateFailed:
		return fmt.Errorf("unknown update status %q", r.Status)
	case r.Release < 0 || r.Framework < 0:
		return fmt.Errorf("a release or framework version cannot be negative")
	}
	if err := text.Block("field.reason", r.Reason, MaxReason); err != nil {
		return err
	}
	return text.When("field.report", r.At, now)
}

// ErrInvalid is a change whose record breaks the rules every site applies
// (a level off the scale, an unknown status, a text too long…).
var ErrInvalid = errors.New("the change's record is not valid")

// ErrMismatch is a change whose body is not the record its key names.
var ErrMismatch = errors.New("the change's body is not the record its key names")

// ErrUnknown is a change of an entity or operation this version does not
// know: a newer mission's. A site keeps it and applies it once upgraded.
var ErrUnknown = errors.New("a change of a kind this version does not know")

// Record reads a put change's body as the record its entity names, checks
// that it is the record the key names, and validates it with the record's
// own Check, now being the reader's clock. It returns one of
// readiness.Answer, readiness.Snapshot, Ack, UpdateReport,
// incident.Incident and incident.AttachmentData: the mission (when it
// rebuilds its records) and HQ (when it takes a mission's log) read
// changes through it, so both hold a record to the same rules; each then
// writes its own tables.
func (c Change) Record(now time.Time) (any, error) {
	rec, err := c.record()
	if err != nil {
		return nil, err
	}
	var check error
	switch r := rec.(type) {
	case readiness.Answer:
		check = r.Check(now)
	case readiness.Snapshot:
		check = r.Check(now)
	case Ack:
		check = r.Check(now)
	case UpdateReport:
		check = r.Check(now)
	case incident.Incident:
		check = r.Check(now)
	case incident.AttachmentData:
		check = r.Check()
	}
	if check != nil {
		return nil, fmt.Errorf("%w: %s %q: %v", ErrInvalid, c.Entity, c.Key, check)
	}
	return rec, nil
}

func (c Change) record() (any, error) {
	if !utf8.Valid(c.Body) {
		// JSON decoding would quietly mend it; the body is kept as sent.
		return nil, fmt.Errorf("%w: %s %q: its body is not valid UTF-8", ErrInvalid, c.Entity, c.Key)
	}
	if c.Op != OpPut {
		return nil, fmt.Errorf("%w: %s of %s", ErrUnknown, c.Op, c.Entity)
	}
	decode := func(v any) error {
		if err := json.Unmarshal(c.Body, v); err != nil {
			return fmt.Errorf("%s %s: %w", c.Entity, c.Key, err)
		}
		return nil
	}
	mismatch := func(got string) error {
		return fmt.Errorf("%w: %s %q has a body for %q", ErrMismatch, c.Entity, c.Key, got)
	}
	switch c.Entity {
	case EntityAnswer:
		var a readiness.Answer
		if err := decode(&a); err != nil {
			return nil, err
		}
		if a.ItemID != c.Key {
			return nil, mismatch(a.ItemID)
		}
		return a, nil
	case EntitySnapshot:
		var s readiness.Snapshot
		if err := decode(&s); err != nil {
			return nil, err
		}
		if s.ID != c.Key {
			return nil, mismatch(s.ID)
		}
		return s, nil
	case EntityAck:
		var a Ack
		if err := decode(&a); err != nil {
			return nil, err
		}
		if key := fmt.Sprintf("%s@%d@%s", a.Protocol, a.Version, a.Username); key != c.Key {
			return nil, mismatch(key)
		}
		return a, nil
	case EntityUpdate:
		var r UpdateReport
		if err := decode(&r); err != nil {
			return nil, err
		}
		if v := strconv.FormatInt(r.Release, 10); v != c.Key {
			return nil, mismatch(v)
		}
		return r, nil
	case EntityIncident:
		var in incident.Incident
		if err := decode(&in); err != nil {
			return nil, err
		}
		if in.ID != c.Key {
			return nil, mismatch(in.ID)
		}
		return in, nil
	case EntityAttachment:
		var a incident.AttachmentData
		if err := decode(&a); err != nil {
			return nil, err
		}
		sum := sha256.Sum256(a.Data)
		if got := hex.EncodeToString(sum[:]); got != c.Key || a.SHA256 != c.Key {
			return nil, mismatch(got)
		}
		return a, nil
	}
	return nil, fmt.Errorf("%w: %s of %s", ErrUnknown, c.Op, c.Entity)
}
