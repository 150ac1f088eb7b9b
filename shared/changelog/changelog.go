// Package changelog defines the change record: the unit that travels from
// the site that owns a record to every other site that keeps a copy.
//
// Each site (a mission, or headquarters) appends one [Change] per record
// change, in the same transaction as the change itself, under a sequence
// number that starts at 1 and grows by one with no gaps. A change carries
// the whole new state of the record, not a difference, so replaying a log
// in sequence order rebuilds the records exactly, and replaying a change a
// second time changes nothing.
package changelog

import (
	"encoding/json"
	"time"
)

// Entity names the kind of record a change is about.
type Entity string

// The entities a mission owns.
const (
	// EntityAnswer is one checklist answer; its key is the item id and its
	// body a readiness.Answer.
	EntityAnswer Entity = "answer"
	// EntitySnapshot is a signed-off assessment; its key is the snapshot
	// id and its body a readiness.Snapshot.
	EntitySnapshot Entity = "snapshot"
	// EntityAck is a person's acknowledgement of a protocol version; its
	// key is "protocol@version@username".
	EntityAck Entity = "ack"
	// EntityUpdate is the mission's report on an update from HQ: applied,
	// or refused and why; its key is the release's version.
	EntityUpdate Entity = "update"
	// EntityIncident is a narrative-risk incident with its timeline; its
	// key is the incident's id and its body the whole incident.
	EntityIncident Entity = "incident"
	// EntityAttachment is an evidence file of an incident; its key is the
	// file's SHA-256 and its body an incident.AttachmentData.
	EntityAttachment Entity = "attachment"
)

// Op says what happened to the record.
type Op string

// Operations. A put carries the record's whole new state.
const (
	OpPut    Op = "put"
	OpDelete Op = "delete"
)

// Change is one entry of a site's change log.
type Change struct {
	Site   string          `json:"site"`
	Seq    int64           `json:"seq"`
	Entity Entity          `json:"entity"`
	Key    string          `json:"key"`
	Op     Op              `json:"op"`
	Body   json.RawMessage `json:"body,omitempty"`
	At     time.Time       `json:"at"`
}
