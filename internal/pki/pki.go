package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Files are the credential files under a data directory.
type Files struct {
	Dir string
}

func (f Files) path(name string) string { return filepath.Join(f.Dir, name) }

// CACert and friends name the files.
func (f Files) CACert() string     { return f.path("tls/ca.crt") }
func (f Files) CAKey() string      { return f.path("tls/ca.key") }
func (f Files) ServerCert() string { return f.path("tls/server.crt") }
func (f Files) ServerKey() string  { return f.path("tls/server.key") }
func (f Files) AdminToken() string { return f.path("tls/admin.token") }
func (f Files) JoinToken() string  { return f.path("token") }

// FrontProxyCACert names the certificate of the CA of the front proxy: the API server
// when it proxies to an aggregated API server.
func (f Files) FrontProxyCACert() string { return f.path("tls/front-proxy-ca.crt") }

// FrontProxyCAKey is the front proxy CA's key.
func (f Files) FrontProxyCAKey() string { return f.path("tls/front-proxy-ca.key") }

// ServiceAccountKey is the key that signs service-account tokens.
func (f Files) ServiceAccountKey() string { return f.path("tls/service-account.key") }

// Credentials are what the API server serves and checks with.
type Credentials struct {
	CAPEM      []byte
	Serving    tls.Certificate
	AdminToken string
	JoinToken  string
	// KubeletClient is the API server's client certificate for the node agents
	// (KubeletClientUser).
	KubeletClient tls.Certificate
	// ServiceAccountKey signs service account tokens.
	ServiceAccountKey *ecdsa.PrivateKey
	// FrontProxyCAPEM is the CA of FrontProxyClient, a CA of its own, as kubeadm's
	// front-proxy-ca: a certificate of the cluster CA (a node's) must not pass for the
	// front proxy, which extension API servers trust to name the user.
	FrontProxyCAPEM []byte
	// FrontProxyClient is the API server's client certificate for aggregated API
	// servers (FrontProxyClientUser).
	FrontProxyClient tls.Certificate
}

// FrontProxyClientUser is the common name of the front proxy's client certificate, as
// kubeadm names it; extension API servers allow it to name the user in headers.
const FrontProxyClientUser = "front-proxy-client"

// KubeletClientUser is the user the API server is to the node agents, as kubeadm names
// it; the default RBAC policy lets it use every node's API.
const KubeletClientUser = "kube-apiserver-kubelet-client"

// Ensure loads the credentials, making whatever is missing. The serving certificate is
// made anew, by the same CA, when it lacks one of sans.
func Ensure(f Files, sans []string) (*Credentials, error) {
	if err := os.MkdirAll(filepath.Dir(f.CACert()), 0o700); err != nil {
		return nil, err
	}
	ca, caKey, err := ensureCA(f.CACert(), f.CAKey(), "podium-ca")
	if err != nil {
		return nil, err
	}
	frontCA, frontCAKey, err := ensureCA(f.FrontProxyCACert(), f.FrontProxyCAKey(), "podium-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	frontClient, err := ensureLeaf(f.path("tls/front-proxy-client.crt"), f.path("tls/front-proxy-client.key"), FrontProxyClientUser,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, frontCA, frontCAKey, nil)
	if err != nil {
		return nil, err
	}
	serving, err := ensureServing(f, ca, caKey, sans)
	if err != nil {
		return nil, err
	}
	if err := ensureEtcd(f, ca, caKey, sans); err != nil {
		return nil, err
	}
	kubeletClient, err := ensureLeaf(f.path("tls/apiserver-kubelet-client.crt"), f.path("tls/apiserver-kubelet-client.key"), KubeletClientUser,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, ca, caKey, nil)
	if err != nil {
		return nil, err
	}
	saKey, err := ensureKey(f.ServiceAccountKey())
	if err != nil {
		return nil, err
	}
	admin, err := ensureToken(f.AdminToken())
	if err != nil {
		return nil, err
	}
	join, err := ensureToken(f.JoinToken())
	if err != nil {
		return nil, err
	}
	// The chain carries the CA, so that agents can check the server against the CA
	// hash in their join token before they trust anything else.
	serving.Certificate = append(serving.Certificate, ca.Raw)
	return &Credentials{
		CAPEM:             pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		Serving:           serving,
		AdminToken:        admin,
		JoinToken:         join,
		KubeletClient:     kubeletClient,
		ServiceAccountKey: saKey,
		FrontProxyCAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: frontCA.Raw}),
		FrontProxyClient:  frontClient,
	}, nil
}

// ReadJoinToken returns the join token kept in a data directory.
func ReadJoinToken(f Files) (string, error) {
	data, err := os.ReadFile(f.JoinToken())
	if err != nil {
		return "", fmt.Errorf("reading the join token (has the server started once with this --data-dir?): %w", err)
	}
	t := strings.TrimSpace(string(data))
	if t == "" {
		return "", fmt.Errorf("the join token file %s is empty (start the server once to make a new one)", f.JoinToken())
	}
	return t, nil
}

// UseJoinToken keeps secret as the data directory's join secret, when it is not "". A
// data directory that holds another one belongs to another cluster: that is an error,
// not a change of token.
func UseJoinToken(f Files, secret string) error {
	if secret == "" {
		return nil
	}
	data, err := os.ReadFile(f.JoinToken())
	switch {
	case err == nil && strings.TrimSpace(string(data)) == secret:
		return nil
	case err == nil:
		return fmt.Errorf("the data directory %s holds another join token than --token gives", f.Dir)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	return writeSecret(f.JoinToken(), []byte(secret+"\n"))
}

func ensureToken(path string) (string, error) {
	if data, err := os.ReadFile(path); err == nil {
		if t := strings.TrimSpace(string(data)); t != "" {
			return t, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	t := hex.EncodeToString(b)
	return t, writeSecret(path, []byte(t+"\n"))
}

// ensureKey loads the ECDSA key kept at path, making it when it is missing.
func ensureKey(path string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("%s is not PEM", path)
		}
		return x509.ParseECPrivateKey(block.Bytes)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return key, writeSecret(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

func writeSecret(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ensureCA loads the CA kept at certPath and keyPath, making it, named name@TIME, when
// it is missing.
func ensureCA(certPath, keyPath, name string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cert, key, err := load(certPath, keyPath)
	if err == nil {
		return cert, key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s@%d", name, now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	if err := save(certPath, keyPath, der, key); err != nil {
		return nil, nil, err
	}
	cert, err = x509.ParseCertificate(der)
	return cert, key, err
}

func ensureServing(f Files, ca *x509.Certificate, caKey *ecdsa.PrivateKey, sans []string) (tls.Certificate, error) {
	return ensureLeaf(f.ServerCert(), f.ServerKey(), "podium-apiserver", []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, ca, caKey, sans)
}

// ensureLeaf loads a certificate signed by ca, making it anew when it is missing, lacks
// one of sans, was signed by another CA, or expires within 30 days.
func ensureLeaf(certPath, keyPath, cn string, usages []x509.ExtKeyUsage, ca *x509.Certificate, caKey *ecdsa.PrivateKey, sans []string) (tls.Certificate, error) {
	if cert, _, err := load(certPath, keyPath); err == nil && covers(cert, sans) && cert.CheckSignatureFrom(ca) == nil &&
		time.Now().Before(cert.NotAfter.Add(-30*24*time.Hour)) {
		return tls.LoadX509KeyPair(certPath, keyPath)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  usages,
	}
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else if s != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, s)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	if err := save(certPath, keyPath, der, key); err != nil {
		return tls.Certificate{}, err
	}
	return tls.LoadX509KeyPair(certPath, keyPath)
}

// EtcdFiles are the files the embedded etcd serves its members and clients with.
type EtcdFiles struct {
	CA                    string // the cluster CA
	ServerCert, ServerKey string // the member's, for clients and peers
	ClientCert, ClientKey string // a client's, for tools and tests
}

// Etcd returns where the embedded etcd's certificates are.
func (f Files) Etcd() EtcdFiles {
	return EtcdFiles{CA: f.CACert(), ServerCert: f.path("tls/etcd-server.crt"), ServerKey: f.path("tls/etcd-server.key"),
		ClientCert: f.path("tls/etcd-client.crt"), ClientKey: f.path("tls/etcd-client.key")}
}

// EtcdMemberCN is the common name of the embedded etcd members' certificates; a peer
// must present one.
const EtcdMemberCN = "podium-etcd"

// ensureEtcd makes the member's certificate (for clients on loopback, and for peers at
// the host's addresses in sans) and a client's.
func ensureEtcd(f Files, ca *x509.Certificate, caKey *ecdsa.PrivateKey, sans []string) error {
	e := f.Etcd()
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	if _, err := ensureLeaf(e.ServerCert, e.ServerKey, EtcdMemberCN, both, ca, caKey, append([]string{"localhost", "127.0.0.1"}, sans...)); err != nil {
		return err
	}
	_, err := ensureLeaf(e.ClientCert, e.ClientKey, "podium-etcd-client", []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, ca, caKey, nil)
	return err
}

// covers reports whether cert names every one of sans.
func covers(cert *x509.Certificate, sans []string) bool {
	for _, s := range sans {
		if ip := net.ParseIP(s); ip != nil {
			found := false
			for _, have := range cert.IPAddresses {
				found = found || have.Equal(ip)
			}
			if !found {
				return false
			}
		} else if s != "" && cert.VerifyHostname(s) != nil {
			return false
		}
	}
	return true
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

func save(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeSecret(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})); err != nil {
		return err
	}
	return os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

func load(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cblock, _ := pem.Decode(cb)
	kblock, _ := pem.Decode(kb)
	if cblock == nil || kblock == nil {
		return nil, nil, fmt.Errorf("%s or %s is not PEM", certPath, keyPath)
	}
	cert, err := x509.ParseCertificate(cblock.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certPath, err)
	}
	key, err := x509.ParseECPrivateKey(kblock.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return cert, key, nil
}

// HostSANs returns the names the serving certificate should carry for this host:
// localhost, 127.0.0.1, the names of the kubernetes Service and its cluster IP
// (serviceIP, for clients in pods), the host name and the addresses of its interfaces,
// then extra. Addresses inside podRange are left out: they belong to interfaces that
// podium makes itself (the pods' bridge), which come and go and would otherwise remake
// the certificate.
func HostSANs(serviceIP, podRange string, extra []string) []string {
	sans := []string{"localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if serviceIP != "" {
		sans = append(sans, serviceIP)
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		sans = append(sans, h)
	}
	pods, _ := netip.ParsePrefix(podRange) // invalid or empty: nothing is left out
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.IsLinkLocalUnicast() {
				continue
			}
			if ip, ok := netip.AddrFromSlice(ipn.IP); ok && pods.IsValid() && pods.Contains(ip.Unmap()) {
				continue
			}
			sans = append(sans, ipn.IP.String())
		}
	}
	return append(sans, extra...)
}

// IssueClient signs, with the cluster CA, a client certificate for user in groups (the
// subject's common name and organizations, as the API server reads them), valid for
// validity, with a new key. It returns both in PEM.
func IssueClient(f Files, user string, groups []string, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if user == "" {
		return nil, nil, errors.New("a user name is required")
	}
	ca, caKey, err := load(f.CACert(), f.CAKey())
	if err != nil {
		return nil, nil, fmt.Errorf("the cluster CA: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: user, Organization: groups},
		NotBefore:    now.Add(-5 * time.Minute),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), nil
}
