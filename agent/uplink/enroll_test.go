package uplink_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"path/filepath"
	"testing"

	"filippo.io/age"

	"chancery/agent/store"
	"chancery/agent/uplink"
	"chancery/shared/enroll"
	"chancery/sync/exchange"
)

// An answer that is not HQ's, byte for byte, is refused before anything
// of it is pinned: another HQ key, another recipient, another mission, an
// answer made for another request.
func TestEnrollAnswerIsAuthenticated(t *testing.T) {
	ctx := context.Background()
	const code = "ABCD-EFGH-IJKL-MNOP"
	hqID, _ := age.GenerateX25519Identity()
	_, hqSK, _ := ed25519.GenerateKey(nil)
	_, evilSK, _ := ed25519.GenerateKey(nil)
	evilID, _ := age.GenerateX25519Identity()
	answer := func(req exchange.EnrollRequest) exchange.EnrollResponse {
		r := exchange.EnrollResponse{Mission: "FR-PAR", Name: "Paris", HQSite: "HQ", HQRecipients: []string{hqID.Recipient().String()},
			HQSigningKey: base64.StdEncoding.EncodeToString(hqSK.Public().(ed25519.PublicKey))}
		r.MAC = r.Sum(enroll.Key(code), req)
		return r
	}
	for _, c := range []struct {
		name   string
		change func(*exchange.EnrollResponse, exchange.EnrollRequest)
	}{
		{"HQ's signing key swapped", func(r *exchange.EnrollResponse, _ exchange.EnrollRequest) {
			r.HQSigningKey = base64.StdEncoding.EncodeToString(evilSK.Public().(ed25519.PublicKey))
		}},
		{"a recipient added", func(r *exchange.EnrollResponse, _ exchange.EnrollRequest) {
			r.HQRecipients = append(r.HQRecipients, evilID.Recipient().String())
		}},
		{"another mission", func(r *exchange.EnrollResponse, _ exchange.EnrollRequest) { r.Mission = "KE-NBO" }},
		{"made for another request", func(r *exchange.EnrollResponse, req exchange.EnrollRequest) {
			req.SigningKey = base64.StdEncoding.EncodeToString(evilSK.Public().(ed25519.PublicKey))
			r.MAC = r.Sum(enroll.Key(code), req)
		}},
		{"under another code", func(r *exchange.EnrollResponse, req exchange.EnrollRequest) {
			r.MAC = r.Sum(enroll.Key("ZZZZ-ZZZZ-ZZZZ-ZZZZ"), req)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, err := store.Open(ctx, filepath.Join(t.TempDir(), "agent.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			l := &uplink.Link{DB: db, Client: &exchange.Client{}}
			req, err := l.EnrollRequest(ctx, code, "FR-PAR")
			if err != nil {
				t.Fatal(err)
			}
			resp := answer(req)
			c.change(&resp, req)
			if err := l.EnrollResponse(ctx, "", code, resp); !errors.Is(err, uplink.ErrEnrollAnswer) {
				t.Fatalf("a changed answer: %v", err)
			}
			if k, _ := db.Link(ctx); k.Enrolled() || k.HQSigning != "" {
				t.Fatalf("a changed answer pinned %+v", k)
			}
			// The genuine answer to the same request still enrolls.
			if err := l.EnrollResponse(ctx, "", code, answer(req)); err != nil {
				t.Fatal(err)
			}
			if k, _ := db.Link(ctx); exchange.Fingerprint(k.HQSigning) != exchange.Fingerprint(base64.StdEncoding.EncodeToString(hqSK.Public().(ed25519.PublicKey))) {
				t.Fatal("the genuine answer did not pin HQ's key")
			}
		})
	}
}
