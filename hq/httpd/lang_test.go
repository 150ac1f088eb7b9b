package httpd_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"chancery/hq/httpd"
	"chancery/hq/readymap"
	"chancery/hq/rollout"
	"chancery/shared/framework"
	"chancery/shared/i18n"
	"chancery/sync/pouch"
	"chancery/web/webtest"
)

// TestEveryPageInEveryLanguage: each of HQ's pages says its language,
// shows words of it, and asks the catalog for no key it lacks; an
// analyst's choice of language in their account wins over the browser's.
func TestEveryPageInEveryLanguage(t *testing.T) {
	e := newEnv(t, pouch.DefaultLimits)
	e.db.SeedLibrary(context.Background())
	m := e.enroll("FR-PAR")
	e.send(m, m.pouch(t, 1, 3, "HQ"))
	b := webtest.New(t, e.srv.URL, password)
	b.Login("admin")
	get := func(path, lang string) (int, string) {
		b.Header = http.Header{"Accept-Language": {lang}}
		r := b.Get(path)
		return r.Status, r.Body
	}
	paths := []string{"/", "/?region=Europe&fresh=stale", "/gaps", "/missions", "/missions/FR-PAR", "/missions/FR-PAR/edit", "/missions/new", "/incidents",
		"/incidents/lessons", "/library", "/library/ai-use", "/library/ai-use/edit", "/library/new", "/library/framework/edit", "/library/framework/translate?lang=fr", "/pouches", "/users", "/audit", "/account",
		"/ministry", "/questions", "/report", "/missions/FR-PAR/report"}
	for _, lang := range i18n.Languages() {
		p := i18n.For(lang)
		for _, path := range append(paths, "/no-such-page") {
			status, page := get(path, lang)
			if status != 200 && path != "/no-such-page" {
				t.Errorf("%s in %s: %d", path, lang, status)
			}
			if !strings.Contains(page, `<html lang="`+lang+`">`) || !strings.Contains(page, p.T("layout.footer")) {
				t.Errorf("%s is not in %s", path, lang)
			}
		}
	}
	_, page := get("/", "fr")
	for _, want := range []string{"Carte de préparation", "Résilience narrative", "Administration centrale"} {
		if !strings.Contains(page, want) {
			t.Errorf("the French map lacks %q", want)
		}
	}
	if _, page := get("/library/ai-use/edit", "en"); !strings.Contains(page, `name="text.fr.title" maxlength="200" value="Règles d’usage des outils d’IA"`) {
		t.Error("the form for a new version does not carry the protocol's French text")
	}
	if miss := i18n.Missing(); len(miss) > 0 {
		t.Errorf("pages asked for keys the catalog lacks: %v", miss)
	}

	// The account's language wins over the browser's.
	b.Get("/account")
	if r := b.Post("/account/language", map[string][]string{"lang": {"fr"}}); r.Status != 303 {
		t.Fatalf("choosing French: %d", r.Status)
	}
	if _, page := get("/missions", "en"); !strings.Contains(page, `<html lang="fr">`) {
		t.Error("the language chosen in the account does not win over the browser's")
	}
	if r := b.Get("/account"); !strings.Contains(r.Body, "Désormais, Chancery s’adresse à vous en français.") {
		t.Error("no word that the language was saved")
	}
	if r := b.Post("/account/language", map[string][]string{"lang": {"klingon"}}); r.Status != 400 || !strings.Contains(r.Body, "klingon") {
		t.Errorf("an unknown language: %d", r.Status)
	}
	b.Post("/account/language", map[string][]string{"lang": {""}})
	if _, page := get("/missions", "en"); !strings.Contains(page, `<html lang="en">`) {
		t.Error("going back to the browser's language does not")
	}
}

// TestEveryStateHasWords: the values HQ's pages say through the catalog
// (mission and rollout states, the gap questions, framework changes,
// roles) each have a message, in every language.
func TestEveryStateHasWords(t *testing.T) {
	keys := []string{"mission_state.new", "mission_state.enrolled", "mission_state.revoked"}
	for _, s := range []string{rollout.Pending, rollout.Sent, rollout.Applied, rollout.Failed, rollout.Unknown} {
		keys = append(keys, "rollout."+s)
	}
	for _, q := range readymap.Questions {
		keys = append(keys, "gap."+q.ID+".text", "gap."+q.ID+".shows")
	}
	for _, k := range []string{"added", "removed", "renamed", "changed"} {
		keys = append(keys, "fw_change."+k)
	}
	for _, r := range httpd.Roles {
		keys = append(keys, "role."+r)
	}
	for _, p := range framework.Profiles {
		keys = append(keys, "profile."+p, "profile_means."+p)
	}
	for _, q := range readymap.SixQuestions {
		keys = append(keys, "six."+q+".title", "six."+q+".ask")
	}
	for _, miss := range i18n.Lacking(keys...) {
		t.Errorf("the catalog lacks %s", miss)
	}
}
