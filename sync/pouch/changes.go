package pouch

import (
	"encoding/json"
	"fmt"

	"chancery/shared/changelog"
)

// Changes decodes the body of a changes pouch and checks it against the
// signed manifest: every change is from the sending site, and their
// sequence numbers run from First to Last without a gap.
func (p *Pouch) Changes() ([]changelog.Change, error) {
	m := p.Manifest
	if m.Kind != KindChanges {
		return nil, fmt.Errorf("%w: a %s pouch carries no changes", ErrMalformed, m.Kind)
	}
	if len(p.Lines) == 0 && m.First == 0 && m.Last == 0 {
		return nil, nil // a request for what the addressee holds, with nothing new
	}
	if len(p.Lines) == 0 || m.Last-m.First+1 != int64(len(p.Lines)) || m.First < 1 {
		return nil, fmt.Errorf("%w: %d changes for the range %d–%d", ErrMalformed, len(p.Lines), m.First, m.Last)
	}
	out := make([]changelog.Change, len(p.Lines))
	for i, l := range p.Lines {
		c := &out[i]
		if err := json.Unmarshal(l, c); err != nil {
			return nil, fmt.Errorf("%w: change %d: %v", ErrMalformed, i+1, err)
		}
		if c.Site != m.From {
			return nil, fmt.Errorf("%w: change %d is from %q in a pouch from %q", ErrMalformed, i+1, c.Site, m.From)
		}
		if c.Seq != m.First+int64(i) {
			return nil, fmt.Errorf("%w: change %d has sequence %d, expected %d", ErrMalformed, i+1, c.Seq, m.First+int64(i))
		}
	}
	return out, nil
}

// ChangeLines encodes changes as body lines for [Seal].
func ChangeLines(cs []changelog.Change) ([][]byte, error) {
	out := make([][]byte, len(cs))
	for i, c := range cs {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}
