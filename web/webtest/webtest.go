// Package webtest drives a Chancery web interface in tests the way a
// person's browser does: one cookie jar per person, forms posted with the
// CSRF token of the page last seen, redirects not followed so that tests
// can see them.
package webtest

import (
	"bytes"
	"cmp"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// Browser is one person's browser.
type Browser struct {
	T    testing.TB
	Base string
	C    *http.Client
	// CSRF is the token found on the last page.
	CSRF string
	// Password is used by Login.
	Password string
	// Header is added to every request, as a browser adds its own.
	Header http.Header
}

// New returns a browser for the interface at base.
func New(t testing.TB, base, password string) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{T: t, Base: base, Password: password, C: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// CSRFPattern finds the CSRF token in a page.
var CSRFPattern = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// Resp is a response with its body read and HTML entities decoded.
type Resp struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends a request, with form as its body if not nil.
func (b *Browser) Do(method, path string, form url.Values) Resp {
	b.T.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.Base+path, body)
	req.Header.Set("Accept", "text/html")
	for k, v := range b.Header {
		req.Header[k] = v
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return b.send(req)
}

// send sends a request and reads its answer, keeping the page's CSRF
// token for the next form.
func (b *Browser) send(req *http.Request) Resp {
	b.T.Helper()
	r, err := b.C.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer r.Body.Close()
	out, _ := io.ReadAll(r.Body)
	if m := CSRFPattern.FindSubmatch(out); m != nil {
		b.CSRF = string(m[1])
	}
	return Resp{r.StatusCode, r.Header, html.UnescapeString(string(out))}
}

// Get fetches a page.
func (b *Browser) Get(path string) Resp { return b.Do("GET", path, nil) }

// Post sends a form with the CSRF token of the last page seen, unless the
// form has its own.
func (b *Browser) Post(path string, form url.Values) Resp {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.CSRF)
	}
	return b.Do("POST", path, form)
}

// Login logs in as user with the browser's password.
func (b *Browser) Login(user string) {
	b.T.Helper()
	b.Get("/login")
	r := b.Post("/login", url.Values{"username": {user}, "password": {b.Password}})
	if r.Status != http.StatusSeeOther {
		b.T.Fatalf("login as %s: status %d: %s", user, r.Status, r.Body)
	}
	b.Get("/")
}

// Cookie returns the value of a cookie the browser holds.
func (b *Browser) Cookie(name string) string {
	u, _ := url.Parse(b.Base)
	for _, c := range b.C.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var (
	inputRE    = regexp.MustCompile(`(?s)<input\s([^>]*)>`)
	textareaRE = regexp.MustCompile(`(?s)<textarea\s([^>]*)>(.*?)</textarea>`)
	selectRE   = regexp.MustCompile(`(?s)<select\s([^>]*)>(.*?)</select>`)
	optionRE   = regexp.MustCompile(`(?s)<option([^>]*)>(.*?)</option>`)
	attrRE     = regexp.MustCompile(`([a-z-]+)(?:="([^"]*)")?`)
)

func attrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// FormValues returns what a browser would submit from the page's forms
// as they stand: text fields and text areas with their values, ticked
// boxes and chosen radio buttons, each select's chosen option (or its
// first). Submit buttons are left out: add the one pressed.
func FormValues(page string) url.Values {
	v := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(page, -1) {
		a := attrs(m[1])
		name, typ := a["name"], a["type"]
		if name == "" || typ == "submit" {
			continue
		}
		if _, checked := a["checked"]; (typ == "checkbox" || typ == "radio") && !checked {
			continue
		}
		v.Add(name, a["value"])
	}
	for _, m := range textareaRE.FindAllStringSubmatch(page, -1) {
		if name := attrs(m[1])["name"]; name != "" {
			v.Add(name, html.UnescapeString(strings.TrimPrefix(m[2], "\n")))
		}
	}
	for _, m := range selectRE.FindAllStringSubmatch(page, -1) {
		name := attrs(m[1])["name"]
		if name == "" {
			continue
		}
		chosen, first := "", ""
		for i, o := range optionRE.FindAllStringSubmatch(m[2], -1) {
			oa := attrs(o[1])
			val, ok := oa["value"]
			if !ok {
				val = html.UnescapeString(o[2])
			}
			if i == 0 {
				first = val
			}
			if _, sel := oa["selected"]; sel {
				chosen = val
			}
		}
		v.Add(name, cmp.Or(chosen, first))
	}
	return v
}

// File is a file a form sends.
type File struct {
	Field, Name string
	Data        []byte
}

// PostFiles sends a multipart form with files, and the CSRF token of the
// last page seen unless the form has its own.
func (b *Browser) PostFiles(path string, form url.Values, files ...File) Resp {
	b.T.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if _, ok := form["csrf"]; !ok {
		w.WriteField("csrf", b.CSRF)
	}
	for k, vs := range form {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	for _, f := range files {
		fw, _ := w.CreateFormFile(f.Field, f.Name)
		fw.Write(f.Data)
	}
	w.Close()
	req, _ := http.NewRequest("POST", b.Base+path, &body)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Content-Type", w.FormDataContentType())
	for k, v := range b.Header {
		req.Header[k] = v
	}
	return b.send(req)
}
