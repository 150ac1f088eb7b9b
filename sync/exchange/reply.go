package exchange

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Reply is what HQ's reply pouch carries, line by line: HQ's receipt
// first, then the signed release if one goes with this reply, the
// release's documents the mission does not hold yet, and HQ's guidance on
// the mission's incidents. [Reply.Encode] and [ParseReply] are the one
// codec of these lines: HQ writes them, the mission and the tests read
// them, and nobody else builds or parses them by hand.
type Reply struct {
	Receipt   Receipt
	Release   *ReleaseLine
	Documents []Document
	Guidance  []GuidanceLine
}

// Document is one document of a release in a reply: its kind and its
// bytes exactly as the release hashes them.
type Document struct {
	Kind string
	Body []byte
}

// Line types of a reply.
const (
	lineReceipt  = "receipt"
	lineRelease  = "release"
	lineTarget   = "target"
	lineGuidance = "guidance"
)

// ErrNoReceipt refuses reply lines that do not start with a receipt.
var ErrNoReceipt = errors.New("HQ's reply carries no receipt")

// Encode returns the reply's lines, each line's type set.
func (r Reply) Encode() ([][]byte, error) {
	rc := r.Receipt
	rc.Type = lineReceipt
	first, err := json.Marshal(rc)
	if err != nil {
		return nil, fmt.Errorf("encode the receipt: %w", err)
	}
	lines := [][]byte{first}
	add := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode a reply line: %w", err)
		}
		lines = append(lines, b)
		return nil
	}
	if r.Release != nil {
		rl := *r.Release
		rl.Type = lineRelease
		if err := add(rl); err != nil {
			return nil, err
		}
	}
	for _, d := range r.Documents {
		if !json.Valid(d.Body) {
			return nil, fmt.Errorf("encode a reply line: the %s document is not JSON", d.Kind)
		}
		// The body travels as it is: a release hashes these very bytes.
		if err := add(TargetLine{Type: lineTarget, Kind: d.Kind, Body: d.Body}); err != nil {
			return nil, err
		}
	}
	for _, g := range r.Guidance {
		g.Type = lineGuidance
		if err := add(g); err != nil {
			return nil, err
		}
	}
	return lines, nil
}

// ParseReply reads a reply's lines. The first must be a receipt. A later
// line of a type this version does not know, or one that does not parse,
// is passed over: a newer HQ may add lines, and one bad line must not
// cost the mission its receipt. Whatever it takes from the lines is
// checked again by its user (the release's signature, each document
// against the release).
func ParseReply(lines [][]byte) (Reply, error) {
	var r Reply
	if len(lines) == 0 || json.Unmarshal(lines[0], &r.Receipt) != nil || r.Receipt.Type != lineReceipt {
		return r, ErrNoReceipt
	}
	for _, line := range lines[1:] {
		var head struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(line, &head) != nil {
			continue
		}
		switch head.Type {
		case lineRelease:
			var rl ReleaseLine
			if json.Unmarshal(line, &rl) == nil && r.Release == nil {
				r.Release = &rl
			}
		case lineTarget:
			var t TargetLine
			if json.Unmarshal(line, &t) == nil {
				r.Documents = append(r.Documents, Document{Kind: t.Kind, Body: t.Body})
			}
		case lineGuidance:
			var g GuidanceLine
			if json.Unmarshal(line, &g) == nil {
				r.Guidance = append(r.Guidance, g)
			}
		}
	}
	return r, nil
}

// DocumentFor returns the reply's document that the release's target t
// names (same kind, length and SHA-256), or nil.
func (r Reply) DocumentFor(t Target) []byte {
	for _, d := range r.Documents {
		if d.Kind == t.Kind && t.Matches(d.Body) {
			return d.Body
		}
	}
	return nil
}

// Encode returns the one line of a rekey pouch.
func (k Rekey) Encode() []byte {
	k.Type = "rekey"
	b, _ := json.Marshal(k) // strings only: it cannot fail
	return b
}

// ParseRekey reads the lines of a rekey pouch: exactly one rekey line.
func ParseRekey(lines [][]byte) (Rekey, error) {
	var k Rekey
	if len(lines) != 1 || json.Unmarshal(lines[0], &k) != nil || k.Type != "rekey" {
		return k, errors.New("a rekey pouch holds one rekey line")
	}
	return k, nil
}
