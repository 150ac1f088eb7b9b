package web_test

import (
	"testing"

	"chancery/web"
)

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/areas/ai": "/areas/ai", "": "/", "//evil.example": "/", "https://evil.example": "/", "/\\evil": "/",
	} {
		if got := web.SafeNext(in); got != want {
			t.Errorf("SafeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
