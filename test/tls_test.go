package test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCA is a certificate authority of the test's, as a ministry runs its
// own, and the certificates it issues for 127.0.0.1.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t testing.TB) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Ministry test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a certificate for 127.0.0.1 and its key into dir.
func (ca *testCA) issue(t testing.TB, dir string, serial int64) (certFile, keyFile string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "hq.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "hq-cert.pem"), filepath.Join(dir, "hq-key.pem")
	// Written whole and renamed, as a renewal tool does.
	for name, b := range map[string][]byte{certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyFile: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})} {
		if err := os.WriteFile(name+".new", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(name+".new", name); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile
}

// startTLSHQ starts HQ on hqDir serving HTTPS with a certificate of a new
// test CA, whose files go in pki; caFile is the CA's certificate.
func startTLSHQ(t testing.TB, hqDir, pki string) (hq *agent, ca *testCA, caFile string) {
	t.Helper()
	ca = newTestCA(t)
	caFile = filepath.Join(pki, "ca.pem")
	os.WriteFile(caFile, ca.pem, 0o600)
	cert, key := ca.issue(t, pki, 100)
	return startHQ(t, hqDir, "--tls-cert", cert, "--tls-key", key), ca, caFile
}

func (ca *testCA) transport() *http.Transport {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
}

// served returns the serial number of the certificate a server presents.
func served(t *testing.T, base string, tr *http.Transport) *big.Int {
	t.Helper()
	u, _ := url.Parse(base)
	conn, err := tls.Dial("tcp", u.Host, tr.TLSClientConfig.Clone())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber
}

var tlsFingerprintRE = regexp.MustCompile(`fingerprint \(SHA-256\)[^:]*: ([0-9A-F:]{95})`)

// TestTLS: HQ serves HTTPS with the ministry's certificate, reloaded on
// SIGHUP; the agent checks it against the CA it is given and refuses one
// it cannot check; the agent's own interface is served with a certificate
// it made, whose fingerprint it prints and shows; session cookies are
// Secure and __Host- under TLS, and pages carry HSTS.
func TestTLS(t *testing.T) {
	hqDir, agentDir, pki := t.TempDir(), t.TempDir(), t.TempDir()
	hq, ca, caFile := startTLSHQ(t, hqDir, pki)
	if !strings.HasPrefix(hq.URL, "https://") {
		t.Fatalf("HQ serves %s", hq.URL)
	}
	tr := ca.transport()

	// The browser's side at HQ.
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(hq.errs.String())
		}
	})
	c := loginWith(t, tr, hq.URL, "admin", hq.Password)
	resp, err := c.Get(hq.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(hsts, "max-age=") {
		t.Fatalf("no HSTS over HTTPS: %q", hsts)
	}
	u, _ := url.Parse(hq.URL)
	cookies := c.Jar.Cookies(u)
	if len(cookies) == 0 || !strings.HasPrefix(cookies[0].Name, "__Host-") {
		t.Fatalf("session cookie over HTTPS: %v", cookies)
	}

	// The mission checks HQ's certificate.
	run(t, "chancery-hq", "mission", "add", "--data", hqDir, "--code", "FR-PAR", "--name", "Embassy in Paris")
	code := codeRE.FindString(run(t, "chancery-hq", "mission", "code", "--data", hqDir, "--code", "FR-PAR"))
	if out, err := runErr("chancery-agent", "enroll", "--data", agentDir, "--hq", hq.URL, "--code", code, "--mission", "FR-PAR"); err == nil || !strings.Contains(out, "certificate") {
		t.Fatalf("enrollment with HQ's certificate unchecked: %v\n%s", err, out)
	}
	run(t, "chancery-agent", "enroll", "--data", agentDir, "--hq", hq.URL, "--code", code, "--mission", "FR-PAR", "--hq-ca", caFile)
	syncCmd(t, agentDir, "CHANCERY_AGENT_HQ_CA="+caFile)
	if out, err := runErr("chancery-agent", "sync", "--data", agentDir); err == nil || !strings.Contains(out, "certificate") {
		t.Fatalf("a sync without the CA: %v\n%s", err, out)
	}
	out, _ := doctor(t, "chancery-agent", agentDir)
	wants(t, "an untrusted certificate", out, true, "PROBLEM  hq", "certificate is not trusted", "hq-ca")
	out, _ = doctor(t, "chancery-agent", agentDir, "CHANCERY_AGENT_HQ_CA="+caFile)
	if !strings.Contains(out, "ok       hq") {
		t.Fatalf("the doctor with HQ's CA:\n%s", out)
	}

	// A renewed certificate is taken on SIGHUP, without a restart.
	if s := served(t, hq.URL, tr); s.Int64() != 100 {
		t.Fatalf("HQ serves certificate %v", s)
	}
	ca.issue(t, pki, 101)
	hq.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, 10*time.Second, func() bool { return served(t, hq.URL, tr).Int64() == 101 })
	syncCmd(t, agentDir, "CHANCERY_AGENT_HQ_CA="+caFile)

	// The agent's own interface, over HTTPS with the certificate it made.
	a := startAgent(t, agentDir, "--tls-self-signed", "--hq-ca", caFile)
	m := tlsFingerprintRE.FindStringSubmatch(a.out.String())
	if m == nil || !strings.HasPrefix(a.URL, "https://") {
		t.Fatalf("the agent did not print its certificate's fingerprint, or serves %s:\n%s", a.URL, a.out)
	}
	want := m[1]
	// A browser that staff have told to trust exactly that certificate.
	pinned := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true, VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
		s := sha256.Sum256(raw[0])
		if got := strings.ToUpper(hex.EncodeToString(s[:])); got != strings.ReplaceAll(want, ":", "") {
			return errors.New("not the certificate the agent printed")
		}
		return nil
	}}}
	ac := loginWith(t, pinned, a.URL, "admin", a.Password)
	if page := get(t, ac, a.URL+"/sync"); !strings.Contains(page, want) {
		t.Fatal("the Sync page does not show the certificate's fingerprint")
	}
	au, _ := url.Parse(a.URL)
	for _, ck := range ac.Jar.Cookies(au) {
		if !strings.HasPrefix(ck.Name, "__Host-") {
			t.Fatalf("agent cookie %q over HTTPS", ck.Name)
		}
	}
	// The same certificate after a restart: staff check it once.
	a.stop(t)
	a = startAgent(t, agentDir, "--tls-self-signed", "--hq-ca", caFile)
	if m := tlsFingerprintRE.FindStringSubmatch(a.out.String()); m == nil || m[1] != want {
		t.Fatal("the agent made a new certificate at restart")
	}
	if !bytes.Contains([]byte(a.out.String()), []byte("https://")) {
		t.Fatal("the agent does not say it serves HTTPS")
	}
}
