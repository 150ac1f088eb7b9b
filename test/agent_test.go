package test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestAgentFirstStartAndRestart runs the real binary: the first start
// creates the administrator and prints its password once; a restart keeps
// the data and prints no password.
func TestAgentFirstStartAndRestart(t *testing.T) {
	dir := t.TempDir()
	a := startAgent(t, dir, "--mission-name", "Embassy in Testland")
	if a.Password == "" {
		t.Fatalf("first start printed no password:\n%s", a.out)
	}
	c := login(t, a.URL, "admin", a.Password)
	body := get(t, c, a.URL+"/")
	if !strings.Contains(body, "Readiness of Embassy in Testland") {
		t.Fatalf("home page:\n%s", body)
	}
	a.stop(t)

	b := startAgent(t, dir)
	if b.Password != "" || strings.Contains(b.out.String(), "password") {
		t.Fatalf("restart printed a password:\n%s", b.out)
	}
	c = login(t, b.URL, "admin", a.Password)
	if body := get(t, c, b.URL+"/"); !strings.Contains(body, "Embassy in Testland") {
		t.Fatal("the mission name was lost over a restart")
	}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func login(t testing.TB, base, user, password string) *http.Client {
	t.Helper()
	return loginWith(t, nil, base, user, password)
}

// loginWith is login through a transport of the test's (one that trusts
// a test CA, say); nil is the default.
func loginWith(t testing.TB, tr http.RoundTripper, base, user, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: tr}
	page := get(t, c, base+"/login")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("login page has no CSRF token:\n%s", page)
	}
	r, err := c.PostForm(base+"/login", url.Values{"csrf": {m[1]}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	if r.StatusCode != 200 || r.Request.URL.Path != "/" {
		b, _ := io.ReadAll(r.Body)
		t.Fatalf("login as %s: %d at %s\n%s", user, r.StatusCode, r.Request.URL.Path, b)
	}
	return c
}

func get(t testing.TB, c *http.Client, u string) string {
	t.Helper()
	r, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return string(b)
}
