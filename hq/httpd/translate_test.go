package httpd_test

import (
	"context"
	"strings"
	"testing"

	"chancery/sync/pouch"
	"chancery/web/webtest"
)

// TestTranslateTheFramework is a publisher putting the framework in
// force into French, field by field: the review lists the fields that
// change, the publication is the next version with that text and nothing
// else changed, and a field cleared reads in the framework's own words.
func TestTranslateTheFramework(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	e.db.SeedLibrary(context.Background())
	e.enroll("FR-PAR")
	b := webtest.New(t, e.srv.URL, password)
	b.Login("pub")
	if r := b.Get("/library"); !strings.Contains(r.Body, `id="translate-fr"`) || !strings.Contains(r.Body, "(complete)") {
		t.Fatalf("the framework's page offers no translation, or does not say it is complete:\n%s", r.Body)
	}
	r := b.Get("/library/framework/translate?lang=fr")
	if r.Status != 200 || !strings.Contains(r.Body, `name="item.STR-01.guidance"`) || !strings.Contains(r.Body, "Le niveau 2 signifie") {
		t.Fatalf("translation page: %d", r.Status)
	}
	v := webtest.FormValues(r.Body)
	v.Set("item.STR-01.guidance", "Au niveau 2, le poste détient le texte en vigueur.")
	v.Set("item.STR-02.question", "")
	v.Set("scope", "all")
	v.Set("action", "review")
	r = b.Post("/library/framework/translate", v)
	if r.Status != 200 || !strings.Contains(r.Body, `<code>item.STR-01.guidance</code>`) || !strings.Contains(r.Body, `<code>item.STR-02.question</code>`) ||
		strings.Contains(r.Body, `<code>item.STR-03.question</code>`) || !strings.Contains(r.Body, `id="reach-count">1 mission (all missions)`) {
		t.Fatalf("review: %d\n%s", r.Status, r.Body)
	}
	v.Set("action", "publish")
	if r := b.Post("/library/framework/translate", v); r.Status != 400 || e.newest().Version != 1 {
		t.Fatalf("published without the confirmation: %d", r.Status)
	}
	v.Set("reviewed", "all")
	v.Set("confirm", "1")
	if r := b.Post("/library/framework/translate", v); r.Status != 303 {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	f := e.newest()
	if f.Version != 2 {
		t.Fatalf("version %d in force after publishing the translation", f.Version)
	}
	fr := f.In("fr")
	if it, _ := fr.Item("STR-01"); it.Guidance != "Au niveau 2, le poste détient le texte en vigueur." {
		t.Errorf("STR-01's French guidance is %q", it.Guidance)
	}
	if it, _ := fr.Item("STR-02"); !strings.HasPrefix(it.Question, "Has the mission described") {
		t.Errorf("a cleared field should read in the framework's own words, not %q", it.Question)
	}
	if it, _ := fr.Item("STR-03"); !strings.HasPrefix(it.Question, "Le poste a-t-il reçu") {
		t.Errorf("an untouched translation changed: %q", it.Question)
	}
	if en, _ := f.Item("STR-01"); !strings.HasPrefix(en.Guidance, "Level 2 means") || len(f.Items) != 49 {
		t.Error("translating changed the framework's own words or items")
	}
	if r := b.Get("/library/framework"); !strings.Contains(r.Body, "(1 field to translate)") {
		t.Error("the framework's page does not count the field left to translate")
	}
	if r := b.Get("/library/framework/translate?lang=en"); r.Status != 400 {
		t.Errorf("translating into the framework's own language: %d", r.Status)
	}
}
