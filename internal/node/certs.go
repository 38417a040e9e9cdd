package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	certificatesv1 "k8s.io/api/certificates/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/certificate"
	"k8s.io/klog/v2"

	"github.com/podium/podium/internal/auth"
)

// SignFunc signs a node's certificate request at once, for the server's own agent,
// which need not go through the CertificateSigningRequest API to start. It gets the
// request in PEM and the signer's name and returns the certificate in PEM.
type SignFunc func(csrPEM []byte, signerName string) ([]byte, error)

// certs are the agent's two certificates, each kept in a file store under DATA_DIR/pki
// and renewed through the CertificateSigningRequest API by a certificate manager, as
// the kubelet's: the client certificate it authenticates to the API server with
// (system:node:NAME in system:nodes, asked for with the join token the first time),
// and the serving certificate of its endpoint, naming its name and address.
type certs struct {
	client, serving       certificate.Manager
	clientPath            string
	clientReady, srvReady <-chan struct{}
}

// startCerts starts the managers of the node's certificates; they stop with ctx. When
// sign is set, a missing certificate is signed by it at once.
func startCerts(ctx context.Context, cfg Config, base *rest.Config, secret, nodeIP string, sign SignFunc, log *slog.Logger) (*certs, error) {
	dir := filepath.Join(cfg.DataDir, "pki")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	logger := logr.FromSlogHandler(log.Handler())
	kctx := klog.NewContext(ctx, logger)
	subject := pkix.Name{CommonName: auth.NodeUserPrefix + cfg.NodeName, Organization: []string{auth.NodesGroup}}
	c := &certs{}

	clientStore, err := certificate.NewFileStoreWithLogger(logger.V(1), "kubelet-client", dir, dir, "", "")
	if err != nil {
		return nil, err
	}
	c.clientPath = clientStore.CurrentPath()
	clientTmpl := &x509.CertificateRequest{Subject: subject}
	if sign != nil {
		if err := signMissing(clientStore, clientTmpl, certificatesv1.KubeAPIServerClientKubeletSignerName, sign); err != nil {
			return nil, fmt.Errorf("the node's client certificate: %w", err)
		}
	}
	// The first request goes with the join token; renewals with the node's own
	// certificate, through its file.
	bootstrap := rest.AnonymousClientConfig(base)
	bootstrap.BearerToken = secret
	self := c.clientConfig(base)
	clients := func(current *tls.Certificate) (kubernetes.Interface, error) {
		if current == nil {
			return kubernetes.NewForConfig(bootstrap)
		}
		return kubernetes.NewForConfig(self)
	}
	clientReady := notifying{Store: clientStore, ready: make(chan struct{})}
	c.clientReady = clientReady.ready
	c.client, err = certificate.NewManager(&certificate.Config{
		ClientsetFn: clients, Template: clientTmpl, SignerName: certificatesv1.KubeAPIServerClientKubeletSignerName,
		GetUsages: certificate.DefaultKubeletClientGetUsages, CertificateStore: &clientReady, Name: "node client certificate", Ctx: &kctx,
	})
	if err != nil {
		return nil, err
	}

	servingStore, err := certificate.NewFileStoreWithLogger(logger.V(1), "kubelet-server", dir, dir, "", "")
	if err != nil {
		return nil, err
	}
	servingTmpl := &x509.CertificateRequest{Subject: subject, DNSNames: []string{cfg.NodeName}}
	if ip := net.ParseIP(nodeIP); ip != nil {
		servingTmpl.IPAddresses = []net.IP{ip}
	}
	if sign != nil {
		if err := signMissing(servingStore, servingTmpl, certificatesv1.KubeletServingSignerName, sign); err != nil {
			return nil, fmt.Errorf("the node's serving certificate: %w", err)
		}
	}
	servingReady := notifying{Store: servingStore, ready: make(chan struct{})}
	c.srvReady = servingReady.ready
	c.serving, err = certificate.NewManager(&certificate.Config{
		ClientsetFn: func(*tls.Certificate) (kubernetes.Interface, error) { return kubernetes.NewForConfig(self) },
		Template:    servingTmpl, SignerName: certificatesv1.KubeletServingSignerName,
		GetUsages: certificate.DefaultKubeletServingGetUsages, CertificateStore: &servingReady, Name: "node serving certificate", Ctx: &kctx,
	})
	if err != nil {
		return nil, err
	}
	if c.client.Current() != nil {
		clientReady.done()
	}
	if c.serving.Current() != nil {
		servingReady.done()
	}
	c.client.Start()
	return c, nil
}

// clientConfig is base with the node's client certificate, read from its file (and read
// again when a renewal replaces it).
func (c *certs) clientConfig(base *rest.Config) *rest.Config {
	r := rest.AnonymousClientConfig(base)
	r.CertFile, r.KeyFile = c.clientPath, c.clientPath
	return r
}

// waitClient returns once the node has a client certificate. A request that is not
// approved soon is explained in the log: an admin approves it by hand when the node's
// name exists already.
func (c *certs) waitClient(ctx context.Context, name string, log *slog.Logger) error {
	select {
	case <-c.clientReady:
		return nil
	default:
	}
	log.Info("asking for the node's client certificate with the join token", "node", name)
	hint := time.AfterFunc(15*time.Second, func() {
		log.Warn("the node's certificate signing request is not approved yet: a node of this name may exist already, "+
			"in which case an admin decides (kubectl get csr; kubectl certificate approve NAME)", "node", name)
	})
	defer hint.Stop()
	select {
	case <-c.clientReady:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// startServing starts the serving certificate's manager, which needs the node's own
// client (its requests are approved once its Node names its addresses).
func (c *certs) startServing() { c.serving.Start() }

// getCertificate serves the endpoint's TLS handshakes with the current serving
// certificate.
func (c *certs) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if cert := c.serving.Current(); cert != nil {
		return cert, nil
	}
	return nil, errors.New("the node has no serving certificate yet")
}

// notifying is a certificate store that closes ready once it holds a certificate.
type notifying struct {
	certificate.Store
	ready chan struct{}
	once  sync.Once
}

func (n *notifying) done() { n.once.Do(func() { close(n.ready) }) }

func (n *notifying) Update(cert, key []byte) (*tls.Certificate, error) {
	c, err := n.Store.Update(cert, key)
	if err == nil {
		n.done()
	}
	return c, err
}

// signMissing signs, with sign, a new key's certificate for tmpl when store holds none
// that is valid for another fifth of its life, or one for other names.
func signMissing(store certificate.Store, tmpl *x509.CertificateRequest, signer string, sign SignFunc) error {
	if cur, err := store.Current(); err == nil && cur.Leaf != nil && fresh(cur.Leaf, tmpl) {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return err
	}
	certPEM, err := sign(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), signer)
	if err != nil {
		return err
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	_, err = store.Update(certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	return err
}

// fresh reports whether cert names what tmpl asks for and has more than a fifth of its
// life ahead.
func fresh(cert *x509.Certificate, tmpl *x509.CertificateRequest) bool {
	life := cert.NotAfter.Sub(cert.NotBefore)
	if time.Until(cert.NotAfter) < life/5 || cert.Subject.CommonName != tmpl.Subject.CommonName ||
		!slices.Equal(cert.Subject.Organization, tmpl.Subject.Organization) || !slices.Equal(cert.DNSNames, tmpl.DNSNames) {
		return false
	}
	return slices.EqualFunc(cert.IPAddresses, tmpl.IPAddresses, func(a, b net.IP) bool { return a.Equal(b) })
}
