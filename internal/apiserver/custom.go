package apiserver

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/storage"
)

// catalog is what the server serves at one moment. A published catalog is never
// changed: a change publishes a new one.
type catalog struct {
	resources map[schema.GroupVersionResource]*resource
	// groups are the served group versions: the core group, the built-in groups, then
	// the custom ones by name with their versions by upstream's version priority.
	groups []schema.GroupVersion
}

// customResources are the resources of the served custom resource definitions.
type customResources struct {
	mu     sync.Mutex
	ctx    context.Context // the server's run, which the caches follow
	admit  func(registry.Info) Admitter
	defs   map[string]*customDefinition // by definition name
	caches map[string]*customCache      // by storage resource
	// bookmarks lists the caches for sendBookmarks.
	bookmarks []*storage.Cache
	// watchers are signalled on each change of the served resources.
	watchers []chan struct{}
}

type customDefinition struct {
	storage     string
	resources   []*resource
	terminating bool
}

type customCache struct {
	cache *storage.Cache
	stop  context.CancelFunc
}

// terminatingError refuses a create while the definition's objects are being deleted.
func terminatingError(res *resource) error {
	err := apierrors.NewMethodNotSupported(res.groupResource(), "create")
	err.ErrStatus.Message = "create not allowed while custom resource definition is terminating"
	return err
}

// AdmitCustom sets what admits the writes of custom resources: admit returns the
// admitter of a resource (nil for none). Call it before Run.
func (s *Server) AdmitCustom(admit func(registry.Info) Admitter) { s.custom.admit = admit }

// ServeCustom serves the resources of custom resource definition name, one strategy per
// served version, stored under the storage resource storageResource; it replaces what
// was served for name. While terminating, creates are refused. The watch cache of a
// storage resource is kept while any definition uses it.
func (s *Server) ServeCustom(name, storageResource string, strats []registry.Strategy, terminating bool) error {
	s.custom.mu.Lock()
	defer s.custom.mu.Unlock()
	if s.custom.ctx == nil {
		return errors.New("the server is not running")
	}
	cc := s.custom.caches[storageResource]
	if cc == nil {
		ctx, cancel := context.WithCancel(s.custom.ctx)
		cc = &customCache{cache: storage.NewCache(s.cfg.Store, storage.Prefix(storageResource, ""), strats[0].(registry.Converter).NewStorage, 8192), stop: cancel}
		go cc.cache.Run(ctx)
		select {
		case <-cc.cache.Ready():
		case <-ctx.Done():
			cancel()
			return ctx.Err()
		}
		s.custom.caches[storageResource] = cc
	}
	def := &customDefinition{storage: storageResource, terminating: terminating}
	for _, st := range strats {
		info := st.Info()
		res := &resource{info: info, strategy: st, fieldKeys: map[string]bool{}, cache: cc.cache, custom: true}
		if conv, ok := st.(registry.Converter); ok {
			res.conv = conv
		}
		for k := range st.Fields(st.New()) {
			res.fieldKeys[k] = true
		}
		if s.custom.admit != nil {
			res.admit = s.custom.admit(info)
		}
		res.terminating = terminating
		def.resources = append(def.resources, res)
	}
	s.custom.defs[name] = def
	s.publish()
	return nil
}

// StopServingCustom stops serving the resources of definition name.
func (s *Server) StopServingCustom(name string) {
	s.custom.mu.Lock()
	defer s.custom.mu.Unlock()
	def := s.custom.defs[name]
	if def == nil {
		return
	}
	delete(s.custom.defs, name)
	s.publish()
	for _, d := range s.custom.defs {
		if d.storage == def.storage {
			return
		}
	}
	if cc := s.custom.caches[def.storage]; cc != nil {
		cc.stop()
		delete(s.custom.caches, def.storage)
	}
}

// publish makes a new catalog of the built-in resources and the custom ones. A custom
// resource never shadows a built-in one. Called with custom.mu held.
func (s *Server) publish() {
	cat := &catalog{resources: make(map[schema.GroupVersionResource]*resource, len(s.builtin.resources)), groups: slices.Clone(s.builtin.groups)}
	for gvr, res := range s.builtin.resources {
		cat.resources[gvr] = res
	}
	builtinGroups := map[string]bool{}
	for _, gv := range s.builtin.groups {
		builtinGroups[gv.Group] = true
	}
	var custom []schema.GroupVersion
	seen := map[schema.GroupVersion]bool{}
	for _, def := range s.custom.defs {
		for _, res := range def.resources {
			gvr := res.info.GroupVersionResource()
			if builtinGroups[gvr.Group] {
				continue
			}
			if _, taken := cat.resources[gvr]; taken {
				continue
			}
			cat.resources[gvr] = res
			if gv := gvr.GroupVersion(); !seen[gv] {
				seen[gv] = true
				custom = append(custom, gv)
			}
		}
	}
	sort.Slice(custom, func(i, j int) bool {
		if custom[i].Group != custom[j].Group {
			return custom[i].Group < custom[j].Group
		}
		return version.CompareKubeAwareVersionStrings(custom[i].Version, custom[j].Version) > 0
	})
	cat.groups = append(cat.groups, custom...)
	s.custom.bookmarks = s.custom.bookmarks[:0]
	for _, cc := range s.custom.caches {
		s.custom.bookmarks = append(s.custom.bookmarks, cc.cache)
	}
	s.cat.Store(cat)
	for _, w := range s.custom.watchers {
		select {
		case w <- struct{}{}:
		default: // a change not taken yet covers this one
		}
	}
}

// ResourcesChanged returns a channel that signals when the served resources change (a
// custom resource definition is served or withdrawn). Each caller gets its own.
func (s *Server) ResourcesChanged() <-chan struct{} {
	s.custom.mu.Lock()
	defer s.custom.mu.Unlock()
	w := make(chan struct{}, 1)
	s.custom.watchers = append(s.custom.watchers, w)
	return w
}

// GroupVersions returns the served group versions, built-in and custom, in discovery's
// order (core first, custom ones last).
func (s *Server) GroupVersions() (builtin, custom []schema.GroupVersion) {
	all := s.cat.Load().groups
	seen := map[schema.GroupVersion]bool{}
	for _, gv := range s.builtin.groups {
		seen[gv] = true
	}
	for _, gv := range all {
		if seen[gv] {
			builtin = append(builtin, gv)
		} else {
			custom = append(custom, gv)
		}
	}
	return builtin, custom
}

// customCaches returns the caches of custom resources.
func (s *Server) customCaches() []*storage.Cache {
	s.custom.mu.Lock()
	defer s.custom.mu.Unlock()
	return slices.Clone(s.custom.bookmarks)
}
