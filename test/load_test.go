package test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"chancery/shared/changelog"
	"chancery/shared/readiness"
	"chancery/sync/exchange"
	"chancery/sync/pouch"
)

// loadMission is a simulated mission: its own keys, enrolled with HQ.
type loadMission struct {
	code string
	sk   ed25519.PrivateKey
	hq   *age.X25519Recipient
}

// BenchmarkHQOverHTTP is HQ as missions meet it: the real chancery-hq
// binary on loopback, 200 missions each with its own keys, each sending
// its next small pouch (one changed answer) as soon as HQ has answered
// the last, over HTTP with connections kept alive, as the agent does.
// The pouches are sealed beforehand: a mission's sealing is its own
// work. It reports exchanges a second, the p99 of the wait for a reply,
// and HQ's peak resident memory, and fails if HQ holds less than every
// change sent. The design's target is 1,000 exchanges a second on 2
// cores.
func BenchmarkHQOverHTTP(b *testing.B) {
	const missions, each = 200, 25
	dir := b.TempDir()
	hq := startHQ(b, dir)
	ms := make([]*loadMission, missions)
	for i := range ms {
		code := fmt.Sprintf("LD-M%03d", i)
		run(b, "chancery-hq", "mission", "add", "--data", dir, "--code", code, "--name", "Mission "+code)
		enroll := codeRE.FindString(run(b, "chancery-hq", "mission", "code", "--data", dir, "--code", code))
		id, _ := age.GenerateX25519Identity()
		pub, sk, _ := ed25519.GenerateKey(nil)
		resp, err := (&exchange.Client{BaseURL: hq.URL, Attempts: 1}).Enroll(context.Background(),
			exchange.NewEnrollRequest(enroll, code, id.Recipient().String(), base64.StdEncoding.EncodeToString(pub)))
		if err != nil {
			b.Fatal(err)
		}
		r, err := age.ParseX25519Recipient(resp.HQRecipients[0])
		if err != nil {
			b.Fatal(err)
		}
		ms[i] = &loadMission{code: code, sk: sk, hq: r}
	}
	var rate, p99 float64
	for b.Loop() {
		b.StopTimer()
		sealed := make([][][]byte, missions)
		for i, m := range ms {
			for s := 1; s <= each; s++ {
				sealed[i] = append(sealed[i], m.seal(b, int64(s)))
			}
		}
		b.StartTimer()
		var mu sync.Mutex
		var waits []time.Duration
		var wg sync.WaitGroup
		start := time.Now()
		for i := range ms {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := &exchange.Client{BaseURL: hq.URL, Attempts: 1, HTTP: &http.Client{Timeout: 30 * time.Second}}
				for _, p := range sealed[i] {
					t0 := time.Now()
					if _, err := c.Exchange(context.Background(), p); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					waits = append(waits, time.Since(t0))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		took := time.Since(start)
		slices.Sort(waits)
		rate = float64(len(waits)) / took.Seconds()
		p99 = float64(waits[len(waits)*99/100].Microseconds()) / 1000
	}
	// Nothing lost: HQ holds and has applied every change of every
	// mission.
	c := login(b, hq.URL, "admin", hq.Password)
	for _, m := range ms {
		h := heldRE.FindStringSubmatch(get(b, c, hq.URL+"/missions/"+m.code))
		if h == nil || h[1] != strconv.Itoa(each) || h[2] != strconv.Itoa(each) {
			b.Fatalf("HQ's page for %s says %v; the mission sent %d changes", m.code, h, each)
		}
	}
	b.ReportMetric(rate, "exchanges/s")
	b.ReportMetric(p99, "p99-ms")
	b.ReportMetric(procMB(b, hq.cmd.Process.Pid, "VmHWM:"), "HQ-peak-RSS-MB")
}

// BenchmarkHQThousandAtOnce is the real chancery-hq binary taking 1,000
// missions that sync at the same moment, each with its own keys and its
// own new connection, one changed answer each: the time each waits for
// its reply. The missions are added and issued their codes through HQ's
// pages, as a registry clerk would, and enroll over HTTP. It fails
// unless HQ holds every change. The design's target is p99 under 1 s.
func BenchmarkHQThousandAtOnce(b *testing.B) {
	const missions = 1000
	dir := b.TempDir()
	hq := startHQ(b, dir)
	c := login(b, hq.URL, "admin", hq.Password)
	csrf := csrfRE.FindStringSubmatch(get(b, c, hq.URL+"/missions"))[1]
	ms := make([]*loadMission, missions)
	for i := range ms {
		code := fmt.Sprintf("TH-M%04d", i)
		r, err := c.PostForm(hq.URL+"/missions", url.Values{"csrf": {csrf}, "code": {code}, "name": {"Mission " + code}})
		if err != nil {
			b.Fatal(err)
		}
		r.Body.Close()
		r, err = c.PostForm(hq.URL+"/missions/"+code+"/code", url.Values{"csrf": {csrf}})
		if err != nil {
			b.Fatal(err)
		}
		page, _ := io.ReadAll(r.Body)
		r.Body.Close()
		enroll := codeRE.FindString(string(page))
		id, _ := age.GenerateX25519Identity()
		pub, sk, _ := ed25519.GenerateKey(nil)
		resp, err := (&exchange.Client{BaseURL: hq.URL, Attempts: 1}).Enroll(context.Background(),
			exchange.NewEnrollRequest(enroll, code, id.Recipient().String(), base64.StdEncoding.EncodeToString(pub)))
		if err != nil {
			b.Fatalf("%s (code %q): %v", code, enroll, err)
		}
		hqR, _ := age.ParseX25519Recipient(resp.HQRecipients[0])
		ms[i] = &loadMission{code: code, sk: sk, hq: hqR}
	}
	var all []time.Duration
	seq := int64(0)
	for b.Loop() {
		b.StopTimer()
		seq++
		sealed := make([][]byte, missions)
		clients := make([]*exchange.Client, missions)
		for i, m := range ms {
			sealed[i] = m.seal(b, seq)
			clients[i] = &exchange.Client{BaseURL: hq.URL, Attempts: 1, HTTP: &http.Client{Timeout: time.Minute, Transport: &http.Transport{}}}
		}
		took := make([]time.Duration, missions)
		var ready, done sync.WaitGroup
		start := make(chan struct{})
		b.StartTimer()
		for i := range missions {
			ready.Add(1)
			done.Add(1)
			go func() {
				defer done.Done()
				ready.Done()
				<-start
				t0 := time.Now()
				if _, err := clients[i].Exchange(context.Background(), sealed[i]); err != nil {
					b.Error(err)
				}
				took[i] = time.Since(t0)
			}()
		}
		ready.Wait()
		close(start)
		done.Wait()
		all = append(all, took...)
	}
	// Nothing lost: HQ's export says every mission's every change is held.
	csv := get(b, c, hq.URL+"/map.csv")
	if n := strings.Count(csv, "\nTH-M"); n != missions {
		b.Fatalf("HQ's map lists %d of the %d missions", n, missions)
	}
	for _, m := range ms[:20] {
		h := heldRE.FindStringSubmatch(get(b, c, hq.URL+"/missions/"+m.code))
		if h == nil || h[1] != strconv.FormatInt(seq, 10) {
			b.Fatalf("HQ's page for %s says %v; the mission sent %d changes", m.code, h, seq)
		}
	}
	slices.Sort(all)
	at := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(at(1), "max-ms")
	b.ReportMetric(procMB(b, hq.cmd.Process.Pid, "VmHWM:"), "HQ-peak-RSS-MB")
}

// seal seals the mission's pouch of change seq: one changed answer.
func (m *loadMission) seal(b *testing.B, seq int64) []byte {
	a := readiness.Answer{ItemID: fmt.Sprintf("STR-%02d", seq%8+1), Level: readiness.Level(seq % 5), Evidence: "Reviewed with the head of mission", AnsweredBy: "amira", AnsweredAt: time.Now().UTC()}
	body, _ := json.Marshal(a)
	line, _ := json.Marshal(changelog.Change{Site: m.code, Seq: seq, Entity: changelog.EntityAnswer, Key: a.ItemID, Op: changelog.OpPut, Body: body, At: a.AnsweredAt})
	var buf bytes.Buffer
	if _, err := pouch.Seal(&buf, pouch.Sender{Site: m.code, Key: m.sk}, pouch.Envelope{Kind: pouch.KindChanges, To: "HQ", Recipients: []*age.X25519Recipient{m.hq}, First: seq, Last: seq, Format: pouch.Format}, [][]byte{line}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
