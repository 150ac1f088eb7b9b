// Command benchtable reads the output of `make bench` (the benchmarks'
// lines, as go test prints them) and prints one table: every figure of
// the design brief with its target and whether it is reached, and the
// machine it ran on. With -write FILE it puts the table at the head of
// FILE (BENCHMARKS.md), between markers, keeping the rest as it is.
//
//	benchtable [-write BENCHMARKS.md] [-agent bin/chancery-agent] < bench.out
package main

import (
	"bufio"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// A target is a figure of the design brief: the benchmark and metric
// that measure it, and the bound it must keep.
type target struct {
	What string
	// Bench matches the benchmark's name (without its -N suffix); when
	// several match, Worst decides which counts.
	Bench, Metric string
	// Op is "<", "<=" or ">="; Bound is the target in the metric's unit.
	Op    string
	Bound float64
	// Goal says the target as people read it.
	Goal string
	// Unit formats the figure.
	Unit string
}

// targets are the design brief's numbers, both waves; where the second
// wave tightened one, its bound is the one kept.
var targets = []target{
	{"agent idle memory", `^BenchmarkAgentBinary$`, "idle-RSS-MB", "<", 60, "under 60 MB resident", "MB"},
	{"agent UI page, 10,000 incidents and 2,000 answers: readiness", `^BenchmarkBusyHomePage$`, "p95-ms", "<", 50, "p95 under 50 ms", "ms"},
	{"agent UI page, 10,000 incidents and 2,000 answers: incident log", `^BenchmarkBusyIncidentsPage$`, "p95-ms", "<", 50, "p95 under 50 ms", "ms"},
	{"one changed answer, whole exchange", `^BenchmarkWireOneAnswer$`, "bytes/exchange", "<=", 1300, "≤ 1,300 B, one round trip", "B"},
	{"1,000 records on the wire, against gzip JSON lines", `^BenchmarkWireRecords/1000$`, "ratio", "<=", 1.05, "within 1.05×", "×"},
	{"10,000 records on the wire, against gzip JSON lines", `^BenchmarkWireRecords/10000$`, "ratio", "<=", 1.05, "within 1.05×", "×"},
	{"HQ ingest, in process", `^BenchmarkIngestSmallPouches$`, "pouches/s", ">=", 1000, "1,000 small pouches a second", "/s"},
	{"HQ over real HTTP, ≥ 200 concurrent missions", `^BenchmarkHQOverHTTP$`, "exchanges/s", ">=", 1000, "≥ 1,000 exchanges a second", "/s"},
	{"1,000 missions at once, real HQ binary", `^BenchmarkHQThousandAtOnce$`, "p99-ms", "<", 1000, "p99 < 1 s, nothing lost", "ms"},
	{"1,000 missions at once just after a publication, in process", `^BenchmarkThousandMissionsAtOnce$`, "p99-ms", "<", 1000, "p99 < 1 s, nothing lost", "ms"},
	{"readiness map, 1,000 missions", `^BenchmarkMapPage/1000$`, "p95-ms", "<", 100, "p95 < 100 ms", "ms"},
	{"readiness map, 10,000 missions", `^BenchmarkMapPage/10000$`, "p95-ms", "<", 200, "p95 < 200 ms", "ms"},
	{"readiness map, 1,000 missions, as sent", `^BenchmarkMapPage/1000$`, "gzip-KB", "<", 150, "< 150 KB compressed", "KB"},
	{"readiness map, first read after a change, 1,000 missions", `^BenchmarkMapPageAfterChange/1000$`, "p95-ms", "<", 100, "p95 < 100 ms", "ms"},
	{"readiness map, first read after a change, 10,000 missions", `^BenchmarkMapPageAfterChange/10000$`, "p95-ms", "<", 200, "p95 < 200 ms", "ms"},
	{"bytes beyond the pouches on a bad line, worst line", `^BenchmarkLinks/`, "%-beyond-pouches", "<", 5, "< 5% of the pouch", "%"},
}

// results maps a benchmark's name to its metrics.
type results map[string]map[string]float64

var line = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.+)$`)

// parse reads go test's benchmark lines: a name, the iterations, then
// pairs of a value and its unit.
func parse(r io.Reader) (results, error) {
	out := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := line.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		f := strings.Fields(m[2])
		ms := map[string]float64{}
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			ms[f[i+1]] = v
		}
		out[m[1]] = ms
	}
	return out, sc.Err()
}

// row is a target with what the run measured.
type row struct {
	target
	Value    float64
	Measured bool
	Bench    string
}

func (r row) Pass() bool {
	if !r.Measured {
		return false
	}
	switch r.Op {
	case "<":
		return r.Value < r.Bound
	case "<=":
		return r.Value <= r.Bound
	default:
		return r.Value >= r.Bound
	}
}

// judge finds each target's figure: of several matching benchmarks, the
// worst one counts.
func judge(res results) []row {
	var out []row
	for _, t := range targets {
		re := regexp.MustCompile(t.Bench)
		r := row{target: t}
		for name, ms := range res {
			v, ok := ms[t.Metric]
			if !ok || !re.MatchString(name) {
				continue
			}
			worse := t.Op == ">=" && v < r.Value || t.Op != ">=" && v > r.Value
			if !r.Measured || worse {
				r.Value, r.Measured, r.Bench = v, true, name
			}
		}
		out = append(out, r)
	}
	return out
}

func figure(r row) string {
	if !r.Measured {
		return "not measured"
	}
	v := strconv.FormatFloat(r.Value, 'f', -1, 64)
	if r.Value >= 100 {
		v = strconv.FormatFloat(r.Value, 'f', 0, 64)
	} else if r.Value >= 10 {
		v = strconv.FormatFloat(r.Value, 'f', 1, 64)
	} else if r.Unit != "B" {
		v = strconv.FormatFloat(r.Value, 'f', 2, 64)
	}
	return v + " " + r.Unit
}

// static reports whether the ELF file at path asks for no interpreter: a
// static binary.
func static(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]); len(f) >= 2 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			mem = fmt.Sprintf(", %.0f GiB", kb/1024/1024)
		}
	}
	return fmt.Sprintf("%d cores%s, %s/%s, %s, %s", runtime.NumCPU(), mem, runtime.GOOS, runtime.GOARCH, cpu, runtime.Version())
}

// table writes the table in Markdown.
func table(w io.Writer, rows []row, staticAgent string, when time.Time) {
	fmt.Fprintf(w, "Run on %s, %s, by `make bench`.\n\n", when.UTC().Format("2006-01-02 15:04 UTC"), machine())
	fmt.Fprintln(w, "| what | figure | target | | benchmark |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	if staticAgent != "" {
		fmt.Fprintf(w, "| agent binary | %s | one static file (CGO_ENABLED=0) | %s | `make build` |\n", staticAgent, map[bool]string{true: "PASS", false: "MISS"}[strings.HasPrefix(staticAgent, "static")])
	}
	for _, r := range rows {
		verdict := "MISS"
		if r.Pass() {
			verdict = "PASS"
		}
		bench := "—"
		if r.Measured {
			bench = "`" + r.Bench + "`"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", r.What, figure(r), r.Goal, verdict, bench)
	}
}

const begin, end = "<!-- make bench: begin -->", "<!-- make bench: end -->"

// splice puts the table into doc between the markers, or after its title
// when it has none.
func splice(doc, tbl string) string {
	block := begin + "\n" + tbl + end + "\n"
	if i, j := strings.Index(doc, begin), strings.Index(doc, end); i >= 0 && j > i {
		return doc[:i] + block + strings.TrimPrefix(doc[j+len(end):], "\n")
	}
	if i := strings.Index(doc, "\n\n"); i >= 0 && strings.HasPrefix(doc, "# ") {
		return doc[:i+2] + block + "\n" + doc[i+2:]
	}
	return block + "\n" + doc
}

func main() {
	write := flag.String("write", "", "the file to put the table in (BENCHMARKS.md)")
	agent := flag.String("agent", "bin/chancery-agent", "the agent binary to check is static")
	flag.Parse()
	res, err := parse(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	staticAgent := ""
	if ok, err := static(*agent); err == nil {
		st, _ := os.Stat(*agent)
		staticAgent = fmt.Sprintf("%s, %.1f MB", map[bool]string{true: "static", false: "dynamic"}[ok], float64(st.Size())/1e6)
	}
	var b strings.Builder
	table(&b, judge(res), staticAgent, time.Now())
	fmt.Print(b.String())
	if *write == "" {
		return
	}
	doc, err := os.ReadFile(*write)
	if err != nil && !os.IsNotExist(err) {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*write, []byte(splice(string(doc), b.String())), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "benchtable:", err)
		os.Exit(1)
	}
}
