package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandLineSpeaksTheLocale: the programs answer in the operator's
// locale where Chancery speaks it, in English elsewhere, and a bad
// language setting is refused with the choices.
func TestCommandLineSpeaksTheLocale(t *testing.T) {
	dir := t.TempDir()
	say := func(lang string, args ...string) string {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, "chancery-agent"), args...)
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "LANG=") && !strings.HasPrefix(kv, "LC_") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(env, "LANG="+lang)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	if out := say("fr_FR.UTF-8", "user", "add", "--data", dir, "--username", "lena"); !strings.Contains(out, "Fait : lena.") || !strings.Contains(out, "mot de passe : ") {
		t.Fatalf("in French: %s", out)
	}
	if out := say("fr_FR.UTF-8", "user", "add", "--data", dir, "--username", "lena"); !strings.Contains(out, "L’identifiant « lena » est déjà pris ; choisissez-en un autre.") {
		t.Fatalf("an error in French: %s", out)
	}
	if out := say("de_DE.UTF-8", "user", "add", "--data", dir, "--username", "lena"); !strings.Contains(out, "The username “lena” is taken; choose another.") {
		t.Fatalf("a locale Chancery does not speak: %s", out)
	}
	if out := say("C.UTF-8", "serve", "--data", dir, "--language", "de"); !strings.Contains(out, "the language “de” is not one Chancery speaks; choose one of: en, fr") {
		t.Fatalf("a bad language setting: %s", out)
	}
	if out := say("fr_CA.UTF-8", "sync", "--data", dir); !strings.Contains(out, "la synchronisation a échoué : Ce poste n’est pas encore enrôlé") {
		t.Fatalf("a failed sync in French: %s", out)
	}
}
