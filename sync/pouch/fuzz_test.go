package pouch

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"filippo.io/age"
)

// The fuzz targets use fixed keys, so that the corpus stays meaningful
// from run to run. This identity is a test key and protects nothing.
const fuzzIdentity = "AGE-SECRET-KEY-15TGUCTLSQER7KDK8UCNDMXDKRYWM59R9GH2RQNMKCGZUCUSTENGSFQGUE4"

func fuzzSetup(f *testing.F) (*fixture, Receiver) {
	id, err := age.ParseX25519Identity(fuzzIdentity)
	if err != nil {
		f.Fatal(err)
	}
	fx := &fixture{hq: id, keys: &keyring{keys: map[string]ed25519.PublicKey{}, revoked: map[string]bool{}}}
	fx.mission = Sender{Site: "FR-PAR", Key: ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))}
	pub := fx.mission.Key.Public().(ed25519.PublicKey)
	fx.keys.keys["FR-PAR/"+KeyID(pub)] = pub
	rc := fx.receiver()
	rc.Limits = Limits{MaxPouch: 1 << 20, MaxRaw: 1 << 20, MaxRecords: 1000}
	return fx, rc
}

// check is what must hold for any input: no panic, and anything accepted
// is signed by the enrolled key and consistent with its manifest.
func check(t *testing.T, p *Pouch, err error) {
	if err != nil {
		if p != nil {
			t.Fatal("a pouch was returned with an error")
		}
		return
	}
	if p.Manifest.From != "FR-PAR" || p.Manifest.To != "HQ" || len(p.Lines) != p.Manifest.Records {
		t.Fatalf("accepted an inconsistent pouch: %+v", p.Manifest)
	}
	p.Changes() // must not panic, whatever it says
}

// FuzzOpen feeds whole files to the opener.
func FuzzOpen(f *testing.F) {
	fx, rc := fuzzSetup(f)
	for format := 1; format <= Format; format++ {
		fx.format = format
		good := fx.good(f, 3)
		f.Add(good)
		f.Add(good[:len(good)/2])
	}
	f.Add([]byte("age-encryption.org/v1\n-> X25519 AAAA\n--- AAAA\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := rc.Open(bytes.NewReader(b))
		check(t, p, err)
	})
}

// FuzzVerify feeds decrypted contents to the parser and checks, which is
// where a malformed pouch from an enrolled but faulty sender would land.
func FuzzVerify(f *testing.F) {
	fx, rc := fuzzSetup(f)
	m := Manifest{Kind: KindChanges, To: "HQ", Recipients: []string{Fingerprint(fx.hq.Recipient())}, First: 1, Last: 1, Records: 1, RawSize: 3}
	f.Add(forge1(fx.mission, m, gz([]byte("{}\n"))))
	f.Add(forge1(fx.mission, m, gz([]byte("{}"))))
	f.Add(forge1(fx.mission, m, []byte("not gzip")))
	f.Add([]byte(magic1 + "\x00\x00\x00\x02{}"))
	f.Add(forge2(fx.mission, m, []byte("{}\n")))
	f.Add(forge2(fx.mission, m, []byte("{}")))
	f.Add(append(forge2(fx.mission, m, []byte("{}\n")), 0))
	f.Add([]byte(magic2 + "not a signature, nor a stream"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := rc.verify(b, rc.Limits)
		check(t, p, err)
	})
}
