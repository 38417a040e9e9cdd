package aggregator

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/apimachinery/pkg/util/proxy"
	"k8s.io/client-go/transport"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/v1/helper"
	"k8s.io/kube-openapi/pkg/spec3"

	"github.com/podium/podium/internal/auth"
)

// Resolver finds the address of one endpoint of a Service's port.
type Resolver interface {
	ResolveEndpoint(namespace, name string, port int32) (*url.URL, error)
}

// Documents publishes the aggregated servers' OpenAPI v3 documents.
type Documents interface {
	// SetAggregated publishes doc at path, apis/GROUP/VERSION; RemoveAggregated
	// withdraws it.
	SetAggregated(path string, doc *spec3.OpenAPI)
	RemoveAggregated(path string)
}

// Aggregator proxies to aggregated API servers. Its zero value is not usable: use New.
type Aggregator struct {
	certPEM, keyPEM []byte
	resolver        Resolver
	docs            Documents // or nil
	log             *slog.Logger

	// targets are the proxied group versions; a new map replaces the old one.
	targets atomic.Pointer[map[schema.GroupVersion]*target]

	mu sync.Mutex
	// discovery is what each proxied group version's server said of it.
	discovery map[schema.GroupVersion]apidiscoveryv2.APIVersionDiscovery
	// etags are those of the OpenAPI documents published, by group version; only
	// refresh uses them.
	etags map[schema.GroupVersion]string
	dirty chan struct{}
}

// target is one APIService backed by a Service.
type target struct {
	svc       *apiregistrationv1.APIService
	available bool
	rt        http.RoundTripper // without the user's headers
	err       error             // building rt
}

// New returns an aggregator that authenticates with client (the front proxy's
// certificate), finds Services' endpoints with resolver and publishes the servers'
// OpenAPI documents to docs (nil for none).
func New(client tls.Certificate, resolver Resolver, docs Documents, log *slog.Logger) (*Aggregator, error) {
	if len(client.Certificate) == 0 || client.PrivateKey == nil {
		return nil, errors.New("the front proxy needs a client certificate")
	}
	keyPEM, err := keyPEM(client)
	if err != nil {
		return nil, err
	}
	a := &Aggregator{
		certPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: client.Certificate[0]}),
		keyPEM:    keyPEM,
		resolver:  resolver,
		docs:      docs,
		log:       log,
		discovery: map[schema.GroupVersion]apidiscoveryv2.APIVersionDiscovery{},
		etags:     map[schema.GroupVersion]string{},
		dirty:     make(chan struct{}, 1),
	}
	a.targets.Store(&map[schema.GroupVersion]*target{})
	return a, nil
}

// Update sets the APIServices: those with a Service are proxied from now on.
func (a *Aggregator) Update(services []*apiregistrationv1.APIService) {
	old := *a.targets.Load()
	next := map[schema.GroupVersion]*target{}
	changed := len(old) != 0
	for _, s := range services {
		if s.Spec.Service == nil || s.Spec.Service.Port == nil || s.Spec.Group == "" {
			continue
		}
		gv := schema.GroupVersion{Group: s.Spec.Group, Version: s.Spec.Version}
		t := &target{svc: s, available: helper.IsAPIServiceConditionTrue(s, apiregistrationv1.Available)}
		t.rt, t.err = transport.New(a.transportConfig(s))
		if t.err != nil {
			a.log.Warn("the transport to an aggregated API server", "apiservice", s.Name, "err", t.err)
		}
		next[gv] = t
		if prev := old[gv]; prev == nil || prev.available != t.available || prev.svc.ResourceVersion != s.ResourceVersion {
			changed = true
		}
	}
	if len(next) != len(old) {
		changed = true
	}
	a.targets.Store(&next)
	if changed {
		a.markDirty()
	}
}

func (a *Aggregator) markDirty() {
	select {
	case a.dirty <- struct{}{}:
	default:
	}
}

// transportConfig is how the proxy reaches an APIService's server, as upstream's.
func (a *Aggregator) transportConfig(s *apiregistrationv1.APIService) *transport.Config {
	return &transport.Config{TLS: transport.TLSConfig{
		Insecure:   s.Spec.InsecureSkipTLSVerify,
		ServerName: s.Spec.Service.Name + "." + s.Spec.Service.Namespace + ".svc",
		CertData:   a.certPEM,
		KeyData:    a.keyPEM,
		CAData:     s.Spec.CABundle,
	}}
}

// TransportConfig is how the proxy reaches an APIService's server; the availability
// check uses it too.
func (a *Aggregator) TransportConfig(s *apiregistrationv1.APIService) *transport.Config {
	return a.transportConfig(s)
}

// ClientCertificate returns the front proxy's certificate and key, PEM-encoded.
func (a *Aggregator) ClientCertificate() (certPEM, keyPEM []byte) { return a.certPEM, a.keyPEM }

// Proxies reports whether gv is served by an aggregated API server.
func (a *Aggregator) Proxies(gv schema.GroupVersion) bool {
	_, ok := (*a.targets.Load())[gv]
	return ok
}

// discoveryTimeout bounds a discovery request to an aggregated server, as upstream's.
const discoveryTimeout = 5 * time.Second

// Proxy sends r, a request of user u for group version gv, to its server.
func (a *Aggregator) Proxy(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion, u *auth.User) {
	t := (*a.targets.Load())[gv]
	switch {
	case t == nil:
		http.Error(w, "", http.StatusNotFound)
		return
	case !t.available:
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	case t.err != nil:
		http.Error(w, t.err.Error(), http.StatusInternalServerError)
		return
	}
	ref := t.svc.Spec.Service
	loc, err := a.resolver.ResolveEndpoint(ref.Namespace, ref.Name, *ref.Port)
	if err != nil {
		a.log.Debug("resolving an aggregated API server", "apiservice", t.svc.Name, "err", err)
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	loc = &url.URL{Scheme: "https", Host: loc.Host, Path: r.URL.Path, RawQuery: r.URL.Query().Encode()}
	ctx := r.Context()
	if len(strings.Split(strings.Trim(r.URL.Path, "/"), "/")) == 3 {
		// /apis/GROUP/VERSION: discovery, which must be quick.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, discoveryTimeout)
		defer cancel()
	}
	out := r.WithContext(ctx)
	out.Header = r.Header.Clone()
	out.URL, out.Host = loc, loc.Host
	// The server learns the user from the headers only; the client's credentials and
	// its impersonation, both already spent here, do not travel on.
	out.Header.Del("Authorization")
	for k := range out.Header {
		if strings.HasPrefix(strings.ToLower(k), "impersonate-") {
			out.Header.Del(k)
		}
	}
	upgrade := httpstream.IsUpgradeRequest(r)
	rt := transport.NewAuthProxyRoundTripper(u.Name, u.UID, u.Groups, u.Extra, t.rt)
	if upgrade {
		// An upgrade dials directly, without the round tripper that sets the headers.
		transport.SetAuthProxyHeaders(out, u.Name, u.UID, u.Groups, u.Extra)
	}
	h := proxy.NewUpgradeAwareHandler(loc, rt, true, upgrade, responder{w: w})
	// A redirect from the server is not passed on (upstream's default since
	// CVE-2022-3172: it could send the client's credentials elsewhere).
	h.RejectForwardingRedirects = true
	h.ServeHTTP(w, out)
}

// responder answers a failed proxy as upstream's: 503 with the error.
type responder struct{ w http.ResponseWriter }

func (r responder) Error(_ http.ResponseWriter, _ *http.Request, err error) {
	http.Error(r.w, err.Error(), http.StatusServiceUnavailable)
}

// Groups returns the legacy discovery of the aggregated groups, by group priority.
func (a *Aggregator) Groups() []metav1.APIGroup {
	var out []metav1.APIGroup
	for _, services := range a.byGroup() {
		g := metav1.APIGroup{Name: services[0].Spec.Group}
		for _, s := range services {
			v := metav1.GroupVersionForDiscovery{GroupVersion: s.Spec.Group + "/" + s.Spec.Version, Version: s.Spec.Version}
			g.Versions = append(g.Versions, v)
		}
		g.PreferredVersion = g.Versions[0]
		out = append(out, g)
	}
	return out
}

// byGroup returns the proxied APIServices by group, the groups and each group's
// versions by priority (upstream's order).
func (a *Aggregator) byGroup() [][]*apiregistrationv1.APIService {
	var services []*apiregistrationv1.APIService
	for _, t := range *a.targets.Load() {
		services = append(services, t.svc)
	}
	return helper.SortedByGroupAndVersion(services)
}

// Discovery returns the aggregated discovery of the aggregated groups: what their
// servers said, stale for those that did not answer.
func (a *Aggregator) Discovery() []apidiscoveryv2.APIGroupDiscovery {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []apidiscoveryv2.APIGroupDiscovery
	for _, services := range a.byGroup() {
		g := apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: services[0].Spec.Group}}
		for _, s := range services {
			gv := schema.GroupVersion{Group: s.Spec.Group, Version: s.Spec.Version}
			v, ok := a.discovery[gv]
			if !ok {
				v = apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessStale}
			}
			g.Versions = append(g.Versions, v)
		}
		out = append(out, g)
	}
	return out
}

// discoveryRefresh is how often the aggregated servers' discovery is fetched again,
// as upstream's.
const discoveryRefresh = time.Minute

// Run keeps the aggregated servers' discovery until ctx ends: fetched again when the
// APIServices change and every minute.
func (a *Aggregator) Run(ctx context.Context) {
	tick := time.NewTicker(discoveryRefresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.dirty:
		case <-tick.C:
		}
		a.refresh(ctx)
	}
}

// refresh fetches the discovery of every proxied group version.
func (a *Aggregator) refresh(ctx context.Context) {
	targets := *a.targets.Load()
	found := map[schema.GroupVersion]apidiscoveryv2.APIVersionDiscovery{}
	for gv, t := range targets {
		v, err := a.fetch(ctx, gv, t)
		if err != nil {
			a.log.Debug("the discovery of an aggregated API server", "apiservice", t.svc.Name, "err", err)
			v = apidiscoveryv2.APIVersionDiscovery{Version: gv.Version}
			a.mu.Lock()
			if prev, ok := a.discovery[gv]; ok {
				v = prev // what it said last time, now stale
			}
			a.mu.Unlock()
			v.Freshness = apidiscoveryv2.DiscoveryFreshnessStale
		} else {
			v.Freshness = apidiscoveryv2.DiscoveryFreshnessCurrent
		}
		found[gv] = v
	}
	a.mu.Lock()
	a.discovery = found
	a.mu.Unlock()
	a.refreshDocuments(ctx, targets)
}

// refreshDocuments publishes the OpenAPI v3 document of each available proxied group
// version, fetched again when its server's has changed, and withdraws those of group
// versions no longer proxied. A server that does not answer keeps what it published.
func (a *Aggregator) refreshDocuments(ctx context.Context, targets map[schema.GroupVersion]*target) {
	if a.docs == nil {
		return
	}
	for gv := range a.etags {
		if _, ok := targets[gv]; !ok {
			a.docs.RemoveAggregated(documentPath(gv))
			delete(a.etags, gv)
		}
	}
	for gv, t := range targets {
		if !t.available {
			continue
		}
		doc, etag, err := a.fetchDocument(ctx, gv, a.etags[gv])
		switch {
		case err != nil:
			a.log.Debug("the OpenAPI document of an aggregated API server", "apiservice", t.svc.Name, "err", err)
		case doc != nil:
			a.docs.SetAggregated(documentPath(gv), doc)
			a.etags[gv] = etag
		}
	}
}

func documentPath(gv schema.GroupVersion) string { return "apis/" + gv.Group + "/" + gv.Version }

// fetchDocument gets gv's OpenAPI v3 document from its server: nil when it has not
// changed since etag.
func (a *Aggregator) fetchDocument(ctx context.Context, gv schema.GroupVersion, etag string) (*spec3.OpenAPI, string, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	path := "/openapi/v3/" + documentPath(gv)
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, "", err
	}
	r.Header.Set("Accept", "application/json")
	if etag != "" {
		r.Header.Set("If-None-Match", etag)
	}
	rec := newRecorder()
	a.Proxy(rec, r, gv, aggregatorUser)
	switch rec.code {
	case http.StatusNotModified:
		return nil, etag, nil
	case http.StatusOK:
	default:
		return nil, "", fmt.Errorf("GET %s: %d", path, rec.code)
	}
	doc := &spec3.OpenAPI{}
	if err := decodeJSON(rec.body.Bytes(), doc); err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", path, err)
	}
	return doc, rec.header.Get("Etag"), nil
}

// errUnavailable is a server that is not available: its discovery is stale, without
// another try.
var errUnavailable = errors.New("service unavailable")

// aggregatorUser is who the aggregator's own requests come from, as upstream's.
var aggregatorUser = &auth.User{Name: "system:kube-aggregator", Groups: []string{"system:masters"}}

// fetch asks gv's server for gv's discovery: its aggregated discovery, or else (a
// server that does not serve it) its resource list, as upstream's.
func (a *Aggregator) fetch(ctx context.Context, gv schema.GroupVersion, t *target) (apidiscoveryv2.APIVersionDiscovery, error) {
	list := &apidiscoveryv2.APIGroupDiscoveryList{}
	ct, err := a.get(ctx, gv, "/apis", acceptAggregated, list)
	if errors.Is(err, errUnavailable) {
		return apidiscoveryv2.APIVersionDiscovery{}, err
	}
	if err == nil && isAggregated(ct) {
		for _, g := range list.Items {
			if g.Name != gv.Group {
				continue
			}
			for _, v := range g.Versions {
				if v.Version == gv.Version {
					return v, nil
				}
			}
		}
		return apidiscoveryv2.APIVersionDiscovery{Version: gv.Version}, nil
	}
	resources := &metav1.APIResourceList{}
	if _, err := a.get(ctx, gv, "/apis/"+gv.Group+"/"+gv.Version, "application/json", resources); err != nil {
		return apidiscoveryv2.APIVersionDiscovery{}, err
	}
	converted, err := convertResources(resources.APIResources)
	if err != nil {
		return apidiscoveryv2.APIVersionDiscovery{}, err
	}
	return apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Resources: converted}, nil
}

// acceptAggregated asks for aggregated discovery, taking the legacy group list too.
const acceptAggregated = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"

func isAggregated(contentType string) bool {
	return strings.Contains(contentType, "g=apidiscovery.k8s.io") && strings.Contains(contentType, "as=APIGroupDiscoveryList")
}

// get proxies a GET of path as the aggregator and decodes the answer into into,
// returning its Content-Type.
func (a *Aggregator) get(ctx context.Context, gv schema.GroupVersion, path, accept string, into any) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return "", err
	}
	r.Header.Set("Accept", accept)
	rec := newRecorder()
	a.Proxy(rec, r, gv, aggregatorUser)
	if rec.code == http.StatusServiceUnavailable {
		return "", fmt.Errorf("GET %s: %w", path, errUnavailable)
	}
	if rec.code != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %s", path, rec.code, strings.TrimSpace(rec.body.String()))
	}
	ct := rec.header.Get("Content-Type")
	if strings.Contains(path, "/apis/") || isAggregated(ct) {
		if err := decodeJSON(rec.body.Bytes(), into); err != nil {
			return "", fmt.Errorf("GET %s: %w", path, err)
		}
	}
	return ct, nil
}
