package worldmap_test

import (
	"bytes"
	"strings"
	"testing"

	"chancery/web/worldmap"
)

func TestSVG(t *testing.T) {
	svg, err := worldmap.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(svg, []byte(`<svg xmlns="http://www.w3.org/2000/svg"`)) || !bytes.HasSuffix(svg, []byte("</svg>")) {
		t.Fatal("not an SVG document")
	}
	// 177 countries, each at least one closed ring.
	if n := bytes.Count(svg, []byte("M")); n < 177 {
		t.Fatalf("%d rings drawn; the 110m outlines have more than 177", n)
	}
	if len(svg) > 200_000 {
		t.Fatalf("map is %d bytes: too heavy for a page", len(svg))
	}
	if !strings.HasPrefix(worldmap.URL(), "/worldmap-") {
		t.Fatal(worldmap.URL())
	}
}

func TestProject(t *testing.T) {
	// Greenwich on the equator is the middle of the plane's width, and
	// the equator lies 84/142 of the way down.
	x, y := worldmap.Project(0, 0)
	if x != 480 || int(y) != int(84*960/360.0) {
		t.Fatalf("Project(0,0) = %v,%v", x, y)
	}
	x, y = worldmap.Project(2.35, 48.86) // Paris, north of the equator and east of Greenwich
	if x <= 480 || y >= 84*960/360.0 {
		t.Fatalf("Paris at %v,%v", x, y)
	}
}
