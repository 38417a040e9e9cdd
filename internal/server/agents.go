package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"

	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/controller/csrsigning"
	"github.com/podium/podium/internal/pki"
	csrs "github.com/podium/podium/internal/registry/certificatesigningrequest"
)

// agents are the API server's connections to the node agents: it presents its own
// client certificate and accepts, for node NAME, only a serving certificate of the
// cluster CA for system:node:NAME that names the address dialled. A transport per node
// keeps a connection made to one node from carrying another's requests.
type agents struct {
	roots  *x509.CertPool
	client tls.Certificate

	mu         sync.Mutex
	transports map[string]*http.Transport
}

func newAgents(caPEM []byte, client tls.Certificate) (*agents, error) {
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("the cluster CA is not PEM")
	}
	return &agents{roots: roots, client: client, transports: map[string]*http.Transport{}}, nil
}

// tlsConfig is the client side of a connection to node's agent.
func (a *agents) tlsConfig(node string) *tls.Config {
	want := auth.NodeUserPrefix + node
	return &tls.Config{
		MinVersion: tls.VersionTLS12, RootCAs: a.roots, Certificates: []tls.Certificate{a.client},
		// The usual checks (chain to the cluster CA, the dialled address among the
		// certificate's names) and then whose certificate it is.
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the node agent sent no certificate")
			}
			if cn := cs.PeerCertificates[0].Subject.CommonName; cn != want {
				return fmt.Errorf("the agent at this address is %q, not %q", cn, want)
			}
			return nil
		},
	}
}

// transport returns the transport to node's agent.
func (a *agents) transport(node string) http.RoundTripper {
	a.mu.Lock()
	defer a.mu.Unlock()
	t, ok := a.transports[node]
	if !ok {
		t = &http.Transport{
			TLSClientConfig:     a.tlsConfig(node),
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			IdleConnTimeout:     90 * time.Second,
			MaxIdleConnsPerHost: 4,
		}
		a.transports[node] = t
	}
	return t
}

// dial opens a TLS connection to node's agent at addr.
func (a *agents) dial(ctx context.Context, node, addr string) (net.Conn, error) {
	d := tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: a.tlsConfig(node)}
	return d.DialContext(ctx, "tcp", addr)
}

// agentSigner signs the certificates of the server's own agent with the cluster CA, as
// the signing controller would once the request were approved.
func agentSigner(ca *pki.CA) func(csrPEM []byte, signer string) ([]byte, error) {
	return func(csrPEM []byte, signer string) ([]byte, error) {
		req, err := csrs.ParseRequest(csrPEM)
		if err != nil {
			return nil, err
		}
		usage := pki.Usage{Key: x509.KeyUsageDigitalSignature}
		switch signer {
		case certificatesv1.KubeAPIServerClientKubeletSignerName:
			usage.Extended = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		case certificatesv1.KubeletServingSignerName:
			usage.Extended = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		default:
			return nil, fmt.Errorf("the server signs no %s certificates for its agent", signer)
		}
		return ca.Sign(req, usage, csrsigning.MaxDuration)
	}
}
