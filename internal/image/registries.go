package image

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"sigs.k8s.io/yaml"
)

// registriesFile is k3s's registries.yaml:
//
//	mirrors:
//	  docker.io:                      # a registry host, or "*" for every registry
//	    endpoint: ["http://127.0.0.1:5000", "https://mirror.example.com/v2/hub"]
//	    rewrite: {"^library/(.*)": "mirrored/$1"}   # applied on mirrors only
//	configs:
//	  "127.0.0.1:5000":               # an endpoint or registry host
//	    auth: {username: u, password: p}            # or auth (base64 u:p) or identity_token
//	    tls: {ca_file: ..., cert_file: ..., key_file: ..., insecure_skip_verify: true}
//
// Mirror endpoints are tried in order and then the registry itself (its "default
// endpoint": https://<host>, or Docker Hub for docker.io).
type registriesFile struct {
	Mirrors map[string]mirrorConfig `json:"mirrors"`
	Configs map[string]hostConfig   `json:"configs"`
}

type mirrorConfig struct {
	Endpoints []string          `json:"endpoint"`
	Rewrites  map[string]string `json:"rewrite"`
}

type hostConfig struct {
	Auth *hostAuth `json:"auth"`
	TLS  *hostTLS  `json:"tls"`
}

type hostAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identity_token"`
}

type hostTLS struct {
	CAFile             string `json:"ca_file"`
	CertFile           string `json:"cert_file"`
	KeyFile            string `json:"key_file"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify"`
}

// registries resolves references to the endpoints to pull them from.
type registries struct {
	file registriesFile

	mu         sync.Mutex                   // guards transports
	transports map[string]http.RoundTripper // by endpoint host
}

func loadRegistries(path string) (*registries, error) {
	r := &registries{transports: map[string]http.RoundTripper{}}
	if path == "" {
		return r, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registries file: %w", err)
	}
	if err := yaml.Unmarshal(b, &r.file); err != nil {
		return nil, fmt.Errorf("registries file %s: %w", path, err)
	}
	for host, m := range r.file.Mirrors {
		for _, e := range m.Endpoints {
			if _, err := parseEndpoint(e); err != nil {
				return nil, fmt.Errorf("registries file %s: mirror %q: %w", path, host, err)
			}
		}
		for pattern := range m.Rewrites {
			if _, err := regexp.Compile(pattern); err != nil {
				return nil, fmt.Errorf("registries file %s: mirror %q: rewrite %q: %w", path, host, pattern, err)
			}
		}
	}
	return r, nil
}

// endpoint is one place to pull an image from.
type endpoint struct {
	url      *url.URL // scheme and host; a path replaces the registry API's "/v2"
	mirror   bool     // from registries.yaml, rather than the registry itself
	rewrites map[string]string
	config   hostConfig
}

func parseEndpoint(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("endpoint %q: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("endpoint %q: scheme must be http or https", s)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("endpoint %q: no host", s)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if u.Path == "/v2" {
		u.Path = ""
	}
	u.RawPath = ""
	return u, nil
}

// endpoints lists where to pull ref from, in order: the mirrors registries.yaml gives
// for its registry (or for "*"), then the registry itself.
func (r *registries) endpoints(ref imageRef) []endpoint {
	host := ref.domain()
	keys := []string{host}
	if host == "docker.io" {
		keys = append(keys, name.DefaultRegistry)
	}
	keys = append(keys, "*")
	var out []endpoint
	defaultHost := host
	if host == "docker.io" {
		defaultHost = name.DefaultRegistry
	}
	sawDefault := false
	for _, k := range keys {
		m, ok := r.file.Mirrors[k]
		if !ok || len(m.Endpoints) == 0 {
			continue
		}
		for _, e := range m.Endpoints {
			u, err := parseEndpoint(e)
			if err != nil {
				continue // checked at load
			}
			ep := endpoint{url: u, mirror: true, rewrites: m.Rewrites, config: r.config(u.Host, host)}
			if u.Host == defaultHost || u.Host == host {
				// The registry itself listed as a mirror: no rewrites on it.
				ep.mirror, ep.rewrites = false, nil
				sawDefault = true
			}
			out = append(out, ep)
		}
		break
	}
	if !sawDefault {
		out = append(out, endpoint{
			url:    &url.URL{Scheme: "https", Host: defaultHost},
			config: r.config(defaultHost, host),
		})
	}
	return out
}

// config is the registries.yaml config of an endpoint host, else of the registry.
func (r *registries) config(endpointHost, registryHost string) hostConfig {
	if c, ok := r.file.Configs[endpointHost]; ok {
		return c
	}
	if registryHost == "docker.io" {
		if c, ok := r.file.Configs[name.DefaultRegistry]; ok {
			return c
		}
	}
	return r.file.Configs[registryHost]
}

// insecure tells whether plain http may be used: the endpoint says http://, or its
// TLS is not verified anyway.
func (e endpoint) insecure() bool {
	return e.url.Scheme == "http" || (e.config.TLS != nil && e.config.TLS.InsecureSkipVerify)
}

// reference is ref as go-containerregistry should fetch it from this endpoint.
func (e endpoint) reference(ref imageRef) (name.Reference, error) {
	repo := ref.path()
	if e.mirror {
		repo = rewrite(repo, e.rewrites)
	}
	var opts []name.Option
	if e.insecure() {
		opts = append(opts, name.Insecure)
	}
	if ref.digest != "" {
		return name.NewDigest(e.url.Host+"/"+repo+"@"+ref.digest, opts...)
	}
	return name.NewTag(e.url.Host+"/"+repo+":"+ref.tag, opts...)
}

// rewrite applies the first matching rewrite, trying patterns in sorted order.
func rewrite(repo string, rewrites map[string]string) string {
	patterns := make([]string, 0, len(rewrites))
	for p := range rewrites {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	for _, p := range patterns {
		re, err := regexp.Compile(p)
		if err != nil {
			continue
		}
		if out := re.ReplaceAllString(repo, rewrites[p]); out != repo {
			return out
		}
	}
	return repo
}

// authenticator picks the credentials for an endpoint: the kubelet's (CRI) for the
// registry itself, or for any endpoint when they name no server or this one; else
// those of registries.yaml; else none. A mirror's own registries.yaml credentials
// win over the kubelet's, which were chosen for the upstream registry.
func (e endpoint) authenticator(auth *runtimeapi.AuthConfig) authn.Authenticator {
	cri := criAuth(auth, e.url.Host)
	if e.mirror && e.config.Auth != nil {
		cri = nil
	}
	if cri != nil {
		return cri
	}
	if a := e.config.Auth; a != nil {
		return authn.FromConfig(authn.AuthConfig{
			Username: a.Username, Password: a.Password, Auth: a.Auth, IdentityToken: a.IdentityToken,
		})
	}
	return authn.Anonymous
}

func criAuth(auth *runtimeapi.AuthConfig, host string) authn.Authenticator {
	if auth == nil {
		return nil
	}
	cfg := authn.AuthConfig{
		Username:      auth.GetUsername(),
		Password:      auth.GetPassword(),
		Auth:          auth.GetAuth(),
		IdentityToken: auth.GetIdentityToken(),
		RegistryToken: auth.GetRegistryToken(),
	}
	if cfg == (authn.AuthConfig{}) {
		return nil
	}
	if srv := auth.GetServerAddress(); srv != "" && !sameHost(srv, host) {
		return nil
	}
	return authn.FromConfig(cfg)
}

// sameHost compares a server address as the kubelet gives it ("https://host/v1/",
// "host:port") with an endpoint host; Docker Hub goes by several names.
func sameHost(server, host string) bool {
	h := server
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		h = u.Host
	} else if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	hub := func(s string) bool {
		return s == "docker.io" || s == name.DefaultRegistry || s == "registry-1.docker.io"
	}
	return h == host || (hub(h) && hub(host))
}

// transport returns the HTTP transport of an endpoint: its TLS settings, plain http
// when the endpoint says so, and its path in place of "/v2".
func (r *registries) transport(e endpoint) (http.RoundTripper, error) {
	key := e.url.Scheme + "://" + e.url.Host + e.url.Path
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.transports[key]; ok {
		return t, nil
	}
	base := remote.DefaultTransport.(*http.Transport).Clone()
	if c := e.config.TLS; c != nil {
		tc := &tls.Config{InsecureSkipVerify: c.InsecureSkipVerify}
		if (c.CertFile == "") != (c.KeyFile == "") {
			return nil, fmt.Errorf("registry %s: tls needs both cert_file and key_file", e.url.Host)
		}
		if c.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("registry %s: %w", e.url.Host, err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		if c.CAFile != "" {
			pool, err := x509.SystemCertPool()
			if err != nil {
				pool = x509.NewCertPool()
			}
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("registry %s: %w", e.url.Host, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("registry %s: no certificate in %s", e.url.Host, c.CAFile)
			}
			tc.RootCAs = pool
		}
		base.TLSClientConfig = tc
	}
	var t http.RoundTripper = base
	if e.url.Scheme == "http" || e.url.Path != "" {
		t = &endpointTransport{next: base, host: e.url.Host, plain: e.url.Scheme == "http", path: e.url.Path}
	}
	r.transports[key] = t
	return t, nil
}

// endpointTransport rewrites requests to one host: plain http, and a path prefix in
// place of "/v2". Requests to other hosts (token services) pass unchanged.
type endpointTransport struct {
	next  http.RoundTripper
	host  string
	plain bool
	path  string
}

func (t *endpointTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Host != t.host {
		return t.next.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	if t.plain {
		req.URL.Scheme = "http"
	}
	if t.path != "" && (req.URL.Path == "/v2" || strings.HasPrefix(req.URL.Path, "/v2/")) {
		req.URL.Path = t.path + strings.TrimPrefix(req.URL.Path, "/v2")
		req.URL.RawPath = ""
	}
	return t.next.RoundTrip(req)
}
