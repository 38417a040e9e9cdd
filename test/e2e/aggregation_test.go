package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// flunderServer is an aggregated API server on loopback serving wardle.example.com/v1alpha1
// flunders, as upstream's sample API server names them. It trusts only clients with a
// certificate of frontCA named in allowed, as an extension server that reads
// extension-apiserver-authentication does, and answers each list with one flunder
// carrying the user the proxy named and whether a bearer token reached it.
type flunderServer struct {
	url   string
	caPEM []byte // of its serving certificate, for the APIService's caBundle
	mu    sync.Mutex
	seen  []string // the paths asked for
}

func startFlunderServer(t *testing.T, serverName string, frontCA []byte, allowed []string) *flunderServer {
	t.Helper()
	fs := &flunderServer{}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(frontCA) {
		t.Fatal("the front proxy CA is not PEM")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/apis/wardle.example.com/v1alpha1", func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "wardle.example.com/v1alpha1",
			"resources": []map[string]any{{"name": "flunders", "singularName": "flunder", "namespaced": true, "kind": "Flunder",
				"verbs": []string{"get", "list", "create"}}}})
	})
	mux.HandleFunc("/apis/wardle.example.com/v1alpha1/namespaces/{ns}/flunders", func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, map[string]any{"kind": "FlunderList", "apiVersion": "wardle.example.com/v1alpha1", "metadata": map[string]any{},
			"items": []map[string]any{{"kind": "Flunder", "apiVersion": "wardle.example.com/v1alpha1",
				"metadata": map[string]any{"name": "proxied", "namespace": r.PathValue("ns"), "annotations": map[string]string{
					"user": r.Header.Get("X-Remote-User"), "groups": strings.Join(r.Header.Values("X-Remote-Group"), ","),
					"authorization": strconv.FormatBool(r.Header.Get("Authorization") != ""),
				}}}}})
	})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The front proxy's certificate: verified against its CA by TLS, and its name
		// one of the allowed ones.
		if len(r.TLS.PeerCertificates) == 0 || !slices.Contains(allowed, r.TLS.PeerCertificates[0].Subject.CommonName) {
			http.Error(w, "not the front proxy", http.StatusUnauthorized)
			return
		}
		fs.mu.Lock()
		fs.seen = append(fs.seen, r.URL.Path)
		fs.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	var cert tls.Certificate
	cert, fs.caPEM = servingCert(t, serverName)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	fs.url = srv.URL
	return fs
}

func (fs *flunderServer) asked(path string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return slices.Contains(fs.seen, path)
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// servingCert makes a CA and a serving certificate of it for name.
func servingCert(t *testing.T, name string) (tls.Certificate, []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "flunder-ca"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// TestAggregatedAPI: an APIService backed by a Service has its group version proxied to
// the extension server behind it, authenticated as the front proxy with the user in
// headers, listed in discovery, refused before the proxy when RBAC says no, and 503
// while the server is not available.
func TestAggregatedAPI(t *testing.T) {
	c := startCluster(t)
	cs := c.client()
	bg := t.Context()

	// The trust an extension server needs is published, as upstream's.
	var auth map[string]string
	waitUntil(t, "the extension-apiserver-authentication ConfigMap", func() bool {
		cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(bg, "extension-apiserver-authentication", metav1.GetOptions{})
		if err == nil {
			auth = cm.Data
		}
		return err == nil
	})
	var allowed, users []string
	if err := json.Unmarshal([]byte(auth["requestheader-allowed-names"]), &allowed); err != nil || !slices.Equal(allowed, []string{"front-proxy-client"}) {
		t.Fatalf("requestheader-allowed-names %q", auth["requestheader-allowed-names"])
	}
	if _ = json.Unmarshal([]byte(auth["requestheader-username-headers"]), &users); !slices.Equal(users, []string{"X-Remote-User"}) ||
		auth["client-ca-file"] == "" || auth["requestheader-client-ca-file"] == auth["client-ca-file"] {
		t.Fatalf("extension-apiserver-authentication: %v", auth)
	}
	c.mustKubectl("get", "role", "extension-apiserver-authentication-reader", "-n", "kube-system")

	fs := startFlunderServer(t, "api.wardle.svc", []byte(auth["requestheader-client-ca-file"]), allowed)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(fs.url, "https://"))

	// Without its Service the APIService is not available, and its requests are 503.
	c.mustKubectl("create", "namespace", "wardle")
	apiService := fmt.Sprintf(`apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1alpha1.wardle.example.com}
spec:
  group: wardle.example.com
  version: v1alpha1
  groupPriorityMinimum: 2000
  versionPriority: 200
  service: {namespace: wardle, name: api, port: %s}
  caBundle: %s
`, port, base64.StdEncoding.EncodeToString(fs.caPEM))
	if _, stderr, err := c.kubectlIn(apiService, "apply", "-f", "-"); err != nil {
		t.Fatalf("creating the APIService: %v\n%s", err, stderr)
	}
	c.mustKubectl("wait", "--for=jsonpath={.status.conditions[0].reason}=ServiceNotFound", "apiservice/v1alpha1.wardle.example.com", "--timeout=30s")
	if _, stderr, err := c.kubectl("get", "--raw", "/apis/wardle.example.com/v1alpha1/namespaces/wardle/flunders"); err == nil ||
		!strings.Contains(stderr, "(ServiceUnavailable)") {
		t.Fatalf("a request to an unavailable APIService: %v\n%s", err, stderr)
	}

	// An ExternalName Service leads to the server on this host; the check of its
	// discovery makes the APIService available.
	svc := fmt.Sprintf(`apiVersion: v1
kind: Service
metadata: {name: api, namespace: wardle}
spec: {type: ExternalName, externalName: localhost, ports: [{port: %s}]}
`, port)
	if _, stderr, err := c.kubectlIn(svc, "apply", "-f", "-"); err != nil {
		t.Fatalf("creating the Service: %v\n%s", err, stderr)
	}
	c.mustKubectl("wait", "--for=condition=Available", "apiservice/v1alpha1.wardle.example.com", "--timeout=30s")
	if msg := c.mustKubectl("get", "apiservice", "v1alpha1.wardle.example.com", "-o", "jsonpath={.status.conditions[0].message}"); msg != "all checks passed" {
		t.Fatalf("the available APIService says %q", msg)
	}

	// Discovery lists the aggregated group, legacy and aggregated (kubectl's).
	groups, err := cs.Discovery().ServerGroups()
	if err != nil || !slices.ContainsFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == "wardle.example.com" }) {
		t.Fatalf("legacy discovery lacks wardle.example.com: %v", err)
	}
	waitUntil(t, "kubectl api-resources lists flunders", func() bool {
		out, _, _ := c.kubectl("api-resources", "--api-group=wardle.example.com", "--cached=false")
		return strings.Contains(out, "flunders")
	})

	// kubectl reaches the server through the proxy as the admin, whose token stays here.
	out := c.mustKubectl("get", "flunders", "-n", "wardle", "-o", "jsonpath={.items[0].metadata.annotations}")
	var seen map[string]string
	if err := json.Unmarshal([]byte(out), &seen); err != nil {
		t.Fatalf("flunder annotations %q: %v", out, err)
	}
	if seen["user"] == "" || !strings.Contains(seen["groups"], "system:masters") || seen["authorization"] != "false" {
		t.Fatalf("the extension server saw %v", seen)
	}

	// RBAC is the API server's first: a user who may not list flunders never reaches it.
	_, stderr, err := c.kubectl("get", "flunders", "-n", "default", "--as=someone")
	if err == nil || !strings.Contains(stderr, `cannot list resource "flunders" in API group "wardle.example.com"`) {
		t.Fatalf("a list RBAC denies: %v\n%s", err, stderr)
	}
	// A path the API server's own resources would not have is still authorized as the
	// resource it names, as upstream reads it.
	odd := "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders/x/status/more"
	if _, stderr, err := c.kubectl("get", "--raw", odd, "--as=someone"); err == nil || !strings.Contains(stderr, "Forbidden") {
		t.Fatalf("an odd path RBAC denies: %v\n%s", err, stderr)
	}
	if fs.asked("/apis/wardle.example.com/v1alpha1/namespaces/default/flunders") || fs.asked(odd) {
		t.Fatal("a request RBAC denied reached the extension server")
	}

	// Without its Service again, the APIService is unavailable and so are its requests.
	c.mustKubectl("delete", "service", "api", "-n", "wardle")
	c.mustKubectl("wait", "--for=condition=Available=False", "apiservice/v1alpha1.wardle.example.com", "--timeout=30s")
	waitUntil(t, "flunders unavailable", func() bool {
		_, stderr, err := c.kubectl("get", "--raw", "/apis/wardle.example.com/v1alpha1/namespaces/wardle/flunders")
		return err != nil && strings.Contains(stderr, "(ServiceUnavailable)")
	})

	// Deleting the APIService removes the group.
	c.mustKubectl("delete", "apiservice", "v1alpha1.wardle.example.com")
	waitUntil(t, "the group gone from discovery", func() bool {
		groups, err := cs.Discovery().ServerGroups()
		return err == nil && !slices.ContainsFunc(groups.Groups, func(g metav1.APIGroup) bool { return g.Name == "wardle.example.com" })
	})
}
