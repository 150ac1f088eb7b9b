// Package incident is the mission's narrative-risk log: what can happen
// (a false image, a leaked clip, an impersonation…), how serious it is,
// and the decision pathway an incident moves along (monitor, flag,
// respond, hold, escalate, coordinate with HQ, close), with the moves
// that make sense and those refused.
package incident

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"chancery/shared/text"
)

// Kind is what sort of narrative risk an incident is.
type Kind string

// Kinds, from the domain's list.
var Kinds = []struct {
	Kind  Kind
	Label string
}{
	{"false-image", "False or manipulated image"},
	{"mistranslation", "Mistranslated statement"},
	{"leaked-clip", "Leaked clip"},
	{"synthetic-media", "Synthetic audio or video"},
	{"impersonation", "Impersonation of the mission or its people"},
	{"viral-rumour", "Viral rumour"},
	{"coordinated-campaign", "Coordinated influence campaign"},
	{"other", "Other"},
}

// Label is how people read a kind: "Synthetic audio or video".
func (k Kind) Label() string {
	for _, x := range Kinds {
		if x.Kind == k {
			return x.Label
		}
	}
	return string(k)
}

// Severity is how serious an incident is, 1 to 4.
type Severity int

// Label is how people read a severity: "4 · Critical".
func (s Severity) Label() string {
	for _, x := range Severities {
		if x.Severity == s {
			return fmt.Sprintf("%d · %s", s, x.Label)
		}
	}
	return fmt.Sprint(int(s))
}

// Severities, each with the definition staff choose by.
var Severities = []struct {
	Severity   Severity
	Label      string
	Definition string
}{
	{1, "Low", "Little reach, no sign of growth, no sensitive topic."},
	{2, "Moderate", "Growing, or picked up by a journalist or an influential account, or touching a sensitive topic."},
	{3, "High", "Reaching the mission's audiences widely, or involving officials, security or a bilateral dispute."},
	{4, "Critical", "National leadership, synthetic media of an official, or a crisis under way: HQ must know within the hour."},
}

// Status is where an incident stands on the decision pathway.
type Status string

// The decision pathway.
const (
	Monitoring   Status = "monitoring"
	Flagged      Status = "flagged"
	Responding   Status = "responding"
	Holding      Status = "holding"
	Escalated    Status = "escalated"
	Coordinating Status = "coordinating"
	Closed       Status = "closed"
)

// Statuses lists the pathway in order.
var Statuses = []Status{Monitoring, Flagged, Responding, Holding, Escalated, Coordinating, Closed}

// next says where each status may go. Closing is possible from anywhere
// (with lessons); a closed incident stays closed: a new development is a
// new incident, linked in its text.
var next = map[Status][]Status{
	Monitoring:   {Flagged, Responding, Holding, Escalated, Closed},
	Flagged:      {Monitoring, Responding, Holding, Escalated, Closed},
	Responding:   {Holding, Escalated, Coordinating, Closed},
	Holding:      {Monitoring, Flagged, Responding, Escalated, Closed},
	Escalated:    {Coordinating, Responding, Holding, Closed},
	Coordinating: {Responding, Holding, Closed},
	Closed:       nil,
}

// Next lists the statuses an incident may move to from s.
func Next(s Status) []Status { return slices.Clone(next[s]) }

// CanMove reports whether the pathway allows a move from one status to
// another.
func CanMove(from, to Status) bool { return slices.Contains(next[from], to) }

// Verb says a move as people say it.
func (s Status) Verb() string {
	return map[Status]string{Monitoring: "Monitor", Flagged: "Flag", Responding: "Respond", Holding: "Hold (wait)",
		Escalated: "Escalate to HQ", Coordinating: "Coordinate with HQ", Closed: "Close"}[s]
}

// Entry is one decision in an incident's timeline.
type Entry struct {
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to"`
	Reason string    `json:"reason"`
	// HQ marks guidance from headquarters rather than a decision of the
	// mission; GuidanceID names it, so that it is added once.
	HQ         bool   `json:"hq,omitempty"`
	GuidanceID string `json:"guidance,omitempty"`
	// Ack marks HQ's acknowledgement of the escalation.
	Ack bool `json:"ack,omitempty"`
}

// Acknowledged returns HQ's acknowledgement of the escalation, if it has
// come.
func (in Incident) Acknowledged() *Entry {
	for i := range in.Timeline {
		if in.Timeline[i].Ack {
			return &in.Timeline[i]
		}
	}
	return nil
}

// Attachment is evidence kept with an incident; its bytes are stored
// apart, under their hash.
type Attachment struct {
	Name   string    `json:"name"`
	SHA256 string    `json:"sha256"`
	Size   int64     `json:"size"`
	Type   string    `json:"type"` // as sniffed, for information only: never used to serve it
	At     time.Time `json:"at"`
	By     string    `json:"by"`
}

// AttachmentData is an evidence file as it travels to HQ, after the
// incident's text. The receiver checks Data against SHA256.
type AttachmentData struct {
	Incident string `json:"incident"`
	SHA256   string `json:"sha256"`
	Name     string `json:"name"`
	Data     []byte `json:"data"` // base64 in JSON
}

// Incident is one narrative-risk incident.
type Incident struct {
	ID          string       `json:"id"`
	Title       string       `json:"title"`
	Kind        Kind         `json:"kind"`
	Severity    Severity     `json:"severity"`
	Status      Status       `json:"status"`
	Summary     string       `json:"summary"`
	Platforms   []string     `json:"platforms,omitempty"`
	Languages   []string     `json:"languages,omitempty"`
	Links       []string     `json:"links,omitempty"`
	Reach       int          `json:"reach"` // estimated people reached
	FirstSeen   time.Time    `json:"first_seen"`
	CreatedBy   string       `json:"created_by"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
	EscalatedAt *time.Time   `json:"escalated_at,omitempty"`
	ClosedAt    *time.Time   `json:"closed_at,omitempty"`
	Lessons     string       `json:"lessons,omitempty"`
	Timeline    []Entry      `json:"timeline"`
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Limits on what people type.
const (
	MaxTitle   = 200
	MaxText    = 8000
	MaxList    = 20
	MaxItem    = 300
	MinLessons = 20
	// MaxAttachment is the largest evidence file: enough for a phone
	// screenshot or a short clip, small enough for a slow link.
	MaxAttachment = 10 << 20
)

// Limits on an incident's record beyond what people type.
const (
	MaxID          = 64
	MaxName        = 64
	MaxTimeline    = 2000
	MaxAttachments = 100
	MaxFileName    = 200
)

// Check validates an incident as any site receives it: at the mission
// when a person records it, at HQ when the mission's change arrives. now
// is the reader's clock, against which the incident's times are checked.
func (in Incident) Check(now time.Time) error {
	switch {
	case strings.TrimSpace(in.Title) == "" || utf8.RuneCountInString(in.Title) > MaxTitle:
		return fmt.Errorf("a title is 1 to %d characters", MaxTitle)
	case !knownKind(in.Kind):
		return fmt.Errorf("unknown kind of incident %q", in.Kind)
	case in.Severity < 1 || in.Severity > 4:
		return fmt.Errorf("severity is 1 (low) to 4 (critical), not %d", in.Severity)
	case !slices.Contains(Statuses, in.Status):
		return fmt.Errorf("unknown status %q", in.Status)
	case utf8.RuneCountInString(in.Summary) > MaxText || utf8.RuneCountInString(in.Lessons) > MaxText:
		return fmt.Errorf("a text is limited to %d characters", MaxText)
	case in.Reach < 0:
		return fmt.Errorf("reach cannot be negative")
	case len(in.Timeline) > MaxTimeline:
		return fmt.Errorf("a timeline of %d entries is more than %d", len(in.Timeline), MaxTimeline)
	case len(in.Attachments) > MaxAttachments:
		return fmt.Errorf("%d evidence files are more than %d", len(in.Attachments), MaxAttachments)
	}
	if err := text.First(text.Line("the incident id", in.ID, MaxID),
		text.Line("the title", in.Title, MaxTitle),
		text.Block("the summary", in.Summary, MaxText),
		text.Block("the lessons", in.Lessons, MaxText),
		text.Line("the name of who recorded it", in.CreatedBy, MaxName)); err != nil {
		return err
	}
	for _, list := range [][]string{in.Platforms, in.Languages, in.Links} {
		if len(list) > MaxList {
			return fmt.Errorf("at most %d platforms, languages or links", MaxList)
		}
		for _, s := range list {
			if err := text.Line("a platform, language or link", s, MaxItem); err != nil {
				return err
			}
		}
	}
	for _, l := range in.Links {
		u, err := url.Parse(l)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("link %q must start with https:// or http:// and name a site", l)
		}
	}
	for _, t := range []struct {
		what string
		at   *time.Time
	}{{"first seen", &in.FirstSeen}, {"recorded", &in.CreatedAt}, {"updated", &in.UpdatedAt}, {"escalated", in.EscalatedAt}, {"closed", in.ClosedAt}} {
		if t.at != nil && !t.at.IsZero() {
			if err := text.When("the incident's time "+t.what, *t.at, now); err != nil {
				return err
			}
		}
	}
	for _, e := range in.Timeline {
		if !slices.Contains(Statuses, e.To) || (e.From != "" && !slices.Contains(Statuses, e.From)) {
			return fmt.Errorf("a timeline entry moves to an unknown status %q", e.To)
		}
		if err := text.First(text.Line("a timeline entry's author", e.By, MaxName), text.Block("a timeline entry's reason", e.Reason, MaxText), text.Line("a guidance id", e.GuidanceID, MaxID)); err != nil {
			return err
		}
	}
	for _, a := range in.Attachments {
		if err := checkFile(a.Name, a.SHA256, a.Size); err != nil {
			return err
		}
		if err := text.Line("an evidence file's type", a.Type, MaxItem); err != nil {
			return err
		}
	}
	return nil
}

func checkFile(name, sha string, size int64) error {
	if err := text.Line("an evidence file's name", name, MaxFileName); err != nil {
		return err
	}
	if b, err := hex.DecodeString(sha); err != nil || len(b) != 32 {
		return fmt.Errorf("evidence file %q has no SHA-256", name)
	}
	if size < 0 || size > MaxAttachment {
		return fmt.Errorf("evidence file %q is %d bytes; the limit is %d", name, size, MaxAttachment)
	}
	return nil
}

// Check validates an evidence file as it travels.
func (a AttachmentData) Check() error {
	if err := text.Line("the incident id", a.Incident, MaxID); err != nil {
		return err
	}
	return checkFile(a.Name, a.SHA256, int64(len(a.Data)))
}

func knownKind(k Kind) bool {
	for _, x := range Kinds {
		if x.Kind == k {
			return true
		}
	}
	return false
}

// Move records a decision: the pathway must allow it, a reason is
// required, and closing requires the lessons learned.
func (in *Incident) Move(to Status, by, reason, lessons string, at time.Time) error {
	if !CanMove(in.Status, to) {
		if in.Status == Closed {
			return fmt.Errorf("this incident is closed; record a new development as a new incident")
		}
		return fmt.Errorf("an incident %s cannot move to %s; from here it can: %s", in.Status, to, list(Next(in.Status)))
	}
	if strings.TrimSpace(reason) == "" {
		return fmt.Errorf("say why: every decision is recorded with its reason")
	}
	if to == Closed {
		if utf8.RuneCountInString(strings.TrimSpace(lessons)) < MinLessons {
			return fmt.Errorf("write the lessons learned (at least %d characters) before closing: what happened, what helped, what should change", MinLessons)
		}
		in.Lessons = strings.TrimSpace(lessons)
		in.ClosedAt = &at
	}
	if to == Escalated && in.EscalatedAt == nil {
		in.EscalatedAt = &at
	}
	in.Timeline = append(in.Timeline, Entry{At: at, By: by, From: in.Status, To: to, Reason: strings.TrimSpace(reason)})
	in.Status, in.UpdatedAt = to, at
	return nil
}

func list(ss []Status) string {
	var out []string
	for _, s := range ss {
		out = append(out, string(s))
	}
	return strings.Join(out, ", ")
}
