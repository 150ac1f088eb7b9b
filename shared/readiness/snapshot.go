package readiness

import "time"

// Snapshot is an assessment signed off by the head of mission: the answers
// as they stood at that moment, frozen.
type Snapshot struct {
	ID               string    `json:"id"`
	FrameworkVersion int       `json:"framework"`
	SignedBy         string    `json:"signed_by"`
	SignedAt         time.Time `json:"signed_at"`
	Note             string    `json:"note,omitempty"`
	Answers          []Answer  `json:"answers"`
}

// AnswerMap indexes the snapshot's answers by item id.
func (s Snapshot) AnswerMap() map[string]Answer {
	m := make(map[string]Answer, len(s.Answers))
	for _, a := range s.Answers {
		m[a.ItemID] = a
	}
	return m
}
