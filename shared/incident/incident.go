// Package incident is the mission's narrative-risk log: what can happen
// (a false image, a leaked clip, an impersonation…), how serious it is,
// and the decision pathway an incident moves along (monitor, flag,
// respond, hold, escalate, coordinate with HQ, close), with the moves
// that make sense and those refused.
package incident

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"chancery/shared/evidence"
	"chancery/shared/i18n"
	"chancery/shared/problem"
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

// CreatedReason is the reason of an incident's first timeline entry, the
// one its recording makes. Pages say it in the reader's language.
const CreatedReason = "Recorded"

// Created reports whether the entry is the incident's recording.
func (e Entry) Created() bool { return e.From == "" && e.Reason == CreatedReason && !e.HQ }

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
type Attachment = evidence.File

// AttachmentData is an evidence file as it travels to HQ, after the
// incident's text.
type AttachmentData = evidence.Data

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
	// MaxAttachment is the largest evidence file.
	MaxAttachment = evidence.MaxSize
)

// Limits on an incident's record beyond what people type.
const (
	MaxID          = 64
	MaxName        = 64
	MaxTimeline    = 2000
	MaxAttachments = evidence.MaxFiles
)

// Check validates an incident as any site receives it: at the mission
// when a person records it, at HQ when the mission's change arrives. now
// is the reader's clock, against which the incident's times are checked.
func (in Incident) Check(now time.Time) error {
	switch {
	case strings.TrimSpace(in.Title) == "" || utf8.RuneCountInString(in.Title) > MaxTitle:
		return problem.New(problem.Invalid, "check.title", "Max", MaxTitle)
	case !knownKind(in.Kind):
		return problem.New(problem.Invalid, "check.kind", "Kind", string(in.Kind))
	case in.Severity < 1 || in.Severity > 4:
		return problem.New(problem.Invalid, "check.severity", "Severity", int(in.Severity))
	case !slices.Contains(Statuses, in.Status):
		return problem.New(problem.Invalid, "check.status", "Status", string(in.Status))
	case utf8.RuneCountInString(in.Summary) > MaxText || utf8.RuneCountInString(in.Lessons) > MaxText:
		return problem.New(problem.Invalid, "incident.text_too_long", "Max", MaxText)
	case in.Reach < 0:
		return problem.New(problem.Invalid, "check.reach")
	case len(in.Timeline) > MaxTimeline:
		return problem.New(problem.Invalid, "check.timeline", "N", len(in.Timeline), "Max", MaxTimeline)
	case len(in.Attachments) > MaxAttachments:
		return problem.New(problem.Invalid, "check.files", "N", len(in.Attachments), "Max", MaxAttachments)
	}
	if err := text.First(text.Line("field.incident_id", in.ID, MaxID),
		text.Line("field.title", in.Title, MaxTitle),
		text.Block("field.summary", in.Summary, MaxText),
		text.Block("field.lessons", in.Lessons, MaxText),
		text.Line("field.recorded_by", in.CreatedBy, MaxName)); err != nil {
		return err
	}
	for _, list := range [][]string{in.Platforms, in.Languages, in.Links} {
		if len(list) > MaxList {
			return problem.New(problem.Invalid, "check.list", "Max", MaxList)
		}
		for _, s := range list {
			if err := text.Line("field.platform", s, MaxItem); err != nil {
				return err
			}
		}
	}
	for _, l := range in.Links {
		u, err := url.Parse(l)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return problem.New(problem.Invalid, "check.link", "Link", l)
		}
	}
	for _, t := range []struct {
		what string
		at   *time.Time
	}{{"first_seen", &in.FirstSeen}, {"recorded", &in.CreatedAt}, {"updated", &in.UpdatedAt}, {"escalated", in.EscalatedAt}, {"closed", in.ClosedAt}} {
		if t.at != nil && !t.at.IsZero() {
			if err := text.When("field.time_"+t.what, *t.at, now); err != nil {
				return err
			}
		}
	}
	for _, e := range in.Timeline {
		if !slices.Contains(Statuses, e.To) || (e.From != "" && !slices.Contains(Statuses, e.From)) {
			return problem.New(problem.Invalid, "check.entry_status", "Status", string(e.To))
		}
		if err := text.First(text.Line("field.entry_author", e.By, MaxName), text.Block("field.entry_reason", e.Reason, MaxText), text.Line("field.guidance_id", e.GuidanceID, MaxID)); err != nil {
			return err
		}
	}
	for _, a := range in.Attachments {
		if err := a.Check(); err != nil {
			return err
		}
	}
	return nil
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
			return problem.New(problem.Invalid, "check.closed")
		}
		return problem.New(problem.Invalid, "check.move", "From", i18n.Key("incident_status."+string(in.Status)), "To", i18n.Key("incident_status."+string(to)), "Next", list(Next(in.Status)))
	}
	if strings.TrimSpace(reason) == "" {
		return problem.New(problem.Invalid, "check.why")
	}
	if to == Closed {
		if utf8.RuneCountInString(strings.TrimSpace(lessons)) < MinLessons {
			return problem.New(problem.Invalid, "check.lessons", "Min", MinLessons)
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

func list(ss []Status) statuses { return statuses(ss) }

// statuses says a list of statuses in the reader's language.
type statuses []Status

func (ss statuses) In(p *i18n.Printer) string {
	var out []string
	for _, s := range ss {
		out = append(out, p.T("incident_status."+string(s)))
	}
	return strings.Join(out, ", ")
}
