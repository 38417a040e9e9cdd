package apiserver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sort"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/fieldmanager"
	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/storage"
)

// Config is what the API server is built from.
type Config struct {
	Store      *storage.Store
	Scheme     *runtime.Scheme
	Strategies []registry.Strategy
	// Authenticator identifies the user of each request; nil admits nobody.
	Authenticator auth.Authenticator
	// Authorizer decides what an authenticated user may do; nil allows everything.
	Authorizer auth.Authorizer
	// OpenAPI, when set, installs /openapi/v2 and /openapi/v3.
	OpenAPI interface{ Install(*http.ServeMux) }
	Version version.Info
	Clock   clock.PassiveClock
	Logger  *slog.Logger
	// BookmarkInterval is how often watchers that asked for bookmarks get one.
	BookmarkInterval time.Duration
	// MaxReadOnlyInFlight, MaxMutatingInFlight and MaxAnonymousInFlight bound the
	// requests served at once (reads, writes, and those of unauthenticated clients);
	// beyond them a request gets 429. Zero takes upstream's defaults (400 and 200) and
	// podium's 40 for the unauthenticated.
	MaxReadOnlyInFlight, MaxMutatingInFlight, MaxAnonymousInFlight int
	// WatchWriteTimeout ends a watch whose client has not taken an event within it
	// (default 30s), so that a client that stops reading holds nothing for long.
	WatchWriteTimeout time.Duration
	// WriteGuard, when set, is asked before every create, update and patch; its error
	// (say, a data directory that is full) is the answer instead. Deletes, which free
	// space, and reads are never refused.
	WriteGuard func() error

	// Node agents: pods/log, exec, attach and portforward, and nodes/proxy, are
	// proxied to the agent on the pod's node, at its Node's InternalIP and
	// status.daemonEndpoints.kubeletEndpoint port, over HTTPS. Both seams take the
	// node's name: the server authenticates itself with a client certificate and
	// accepts only that node's serving certificate, so that a Node's status cannot
	// send the server's requests to a listener of another's choosing. With either unset
	// those subresources answer 503 "no node agent is reachable".
	//
	// NodeTransport returns the transport to node's agent, for plain requests (logs).
	NodeTransport func(node string) http.RoundTripper
	// NodeDialer opens a connection to node's agent at addr (host:port) for an upgrade
	// (exec, attach, portforward): a TLS connection, handshake done and the peer
	// checked, ready for HTTP/1.1.
	NodeDialer func(ctx context.Context, node, addr string) (net.Conn, error)

	// ServiceAccountTokens, when set, serves serviceaccounts/token, TokenReview and the
	// issuer discovery; APIAudiences are the audiences of the API server's own tokens.
	ServiceAccountTokens ServiceAccountTokens
	APIAudiences         []string

	// ReadOnly are resources served from memory, for get and list only (the resource
	// metrics of metrics.k8s.io); their group versions are served as built-in ones.
	ReadOnly []ReadOnlyResource
}

// resource is one served group/version/resource with its strategy.
type resource struct {
	info     registry.Info
	strategy registry.Strategy
	conv     registry.Converter // nil unless stored in another form
	cache    *storage.Cache
	// fieldKeys are the field-selector keys the resource supports.
	fieldKeys map[string]bool
	// admit, when set, takes part in creates and updates (Admit).
	admit Admitter
	// custom marks the resources of custom resource definitions: unstructured objects,
	// served as JSON and YAML only; terminating ones refuse creates.
	custom, terminating bool
}

// Admitter takes part in the writes of one resource with what needs cluster state, such
// as allocating a Service's cluster IP: it may change the object, or refuse it with an
// API error. It runs after the strategy's Prepare step, before defaulting and validation,
// and must be safe for concurrent use.
type Admitter interface {
	AdmitCreate(ctx context.Context, obj runtime.Object) error
	AdmitUpdate(ctx context.Context, obj, old runtime.Object) error
}

// SubresourceAdmitter is implemented by Admitters that also check writes through status
// or a subresource written with registry.SubresourceWriter (pods' resize against the
// node's allocatable resources, a request's approval against the approver's rights).
// It runs once the write is defaulted and valid, as upstream's validating admission
// does, and may only refuse it.
type SubresourceAdmitter interface {
	AdmitSubresourceUpdate(ctx context.Context, subresource string, obj, old runtime.Object) error
}

// DeleteAdmitter is implemented by Admitters that also check deletes (webhooks and
// policies registered for DELETE). It gets the object as stored before the delete.
type DeleteAdmitter interface {
	AdmitDelete(ctx context.Context, old runtime.Object, opts *metav1.DeleteOptions) error
}

// ConnectAdmitter is implemented by Admitters that also check CONNECTs to a
// subresource (pods' exec, attach and portforward); opts are the request's options
// (a PodExecOptions, say).
type ConnectAdmitter interface {
	AdmitConnect(ctx context.Context, subresource, namespace, name string, opts runtime.Object) error
}

// ValidatingAdmitter is implemented by Admitters with a validating phase, as upstream's
// validating admission: it runs once every admitter's mutating phase (AdmitCreate,
// AdmitUpdate) is done and the object is defaulted and valid, just before it is stored,
// so that it judges the object as stored.
type ValidatingAdmitter interface {
	ValidateCreate(ctx context.Context, obj runtime.Object) error
	ValidateUpdate(ctx context.Context, obj, old runtime.Object) error
}

// Admitters runs several admitters of one resource in order; the first refusal ends the
// write.
type Admitters []Admitter

var (
	_ SubresourceAdmitter = Admitters(nil)
	_ ValidatingAdmitter  = Admitters(nil)
)

// ValidateCreate runs the validating phase of the admitters that have one.
func (as Admitters) ValidateCreate(ctx context.Context, obj runtime.Object) error {
	for _, a := range as {
		if va, ok := a.(ValidatingAdmitter); ok {
			if err := va.ValidateCreate(ctx, obj); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValidateUpdate runs the validating phase of the admitters that have one.
func (as Admitters) ValidateUpdate(ctx context.Context, obj, old runtime.Object) error {
	for _, a := range as {
		if va, ok := a.(ValidatingAdmitter); ok {
			if err := va.ValidateUpdate(ctx, obj, old); err != nil {
				return err
			}
		}
	}
	return nil
}

// AdmitCreate implements Admitter.
func (as Admitters) AdmitCreate(ctx context.Context, obj runtime.Object) error {
	for _, a := range as {
		if err := a.AdmitCreate(ctx, obj); err != nil {
			return err
		}
	}
	return nil
}

// AdmitUpdate implements Admitter.
func (as Admitters) AdmitUpdate(ctx context.Context, obj, old runtime.Object) error {
	for _, a := range as {
		if err := a.AdmitUpdate(ctx, obj, old); err != nil {
			return err
		}
	}
	return nil
}

// AdmitDelete runs the admitters that check deletes.
func (as Admitters) AdmitDelete(ctx context.Context, old runtime.Object, opts *metav1.DeleteOptions) error {
	for _, a := range as {
		if da, ok := a.(DeleteAdmitter); ok {
			if err := da.AdmitDelete(ctx, old, opts); err != nil {
				return err
			}
		}
	}
	return nil
}

// AdmitConnect runs the admitters that check CONNECTs.
func (as Admitters) AdmitConnect(ctx context.Context, subresource, namespace, name string, opts runtime.Object) error {
	for _, a := range as {
		if ca, ok := a.(ConnectAdmitter); ok {
			if err := ca.AdmitConnect(ctx, subresource, namespace, name, opts); err != nil {
				return err
			}
		}
	}
	return nil
}

// AdmitSubresourceUpdate runs the admitters that take part in subresource writes.
func (as Admitters) AdmitSubresourceUpdate(ctx context.Context, subresource string, obj, old runtime.Object) error {
	for _, a := range as {
		if sa, ok := a.(SubresourceAdmitter); ok {
			if err := sa.AdmitSubresourceUpdate(ctx, subresource, obj, old); err != nil {
				return err
			}
		}
	}
	return nil
}

// newStored returns an empty object of the stored kind.
func (res *resource) newStored() runtime.Object {
	if res.conv != nil {
		return res.conv.NewStorage()
	}
	return res.strategy.New()
}

func (res *resource) groupResource() schema.GroupResource {
	return schema.GroupResource{Group: res.info.Group, Resource: res.info.Resource}
}

func (res *resource) storageResource() string {
	if res.info.StorageResource != "" {
		return res.info.StorageResource
	}
	return res.info.Resource
}

func (res *resource) key(namespace, name string) string {
	if !res.info.Namespaced {
		namespace = ""
	}
	return storage.Key(res.storageResource(), namespace, name)
}

func (res *resource) prefix(namespace string) string {
	if !res.info.Namespaced {
		namespace = ""
	}
	return storage.Prefix(res.storageResource(), namespace)
}

// toExternal converts a stored object into the resource's served form.
func (res *resource) toExternal(obj runtime.Object) (runtime.Object, error) {
	if res.conv == nil {
		return obj, nil
	}
	return res.conv.FromStorage(obj)
}

// toStored converts a served object into its stored form.
func (res *resource) toStored(obj runtime.Object) (runtime.Object, error) {
	if res.conv == nil {
		return obj, nil
	}
	return res.conv.ToStorage(obj)
}

// Server is the API server. Run starts its caches; Handler serves requests.
type Server struct {
	cfg    Config
	codecs *codecs
	// builtin is what the server is built to serve; cat adds to it the resources of
	// custom resource definitions (custom.go), replaced whole on every change.
	builtin  *catalog
	cat      atomic.Pointer[catalog]
	custom   customResources
	caches   map[string]*storage.Cache // by storage resource, built-in ones
	mux      *http.ServeMux
	metrics  *metrics
	inFlight *inFlight
	clock    clock.PassiveClock
	log      *slog.Logger
	ready    atomic.Bool // set by MarkReady
	fields   *fieldmanager.Managers
	agg      Aggregator // set by Aggregate, or nil
	// readOnly are Config.ReadOnly by name; fixed once New returns.
	readOnly map[schema.GroupVersionResource]ReadOnlyResource
}

// New builds an API server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	limitJSONPatchCopies()
	if cfg.BookmarkInterval == 0 {
		cfg.BookmarkInterval = time.Minute
	}
	if cfg.WatchWriteTimeout == 0 {
		cfg.WatchWriteTimeout = 30 * time.Second
	}
	s := &Server{
		cfg:      cfg,
		codecs:   newCodecs(cfg.Scheme),
		builtin:  &catalog{resources: map[schema.GroupVersionResource]*resource{}},
		caches:   map[string]*storage.Cache{},
		custom:   customResources{defs: map[string]*customDefinition{}, caches: map[string]*customCache{}},
		clock:    cfg.Clock,
		log:      cfg.Logger,
		metrics:  newMetrics(),
		inFlight: newInFlight(cfg.MaxReadOnlyInFlight, cfg.MaxMutatingInFlight, cfg.MaxAnonymousInFlight),
		fields:   fieldmanager.New(cfg.Scheme),
		readOnly: map[schema.GroupVersionResource]ReadOnlyResource{},
	}
	s.fields.Warm()
	seen := map[schema.GroupVersion]bool{}
	for _, st := range cfg.Strategies {
		info := st.Info()
		res := &resource{info: info, strategy: st, fieldKeys: map[string]bool{}}
		if conv, ok := st.(registry.Converter); ok {
			res.conv = conv
		}
		for k := range st.Fields(st.New()) {
			res.fieldKeys[k] = true
		}
		gvr := info.GroupVersionResource()
		if _, dup := s.builtin.resources[gvr]; dup {
			return nil, fmt.Errorf("resource %v registered twice", gvr)
		}
		s.builtin.resources[gvr] = res
		if !seen[info.GroupVersion()] {
			seen[info.GroupVersion()] = true
			s.builtin.groups = append(s.builtin.groups, info.GroupVersion())
		}
	}
	// Resources sharing storage share one cache, made by the one that stores its own
	// kind (no converter).
	for _, res := range s.builtin.resources {
		if res.conv == nil {
			sr := res.storageResource()
			s.caches[sr] = storage.NewCache(cfg.Store, storage.Prefix(sr, ""), res.newStored, 8192)
		}
	}
	for gvr, res := range s.builtin.resources {
		res.cache = s.caches[res.storageResource()]
		if res.cache == nil {
			return nil, fmt.Errorf("resource %v is stored as %q, which nothing serves", gvr, res.storageResource())
		}
	}
	for _, rv := range reviews {
		if !seen[rv.gv] {
			seen[rv.gv] = true
			s.builtin.groups = append(s.builtin.groups, rv.gv)
		}
	}
	for _, ro := range cfg.ReadOnly {
		info := ro.Info()
		gvr := info.GroupVersionResource()
		if _, dup := s.builtin.resources[gvr]; dup || s.readOnly[gvr] != nil {
			return nil, fmt.Errorf("resource %v registered twice", gvr)
		}
		s.readOnly[gvr] = ro
		if !seen[info.GroupVersion()] {
			seen[info.GroupVersion()] = true
			s.builtin.groups = append(s.builtin.groups, info.GroupVersion())
		}
	}
	sort.SliceStable(s.builtin.groups, func(i, j int) bool {
		return s.builtin.groups[i].Group == "" && s.builtin.groups[j].Group != ""
	})
	s.cat.Store(s.builtin)
	s.mux = s.routes()
	return s, nil
}

// Run fills the watch caches and keeps them following etcd until ctx ends. It returns
// once every cache holds a complete list, or ctx ends.
func (s *Server) Run(ctx context.Context) error {
	s.custom.mu.Lock()
	s.custom.ctx = ctx
	s.custom.mu.Unlock()
	for _, c := range s.caches {
		go c.Run(ctx)
	}
	go s.sendBookmarks(ctx)
	for name, c := range s.caches {
		select {
		case <-c.Ready():
		case <-ctx.Done():
			return fmt.Errorf("filling the %s cache: %w", name, ctx.Err())
		}
	}
	return nil
}

func (s *Server) sendBookmarks(ctx context.Context) {
	t := time.NewTicker(s.cfg.BookmarkInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, c := range s.caches {
				c.Bookmark()
			}
			for _, c := range s.customCaches() {
				c.Bookmark()
			}
		}
	}
}

// Handler returns the HTTP handler of the whole API, authentication included.
func (s *Server) Handler() http.Handler {
	return s.recoverPanics(s.authenticate(s.guardWrites(s.mux)))
}

// recoverPanics answers a request whose handler panicked with 500, as upstream, and logs
// the stack: one odd request must cost nothing but its own answer. An aborted handler
// (http.ErrAbortHandler) stays aborted.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			switch {
			case rec == nil:
				return
			case rec == http.ErrAbortHandler:
				panic(rec)
			}
			s.log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", rec, "stack", string(debug.Stack()))
			s.writeError(w, r, apierrors.NewInternalError(fmt.Errorf("the server panicked serving this request: %v", rec)), schema.GroupResource{}, "")
		}()
		next.ServeHTTP(w, r)
	})
}

// guardWrites answers creates, updates and patches with WriteGuard's error, if any.
func (s *Server) guardWrites(next http.Handler) http.Handler {
	if s.cfg.WriteGuard == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch:
			if s.inFlight.pool(r) != nil { // not exec, attach, port-forward or proxy
				if err := s.cfg.WriteGuard(); err != nil {
					s.writeError(w, r, err, schema.GroupResource{}, "")
					return
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// Admit makes a take part in the writes of every served version of gr. Call it before Run.
func (s *Server) Admit(gr schema.GroupResource, a Admitter) {
	for gvr, res := range s.builtin.resources {
		if gvr.GroupResource() == gr {
			res.admit = a
		}
	}
}

// AlsoAdmit adds a to what admits writes of a resource, after the admitters it has.
func (s *Server) AlsoAdmit(gr schema.GroupResource, a Admitter) {
	for gvr, res := range s.builtin.resources {
		if gvr.GroupResource() == gr {
			if res.admit == nil {
				res.admit = a
			} else {
				res.admit = Admitters{res.admit, a}
			}
		}
	}
}

// Cached returns the objects of a resource as the watch cache holds them, in stored
// form. They are shared: callers must not modify them.
func (s *Server) Cached(gr schema.GroupResource) []runtime.Object {
	return s.CachedIn(gr, "")
}

// CachedIn is Cached for the objects of one namespace ("" for all).
func (s *Server) CachedIn(gr schema.GroupResource, namespace string) []runtime.Object {
	res := s.resourceFor(gr)
	if res == nil {
		return nil
	}
	items, _, err := res.cache.List(context.Background(), res.prefix(namespace), 0, nil)
	if err != nil {
		return nil
	}
	return items
}

// CachedObject returns one object of a resource as the watch cache holds it, in stored
// form, shared as Cached's; false when there is none.
func (s *Server) CachedObject(gr schema.GroupResource, namespace, name string) (runtime.Object, bool) {
	res := s.resourceFor(gr)
	if res == nil {
		return nil, false
	}
	return res.cache.Get(res.key(namespace, name))
}

// CacheGeneration counts the changes of a resource's watch cache (storage.Cache's
// Generation); 0 when the resource is not served.
func (s *Server) CacheGeneration(gr schema.GroupResource) uint64 {
	res := s.resourceFor(gr)
	if res == nil {
		return 0
	}
	return res.cache.Generation()
}

// lookup finds the served resource a request names.
func (s *Server) lookup(ri requestInfo) (*resource, bool) {
	res, ok := s.cat.Load().resources[schema.GroupVersionResource{Group: ri.Group, Version: ri.Version, Resource: ri.Resource}]
	return res, ok
}

// resourceFor finds a served resource by group and resource name, any version.
func (s *Server) resourceFor(gr schema.GroupResource) *resource {
	for gvr, res := range s.cat.Load().resources {
		if gvr.GroupResource() == gr {
			return res
		}
	}
	return nil
}
