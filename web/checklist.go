package web

import (
	"html/template"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"chancery/shared/evidence"
	"chancery/shared/framework"
	"chancery/shared/problem"
	"chancery/shared/readiness"
)

// ItemView is one checklist item as a person reads and answers it, at a
// mission or at headquarters: the same scale, rubric, evidence and files.
// The page draws it with the "checklist-item" template.
type ItemView struct {
	Item     framework.Item
	Models   []string
	Answer   readiness.Answer
	Answered bool
	// Unsupported is a claim of level 3–4 without evidence; Stale is
	// evidence older than the item allows.
	Unsupported, Stale bool
	// NotExpected, when set, says why the item does not count: the
	// ministry's profile is not expected to have it.
	NotExpected string
	// Error is why the answer just sent was refused, shown beside it.
	Error string
	// Saved, after a save, says so beside the item, with the new scores.
	Saved template.HTML
	// Action is where the form posts; FilesURL is the folder of the
	// item's evidence files; ProtocolURL is where a protocol id is
	// appended to link to it, "" for no links.
	Action, FilesURL, ProtocolURL string
	CanAnswer                     bool
	CSRF                          string
	Levels                        []readiness.Level
}

// NewItemView returns the view of an item and its answer, if any, at now.
func NewItemView(f *framework.Framework, it framework.Item, a readiness.Answer, answered bool, now time.Time) ItemView {
	v := ItemView{Item: it, Answer: a, Answered: answered, Levels: readiness.Levels(),
		Unsupported: answered && a.Unsupported(), Stale: answered && a.Stale(it, now)}
	for _, m := range it.Models {
		if model, ok := f.Model(m); ok {
			v.Models = append(v.Models, model.Name)
		}
	}
	return v
}

// Rubric returns what level l means for the item, "" when the item has
// no rubric (a version published before rubrics).
func (v ItemView) Rubric(l readiness.Level) string {
	if int(l) < len(v.Item.Rubric) {
		return v.Item.Rubric[l]
	}
	return ""
}

// Checked reports whether level l is the answer's.
func (v ItemView) Checked(l readiness.Level) bool {
	return v.Answered && !v.Answer.NA && v.Answer.Level == l
}

// EvidenceOn is the evidence date as a date field holds it.
func (v ItemView) EvidenceOn() string {
	if v.Answer.EvidenceOn.IsZero() {
		return ""
	}
	return v.Answer.EvidenceOn.Format(time.DateOnly)
}

// ReadAnswer reads an answer to the item from the checklist's form: the
// level (or not applicable), the evidence note and date, and the files
// sent. When the form is wrong it returns, in the reader's language, what
// to correct, and the answer as typed so that nothing typed is lost.
func ReadAnswer(c echo.Context, item string) (readiness.Answer, []evidence.Upload, string) {
	a := readiness.Answer{ItemID: item, Evidence: c.FormValue("evidence")}
	if on := c.FormValue("evidence_on"); on != "" {
		t, err := time.Parse(time.DateOnly, on)
		if err != nil {
			return a, nil, T(c, "answer.bad_date")
		}
		a.EvidenceOn = t
	}
	switch lv := c.FormValue("level"); lv {
	case "na":
		a.NA = true
	case "":
		return a, nil, T(c, "answer.no_level")
	default:
		n, err := strconv.Atoi(lv)
		if err != nil {
			return a, nil, T(c, "answer.bad_level")
		}
		a.Level = readiness.Level(n)
	}
	uploads, err := Uploads(c, "file", evidence.MaxSize)
	if err != nil {
		return a, nil, problem.MessageIn(err, P(c))
	}
	return a, uploads, ""
}

// Refused shows the answer a person just sent as they typed it, with msg,
// why it was refused, beside it: levelGiven says whether they chose a
// level at all.
func (v *ItemView) Refused(a readiness.Answer, levelGiven bool, msg string) {
	v.Answer.Evidence, v.Answer.EvidenceOn = a.Evidence, a.EvidenceOn
	if levelGiven {
		v.Answer.Level, v.Answer.NA, v.Answered = a.Level, a.NA, true
	}
	v.Error = msg
}
