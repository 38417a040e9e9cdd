package aggregator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/auth"
)

// pair makes a certificate of cn signed by parent (itself when nil).
func pair(t *testing.T, cn string, parent *tls.Certificate, usage x509.ExtKeyUsage) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{cn},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	signer, signerKey := tmpl, any(key)
	if parent == nil {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		signer, _ = x509.ParseCertificate(parent.Certificate[0])
		signerKey = parent.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signerKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, cert
}

type fixedResolver struct {
	host string
	err  error
}

func (r fixedResolver) ResolveEndpoint(string, string, int32) (*url.URL, error) {
	return &url.URL{Scheme: "https", Host: r.host}, r.err
}

// extension is an extension server that trusts the front proxy's CA and records the
// last request; aggregated says whether it serves aggregated discovery.
type extension struct {
	srv  *httptest.Server
	ca   []byte
	last *http.Request
}

func startExtension(t *testing.T, frontCA *x509.Certificate, aggregated bool) *extension {
	t.Helper()
	e := &extension{}
	ca, _ := pair(t, "extension-ca", nil, 0)
	serving, _ := pair(t, "api.wardle.svc", &ca, x509.ExtKeyUsageServerAuth)
	e.ca = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate[0]})
	pool := x509.NewCertPool()
	pool.AddCert(frontCA)
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.last = r
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/apis" && aggregated:
			w.Header().Set("Content-Type", "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
			_ = json.NewEncoder(w).Encode(apidiscoveryv2.APIGroupDiscoveryList{Items: []apidiscoveryv2.APIGroupDiscovery{{
				ObjectMeta: metav1.ObjectMeta{Name: "wardle.example.com"},
				Versions: []apidiscoveryv2.APIVersionDiscovery{{Version: "v1alpha1", Resources: []apidiscoveryv2.APIResourceDiscovery{
					{Resource: "fischers", Scope: apidiscoveryv2.ScopeCluster, Verbs: []string{"get"}}}}}}}})
		case r.URL.Path == "/apis/wardle.example.com/v1alpha1":
			_ = json.NewEncoder(w).Encode(metav1.APIResourceList{GroupVersion: "wardle.example.com/v1alpha1", APIResources: []metav1.APIResource{
				{Name: "flunders", Namespaced: true, Kind: "Flunder", Verbs: []string{"get", "list"}}}})
		case r.URL.Path == "/apis":
			http.NotFound(w, r)
		case r.URL.Path == "/apis/wardle.example.com/v1alpha1/redirect":
			http.Redirect(w, r, "https://example.com/elsewhere", http.StatusFound)
		case r.URL.Path == "/openapi/v3/apis/wardle.example.com/v1alpha1":
			w.Header().Set("Etag", `"1"`)
			if r.Header.Get("If-None-Match") == `"1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = io.WriteString(w, `{"openapi":"3.0.0","info":{"title":"wardle","version":"v1alpha1"},"paths":{}}`)
		default:
			_, _ = io.WriteString(w, `{"kind":"FlunderList"}`)
		}
	}))
	e.srv.TLS = &tls.Config{Certificates: []tls.Certificate{serving}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	return e
}

func apiService(ca []byte, available bool) *apiregistrationv1.APIService {
	s := &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1alpha1.wardle.example.com", ResourceVersion: "1"},
		Spec: apiregistrationv1.APIServiceSpec{Group: "wardle.example.com", Version: "v1alpha1", CABundle: ca,
			Service: &apiregistrationv1.ServiceReference{Namespace: "wardle", Name: "api", Port: ptr.To[int32](443)}, GroupPriorityMinimum: 2000, VersionPriority: 10}}
	status := apiregistrationv1.ConditionFalse
	if available {
		status = apiregistrationv1.ConditionTrue
	}
	s.Status.Conditions = []apiregistrationv1.APIServiceCondition{{Type: apiregistrationv1.Available, Status: status}}
	return s
}

var wardle = schema.GroupVersion{Group: "wardle.example.com", Version: "v1alpha1"}

// documents keeps what the aggregator publishes.
type documents struct{ published map[string]*spec3.OpenAPI }

func (d *documents) SetAggregated(path string, doc *spec3.OpenAPI) { d.published[path] = doc }
func (d *documents) RemoveAggregated(path string)                  { delete(d.published, path) }

func setup(t *testing.T, aggregated bool) (*Aggregator, *extension) {
	t.Helper()
	frontCA, frontCACert := pair(t, "front-proxy-ca", nil, 0)
	client, _ := pair(t, "front-proxy-client", &frontCA, x509.ExtKeyUsageClientAuth)
	ext := startExtension(t, frontCACert, aggregated)
	docs := &documents{published: map[string]*spec3.OpenAPI{}}
	a, err := New(client, fixedResolver{host: ext.srv.Listener.Addr().String()}, docs, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return a, ext
}

func TestProxy(t *testing.T) {
	a, ext := setup(t, false)
	local := &apiregistrationv1.APIService{ObjectMeta: metav1.ObjectMeta{Name: "v1.apps"}, Spec: apiregistrationv1.APIServiceSpec{Group: "apps", Version: "v1"}}
	a.Update([]*apiregistrationv1.APIService{apiService(ext.ca, true), local})
	if !a.Proxies(wardle) || a.Proxies(schema.GroupVersion{Group: "apps", Version: "v1"}) {
		t.Fatal("only APIServices backed by a Service are proxied")
	}
	u := &auth.User{Name: "alice", UID: "u-1", Groups: []string{"devs", "system:authenticated"}, Extra: map[string][]string{"scopes.example/x": {"a"}}}
	r := httptest.NewRequest(http.MethodGet, "/apis/wardle.example.com/v1alpha1/namespaces/ns/flunders?limit=5", nil)
	r.Header.Set("Authorization", "Bearer secret")
	r.Header.Set("Impersonate-User", "bob")
	r.Header.Set("X-Remote-User", "mallory") // a client's own claim is replaced
	w := httptest.NewRecorder()
	a.Proxy(w, r, wardle, u)
	if w.Code != http.StatusOK || ext.last == nil {
		t.Fatalf("proxied: %d %s", w.Code, w.Body)
	}
	got := ext.last
	if got.URL.Path != "/apis/wardle.example.com/v1alpha1/namespaces/ns/flunders" || got.URL.Query().Get("limit") != "5" {
		t.Fatalf("the extension server was asked for %s", got.URL)
	}
	if got.Header.Get("Authorization") != "" || got.Header.Get("Impersonate-User") != "" {
		t.Fatalf("the client's credentials travelled: %v", got.Header)
	}
	if got.Header.Get("X-Remote-User") != "alice" || got.Header.Get("X-Remote-Uid") != "u-1" ||
		len(got.Header.Values("X-Remote-Group")) != 2 || got.Header.Get("X-Remote-Extra-Scopes.example%2fx") != "a" {
		t.Fatalf("the user's headers: %v", got.Header)
	}

	// A redirect from the server is not passed on.
	w = httptest.NewRecorder()
	a.Proxy(w, httptest.NewRequest(http.MethodGet, "/apis/wardle.example.com/v1alpha1/redirect", nil), wardle, u)
	if w.Code == http.StatusFound || w.Header().Get("Location") != "" {
		t.Fatalf("a redirect was passed on: %d %v", w.Code, w.Header())
	}

	// Unavailable, unknown, or without an endpoint: not proxied.
	a.Update([]*apiregistrationv1.APIService{apiService(ext.ca, false)})
	w = httptest.NewRecorder()
	a.Proxy(w, r, wardle, u)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("an unavailable APIService: %d", w.Code)
	}
	w = httptest.NewRecorder()
	a.Proxy(w, r, schema.GroupVersion{Group: "other", Version: "v1"}, u)
	if w.Code != http.StatusNotFound {
		t.Fatalf("an unknown group version: %d", w.Code)
	}
	a.resolver = fixedResolver{err: errors.New("no endpoints")}
	a.Update([]*apiregistrationv1.APIService{apiService(ext.ca, true)})
	w = httptest.NewRecorder()
	a.Proxy(w, r, wardle, u)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("a Service without endpoints: %d", w.Code)
	}
}

// A server whose CA the APIService does not name is not trusted.
func TestProxyChecksTheServer(t *testing.T) {
	a, ext := setup(t, false)
	other, _ := pair(t, "other-ca", nil, 0)
	a.Update([]*apiregistrationv1.APIService{apiService(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other.Certificate[0]}), true)})
	w := httptest.NewRecorder()
	a.Proxy(w, httptest.NewRequest(http.MethodGet, "/apis/wardle.example.com/v1alpha1/flunders", nil), wardle, &auth.User{Name: "alice"})
	if w.Code != http.StatusServiceUnavailable || ext.last != nil {
		t.Fatalf("a server of another CA: %d, reached %v", w.Code, ext.last != nil)
	}
}

func TestDiscovery(t *testing.T) {
	for _, aggregated := range []bool{false, true} {
		a, ext := setup(t, aggregated)
		a.Update([]*apiregistrationv1.APIService{apiService(ext.ca, true)})
		a.refresh(context.Background())
		groups := a.Discovery()
		if len(groups) != 1 || groups[0].Name != "wardle.example.com" || len(groups[0].Versions) != 1 {
			t.Fatalf("discovery: %+v", groups)
		}
		v := groups[0].Versions[0]
		want := "flunders" // the resource list, from a server without aggregated discovery
		if aggregated {
			want = "fischers"
		}
		if v.Freshness != apidiscoveryv2.DiscoveryFreshnessCurrent || len(v.Resources) != 1 || v.Resources[0].Resource != want {
			t.Fatalf("aggregated %v: %+v", aggregated, v)
		}
		if legacy := a.Groups(); len(legacy) != 1 || legacy[0].PreferredVersion.Version != "v1alpha1" {
			t.Fatalf("legacy discovery: %+v", legacy)
		}
		docs := a.docs.(*documents)
		if doc := docs.published["apis/wardle.example.com/v1alpha1"]; doc == nil || doc.Info.Title != "wardle" {
			t.Fatalf("the OpenAPI document published: %+v", docs.published)
		}
		// Unchanged, it is not fetched again; gone, it is withdrawn.
		delete(docs.published, "apis/wardle.example.com/v1alpha1")
		a.refresh(context.Background())
		if len(docs.published) != 0 {
			t.Fatal("an unchanged document was published again")
		}

		// Unavailable, it is stale, with what it said last.
		a.Update([]*apiregistrationv1.APIService{apiService(ext.ca, false)})
		a.refresh(context.Background())
		if v := a.Discovery()[0].Versions[0]; v.Freshness != apidiscoveryv2.DiscoveryFreshnessStale || len(v.Resources) != 1 {
			t.Fatalf("an unavailable APIService's discovery: %+v", v)
		}
		docs.published["apis/wardle.example.com/v1alpha1"] = &spec3.OpenAPI{}
		a.Update(nil)
		a.refresh(context.Background())
		if len(docs.published) != 0 || len(a.Discovery()) != 0 {
			t.Fatal("a deleted APIService's document or discovery is still published")
		}
	}
}
