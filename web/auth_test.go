package web_test

import (
	"testing"

	"chancery/web"
)

// After login the browser goes to next: only a path on this site, in
// none of the forms browsers read as another site.
func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/areas/ai":                  "/areas/ai",
		"/areas/ai?tab=2#evidence":   "/areas/ai?tab=2#evidence",
		"/incidents/a%20b":           "/incidents/a%20b",
		"":                           "/",
		"areas/ai":                   "/",
		"//evil.example":             "/",
		"///evil.example":            "/",
		"https://evil.example":       "/",
		"/\\evil.example":            "/",
		"/\\/evil.example":           "/",
		"\\\\evil.example":           "/",
		"/\t/evil.example":           "/",
		"/\n/evil.example":           "/",
		"/\r\n/evil.example":         "/",
		"/%09/evil.example":          "/%09/evil.example", // stays a path: %09 is not decoded by a browser's redirect
		" /evil.example":             "/",
		"/ /evil.example":            "/ /evil.example",
		"javascript:alert(1)":        "/",
		"/@evil.example":             "/@evil.example",
		"http:/evil.example":         "/",
		"/\u0000/evil.example":       "/",
		"/\u2028/x":                  "/\u2028/x",
		"//evil.example/%2e%2e":      "/",
		"/%2F%2Fevil.example":        "/", // a path, but one that decodes to //: refused to be safe
		"/.//evil.example":           "/.//evil.example",
		"/users?next=//evil.example": "/users?next=//evil.example",
	} {
		if got := web.SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
