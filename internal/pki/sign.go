package pki

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// CA signs certificates with the cluster CA.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	now  func() time.Time
}

// LoadCA loads the cluster CA of a data directory, with its key.
func LoadCA(f Files) (*CA, error) {
	cert, key, err := load(f.CACert(), f.CAKey())
	if err != nil {
		return nil, fmt.Errorf("the cluster CA: %w", err)
	}
	return &CA{cert: cert, key: key, now: time.Now}, nil
}

// backdate is how far before now a certificate's validity starts, for clocks that lag a
// little (upstream's signer backdates as much).
const backdate = 5 * time.Minute

// Usage is what a signed certificate may be used for.
type Usage struct {
	Key      x509.KeyUsage
	Extended []x509.ExtKeyUsage
}

// Sign issues a certificate for req, whose signature must hold: its subject and its
// DNS, IP, e-mail and URI names, the usages given, valid for validity (never past the
// CA's own end). It returns the certificate in PEM.
func (ca *CA) Sign(req *x509.CertificateRequest, usage Usage, validity time.Duration) ([]byte, error) {
	if err := req.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the request's signature: %w", err)
	}
	if validity <= 0 {
		return nil, errors.New("a certificate needs a validity")
	}
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               req.Subject,
		DNSNames:              req.DNSNames,
		IPAddresses:           req.IPAddresses,
		EmailAddresses:        req.EmailAddresses,
		URIs:                  req.URIs,
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(validity),
		KeyUsage:              usage.Key,
		ExtKeyUsage:           usage.Extended,
		BasicConstraintsValid: true,
	}
	if tmpl.NotAfter.After(ca.cert.NotAfter) {
		tmpl.NotAfter = ca.cert.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, req.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
