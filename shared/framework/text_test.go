package framework_test

import (
	"strings"
	"testing"

	"chancery/shared/framework"
	"chancery/shared/i18n"
)

// TestBuiltinReadsInEveryLanguage: every shipped language has the whole
// built-in framework, so nobody meets an English item on a French page.
func TestBuiltinReadsInEveryLanguage(t *testing.T) {
	f := framework.Builtin()
	for _, l := range i18n.Languages() {
		if miss := f.Untranslated(l); len(miss) > 0 {
			t.Errorf("the built-in framework in %s lacks: %s", l, strings.Join(miss, "; "))
		}
	}
	fr := f.In("fr")
	if a, _ := fr.Area("narrative"); a.Name != "Résilience narrative" {
		t.Errorf("the narrative area in French is %q", a.Name)
	}
	if it, _ := fr.Item("STR-01"); it.Weight != 3 && it.Weight != f.Items[0].Weight {
		t.Error("reading in French changed an item's weight")
	}
	if f.Items[0].Question == fr.Items[0].Question {
		t.Error("the French reading changed nothing")
	}
	if en, _ := f.Item("STR-01"); strings.Contains(en.Question, "poste") {
		t.Error("reading in French changed the shared framework")
	}
	// A language with no text reads in the framework's own.
	if f.In("de") != f {
		t.Error("a language without text should read the framework as it is")
	}
}

// TestTextRefusesUnknownIds: a translation of an item the framework does
// not have is a typo that would silently lose the translation.
func TestTextRefusesUnknownIds(t *testing.T) {
	f := *framework.Builtin()
	f.Text = map[string]framework.Text{"fr": {Items: map[string]framework.ItemText{"STR-99": {Question: "?"}}}}
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), `no item “STR-99” to translate`) {
		t.Fatalf("validate: %v", err)
	}
	f.Text = map[string]framework.Text{"français": {}}
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "not a language tag") {
		t.Fatalf("validate: %v", err)
	}
}

// TestCarryTextDropsWhatChanged: a new version keeps the translations of
// the words it keeps, and drops those of the words it changes, so that no
// page shows a translation of words that are no longer the framework's.
func TestCarryTextDropsWhatChanged(t *testing.T) {
	prev := framework.Builtin()
	next := *prev
	next.Version = 2
	next.Items = append([]framework.Item(nil), prev.Items...)
	next.Items[0].Guidance = "New guidance, not yet translated."
	next.Items[1].ID = "STR-22" // renamed, words unchanged
	next.CarryText(prev, map[string]string{"STR-22": "STR-02"})
	fr := next.In("fr")
	if it, _ := fr.Item("STR-01"); it.Guidance != "New guidance, not yet translated." || !strings.Contains(it.Question, "Le poste") {
		t.Errorf("STR-01 in French: %+v", it)
	}
	if it, _ := fr.Item("STR-22"); !strings.Contains(it.Question, "modèles de diplomatie numérique") {
		t.Errorf("the renamed item lost its translation: %+v", it)
	}
	if got := next.Untranslated("fr"); len(got) != 1 || got[0] != "item STR-01 guidance" {
		t.Errorf("untranslated after the edit: %v", got)
	}
	if err := next.Validate(); err != nil {
		t.Fatal(err)
	}
}
