package test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserInFrench is a francophone embassy and its HQ. A browser that
// asks for French gets every page in French, from the login page on: a
// member of staff answers an item, records an incident and reads the
// escalation pathway beside each decision, finds a protocol, and syncs;
// HQ's map then shows the mission in French. Choosing English in the
// account wins over the browser.
func TestBrowserInFrench(t *testing.T) {
	hq, hqDir, agentDir := enrolled(t, "FR-PAR")
	run(t, "chancery-hq", "demo", "--data", hqDir, "--missions", "24", "--snapshots", "2")
	a := startAgent(t, agentDir, "--mission-name", "Ambassade à Testland")
	ctx := newBrowser(t, chromedp.Flag("accept-lang", "fr-FR,fr"), chromedp.Flag("lang", "fr-FR"))

	french := func(page string) {
		t.Helper()
		lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
		if err != nil || lang != "fr" {
			t.Fatalf("%s: the page's language is %q (%v)", page, lang, err)
		}
	}
	says := func(page string, sel chromedp.CSS, want ...string) {
		t.Helper()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+"`"+string(sel)+"`"+`).textContent.replace(/\s+/g, " ")`))
		if err != nil {
			t.Fatalf("%s: read %s: %v", page, sel, err)
		}
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Fatalf("%s: %s says %q, not %q", page, sel, got, w)
			}
		}
	}

	do(t, ctx, "the login page",
		chromedp.Navigate(a.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#username`)),
	)
	french("login")
	says("login", `h1`, "Connexion")
	says("login", `label[for=username]`, "Identifiant")
	do(t, ctx, "log in",
		chromedp.SendKeys(chromedp.CSS(`#username`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), a.Password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#overall-score`)),
	)
	french("home")
	says("home", `h1`, "Préparation de Ambassade à Testland")
	says("home", `main`, "Domaines", "Résilience narrative", "Les six modèles dans ce poste", "Cellule de diplomatie de l’IA")
	says("home", `footer`, "référentiel v1 en vigueur")
	says("home", `header nav`, "Préparation", "Incidents", "Protocoles", "Synchronisation")
	shot(t, ctx, "fr-agent-home.png")

	do(t, ctx, "open an area",
		chromedp.Click(chromedp.CSS(`a[href="/areas/narrative"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#area-score`)),
	)
	french("area")
	says("area", `h1`, "Résilience narrative")
	says("area", `#NAR-02`, "procédure de remontée des crises", "défini", "Justificatif")
	do(t, ctx, "answer NAR-02",
		chromedp.Click(chromedp.CSS(`#NAR-02-l3`)),
		chromedp.SendKeys(chromedp.CSS(`#NAR-02-ev`), "Procédure v3, exercée avec l’administration centrale en mai"),
		chromedp.Click(chromedp.CSS(`#NAR-02-save`)),
		chromedp.WaitVisible(chromedp.CSS(`#NAR-02-saved`)),
	)
	french("area after saving")
	says("area after saving", `#NAR-02-saved`, "Votre réponse à NAR-02 est enregistrée", "Résilience narrative obtient désormais 10/100")
	says("area after saving", `#NAR-02`, "Dernière réponse de admin")
	shot(t, ctx, "fr-agent-area.png")

	do(t, ctx, "record an incident",
		chromedp.Navigate(a.URL+"/incidents/new"),
		chromedp.WaitVisible(chromedp.CSS(`#i-title`)),
	)
	french("new incident")
	says("new incident", `label[for=i-title]`, "De quoi s’agit-il, en une ligne")
	do(t, ctx, "fill the incident",
		chromedp.SendKeys(chromedp.CSS(`#i-title`), "Faux enregistrement de l’ambassadeur"),
		chromedp.SetValue(chromedp.CSS(`#i-kind`), "synthetic-media"),
		chromedp.Click(chromedp.CSS(`input[name=severity][value="3"]`)),
		chromedp.SendKeys(chromedp.CSS(`#i-summary`), "Un enregistrement attribué à l’ambassadeur circule sur Telegram."),
		chromedp.SendKeys(chromedp.CSS(`#i-reach`), "12000"),
		chromedp.Click(chromedp.CSS(`#record`)),
		chromedp.WaitVisible(chromedp.CSS(`#status`)),
	)
	french("incident")
	says("incident", `#status`, "en veille")
	says("incident", `.lede`, "Audio ou vidéo synthétique", "gravité 3 · Élevée")
	says("incident", `main`, "Prochaine décision", "Signaler", "Qui décide : Le responsable de l’incident ; le chef de poste est informé.", "12 000", "par admin : Enregistré")
	shot(t, ctx, "fr-agent-incident.png")

	do(t, ctx, "the library",
		chromedp.Navigate(a.URL+"/protocols?q=usurpation"),
		chromedp.WaitVisible(chromedp.CSS(`#hits-h`)),
	)
	french("library")
	says("library", `#hits-h`, "pour « usurpation »")
	says("library", `.hits`, "Réponse aux médias synthétiques et aux usurpations d’identité")
	do(t, ctx, "the pathway",
		chromedp.Navigate(a.URL+"/protocols/crisis-escalation"),
		chromedp.WaitVisible(chromedp.CSS(`#ack`)),
	)
	french("protocol")
	says("protocol", `article.doc`, "Les six décisions", "Remonter dans les deux heures")
	says("protocol", `#ack`, "J’ai lu et compris la version 1")

	do(t, ctx, "sync",
		chromedp.Navigate(a.URL+"/sync"),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/sync"] button`)),
	)
	french("sync")
	says("sync", `h1`, "Synchronisation avec l’administration centrale")
	do(t, ctx, "sync now", chromedp.Click(chromedp.CSS(`form[action="/sync"] button`)), chromedp.WaitVisible(chromedp.CSS(`.flash`)))
	says("sync", `.flash`, "Synchronisation lancée")

	// HQ, in French, shows what the mission sent.
	do(t, ctx, "HQ's login", chromedp.Navigate(hq.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#username`)))
	french("HQ login")
	do(t, ctx, "log in at HQ",
		chromedp.SendKeys(chromedp.CSS(`#username`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`#password`), hq.Password),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#heat`)),
	)
	waitFor(t, 30*time.Second, func() bool {
		if err := chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#heat`))); err != nil {
			return false
		}
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('tr[data-code="FR-PAR"]:not(.unassessed)').length`))
		return err == nil && n == 1
	})
	french("map")
	says("map", `h1`, "Carte de préparation")
	says("map", `#heat thead`, "Poste", "Région", "Note globale", "Résilience narrative", "Préparation à l’IA", "Dernière synchronisation")
	says("map", `header`, "Administration centrale")
	says("map", `#heat tbody`, "FR-PAR", "à l’instant")
	shot(t, ctx, "fr-hq-map.png")

	// A choice made in the account wins over the browser's language.
	do(t, ctx, "choose English",
		chromedp.Navigate(hq.URL+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`#lang`)),
		chromedp.SetValue(chromedp.CSS(`#lang`), "en"),
		chromedp.Click(chromedp.CSS(`#save-lang`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash`)),
	)
	says("account", `.flash`, "From now on, Chancery speaks to you in English.")
	if lang, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "en" {
		t.Fatalf("after choosing English the page is in %q", lang)
	}
	do(t, ctx, "the map again", chromedp.Navigate(hq.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#heat`)))
	says("map in English", `h1`, "Readiness map")
}

// shot saves the page on screen as it is, for the docs, when
// CHANCERY_SCREENSHOTS names a folder.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("CHANCERY_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
