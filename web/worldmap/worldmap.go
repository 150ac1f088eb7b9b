// Package worldmap draws the world as SVG on the server, from the Natural
// Earth country outlines vendored in web/static (world-atlas, TopoJSON),
// so that HQ's map needs no tile server, no script and no network. It
// projects longitude and latitude to the same plane, so that missions can
// be drawn on top.
package worldmap

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"

	"chancery/web"
)

// The plane: an equirectangular projection of longitude -180…180 and
// latitude 84…-58, which leaves out Antarctica and keeps every capital.
const (
	Width    = 960
	north    = 84.0
	south    = -58.0
	scale    = Width / 360.0
	Height   = 379 // (north - south) × scale, rounded up
	dataFile = "vendor/world-atlas/countries-110m.json"
)

// Project returns the point on the plane of a longitude and latitude.
func Project(lon, lat float64) (x, y float64) {
	return (lon + 180) * scale, (north - lat) * scale
}

type topology struct {
	Transform struct {
		Scale     [2]float64 `json:"scale"`
		Translate [2]float64 `json:"translate"`
	} `json:"transform"`
	Arcs    [][][2]float64 `json:"arcs"`
	Objects struct {
		Countries struct {
			Geometries []struct {
				ID   string          `json:"id"`
				Type string          `json:"type"`
				Arcs json.RawMessage `json:"arcs"`
			} `json:"geometries"`
		} `json:"countries"`
	} `json:"objects"`
}

var draw = sync.OnceValues(func() ([]byte, error) {
	raw, err := web.StaticFile(dataFile)
	if err != nil {
		return nil, err
	}
	return render(raw)
})

// SVG returns the map of countries as an SVG document of Width × Height.
func SVG() ([]byte, error) { return draw() }

func render(raw []byte) ([]byte, error) {
	var t topology
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("worldmap: %w", err)
	}
	// Decode the quantized, delta-encoded arcs into projected points.
	arcs := make([][][2]float64, len(t.Arcs))
	for i, a := range t.Arcs {
		var x, y float64
		pts := make([][2]float64, len(a))
		for j, d := range a {
			x += d[0]
			y += d[1]
			px, py := Project(x*t.Transform.Scale[0]+t.Transform.Translate[0], y*t.Transform.Scale[1]+t.Transform.Translate[1])
			pts[j] = [2]float64{px, py}
		}
		arcs[i] = pts
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d">`, Width, Height, Width, Height)
	b.WriteString(`<rect width="100%" height="100%" fill="#eaf1f8"/><path fill="#d9dde3" stroke="#ffffff" stroke-width="0.5" d="`)
	ring := func(idx []int) {
		for k, i := range idx {
			var pts [][2]float64
			if i >= 0 {
				pts = arcs[i]
			} else { // ~i, walked backwards
				src := arcs[^i]
				pts = make([][2]float64, len(src))
				for j := range src {
					pts[j] = src[len(src)-1-j]
				}
			}
			for j, p := range pts {
				if k > 0 && j == 0 {
					continue // shared with the end of the previous arc
				}
				cmd := byte('L')
				// A ring that crosses the antimeridian (Russia, Fiji) jumps
				// across the whole plane: move there instead of drawing.
				if k == 0 && j == 0 || j > 0 && math.Abs(p[0]-pts[j-1][0]) > Width/2 {
					cmd = 'M'
				}
				b.WriteByte(cmd)
				b.WriteString(strconv.FormatFloat(p[0], 'f', 1, 64))
				b.WriteByte(',')
				b.WriteString(strconv.FormatFloat(p[1], 'f', 1, 64))
			}
		}
		b.WriteByte('Z')
	}
	for _, g := range t.Objects.Countries.Geometries {
		if g.ID == "010" {
			continue // Antarctica lies outside the plane
		}
		switch g.Type {
		case "Polygon":
			var rings [][]int
			if err := json.Unmarshal(g.Arcs, &rings); err != nil {
				return nil, err
			}
			for _, r := range rings {
				ring(r)
			}
		case "MultiPolygon":
			var polys [][][]int
			if err := json.Unmarshal(g.Arcs, &polys); err != nil {
				return nil, err
			}
			for _, p := range polys {
				for _, r := range p {
					ring(r)
				}
			}
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes(), nil
}

// Handler serves the map, cached for good under a content-hashed name.
func Handler(c echo.Context) error {
	svg, err := SVG()
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	return c.Blob(http.StatusOK, "image/svg+xml", svg)
}

// URL is the path the map is served at; it changes with its content.
var URL = sync.OnceValue(func() string {
	svg, err := SVG()
	if err != nil {
		return "/worldmap.svg"
	}
	s := sha256.Sum256(svg)
	return "/worldmap-" + hex.EncodeToString(s[:6]) + ".svg"
})
