package web

import (
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
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Certificate is the certificate a program serves HTTPS with, read from a
// PEM certificate (chain) file and its key file. Reload reads them again,
// so that a renewed certificate is taken without a restart (the programs
// reload on SIGHUP); until a reload succeeds, the one in use stays.
type Certificate struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// LoadCertificate reads a certificate and its key.
func LoadCertificate(certFile, keyFile string) (*Certificate, error) {
	c := &Certificate{certFile: certFile, keyFile: keyFile}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// Reload reads the files again.
func (c *Certificate) Reload() error {
	kp, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s with key %s: %v; give a PEM certificate and its PEM private key", c.certFile, c.keyFile, err)
	}
	if kp.Leaf != nil && time.Now().After(kp.Leaf.NotAfter) {
		return fmt.Errorf("TLS certificate %s expired on %s; renew it", c.certFile, kp.Leaf.NotAfter.UTC().Format("2 January 2006"))
	}
	c.cur.Store(&kp)
	return nil
}

// Config returns the TLS settings to serve with: TLS 1.2 at least, and
// the certificate as last loaded.
func (c *Certificate) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
}

// Fingerprint is the SHA-256 of the certificate in use, as browsers show
// it: colon-separated upper-case hex.
func (c *Certificate) Fingerprint() string {
	kp := c.cur.Load()
	if kp == nil || len(kp.Certificate) == 0 {
		return ""
	}
	s := sha256.Sum256(kp.Certificate[0])
	h := strings.ToUpper(hex.EncodeToString(s[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// SelfSigned returns the certificate kept in dir (tls-cert.pem and
// tls-key.pem), making it at first use: an ECDSA P-256 certificate for
// hosts (names or IP addresses; loopback and this machine's name are
// always added), valid ten years. Browsers warn about it until staff
// check its fingerprint, which the program prints and shows, and accept
// it.
func SelfSigned(dir string, hosts []string) (*Certificate, error) {
	certFile, keyFile := filepath.Join(dir, "tls-cert.pem"), filepath.Join(dir, "tls-key.pem")
	if _, err := os.Stat(certFile); err == nil {
		return LoadCertificate(certFile, keyFile)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	name, _ := os.Hostname()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Chancery " + name, Organization: []string{"Chancery (self-signed)"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range append([]string{"localhost", name, "127.0.0.1", "::1"}, hosts...) {
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return LoadCertificate(certFile, keyFile)
}

// ClientTLS returns the TLS settings for reaching HQ: HQ's certificate
// checked against the CA certificates in caFile (PEM), or against the
// system's when caFile is empty.
func ClientTLS(caFile string) (*tls.Config, error) {
	// A session HQ granted is resumed at the next sync, even when the
	// connection was closed in the interval: a resumed TLS 1.3 handshake
	// sends no certificates, over links where every kilobyte is a second.
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	if caFile == "" {
		return cfg, nil
	}
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("the CA file for HQ's certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("the CA file %s holds no PEM certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
