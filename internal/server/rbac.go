package server

import (
	"cmp"
	"slices"
	"sync"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/apiserver"
	"github.com/podium/podium/internal/auth"
)

// rbacSource gives the RBAC authorizer the roles and bindings of the API server's watch
// caches, with the bindings indexed by subject: a request looks only at the bindings
// that name its user, one of its groups or its service account, however many bindings
// the cluster has. The index is made again when a binding cache changes (its
// Generation). api returns the server, which exists only after the authorizer is made.
type rbacSource struct {
	api func() *apiserver.Server

	mu       sync.Mutex
	crbGen   uint64
	rbGen    uint64
	crbIndex map[string][]*rbacv1.ClusterRoleBinding
	rbIndex  map[string][]*rbacv1.RoleBinding // by namespace and subject: "NS\x00KEY"
}

var _ auth.RBACSource = (*rbacSource)(nil)

func rbacResource(resource string) schema.GroupResource {
	return schema.GroupResource{Group: rbacv1.GroupName, Resource: resource}
}

// subjectKey names a subject as the index does; a service account's namespace defaults
// to its binding's.
func subjectKey(s rbacv1.Subject, bindingNamespace string) string {
	switch s.Kind {
	case rbacv1.UserKind:
		return "u:" + s.Name
	case rbacv1.GroupKind:
		return "g:" + s.Name
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		return "u:system:serviceaccount:" + ns + ":" + s.Name
	}
	return ""
}

// userKeys are the index keys that may bind u.
func userKeys(u *auth.User) []string {
	keys := make([]string, 0, len(u.Groups)+1)
	keys = append(keys, "u:"+u.Name)
	for _, g := range u.Groups {
		keys = append(keys, "g:"+g)
	}
	return keys
}

// index brings the indexes up to the caches' state; s.mu must be held.
func (s *rbacSource) index() {
	api := s.api()
	if gen := api.CacheGeneration(rbacResource("clusterrolebindings")); gen != s.crbGen || s.crbIndex == nil {
		idx := map[string][]*rbacv1.ClusterRoleBinding{}
		for _, obj := range api.Cached(rbacResource("clusterrolebindings")) {
			if b, ok := obj.(*rbacv1.ClusterRoleBinding); ok {
				for _, key := range bindingKeys(b.Subjects, "") {
					idx[key] = append(idx[key], b)
				}
			}
		}
		s.crbIndex, s.crbGen = idx, gen
	}
	if gen := api.CacheGeneration(rbacResource("rolebindings")); gen != s.rbGen || s.rbIndex == nil {
		idx := map[string][]*rbacv1.RoleBinding{}
		for _, obj := range api.Cached(rbacResource("rolebindings")) {
			if b, ok := obj.(*rbacv1.RoleBinding); ok {
				for _, key := range bindingKeys(b.Subjects, b.Namespace) {
					k := b.Namespace + "\x00" + key
					idx[k] = append(idx[k], b)
				}
			}
		}
		s.rbIndex, s.rbGen = idx, gen
	}
}

// bindingKeys are the distinct index keys of a binding's subjects.
func bindingKeys(subjects []rbacv1.Subject, namespace string) []string {
	var keys []string
	for _, sub := range subjects {
		if k := subjectKey(sub, namespace); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// gather returns the bindings of keys, each once, sorted by name.
func gather[B interface{ GetName() string }](idx map[string][]B, keys []string, prefix string) []B {
	var out []B
	seen := map[any]bool{}
	for _, k := range keys {
		for _, b := range idx[prefix+k] {
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
	}
	slices.SortFunc(out, func(a, b B) int { return cmp.Compare(a.GetName(), b.GetName()) })
	return out
}

func (s *rbacSource) ClusterRoleBindings(u *auth.User) []*rbacv1.ClusterRoleBinding {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index()
	return gather(s.crbIndex, userKeys(u), "")
}

func (s *rbacSource) RoleBindings(u *auth.User, namespace string) []*rbacv1.RoleBinding {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index()
	return gather(s.rbIndex, userKeys(u), namespace+"\x00")
}

func (s *rbacSource) ClusterRole(name string) *rbacv1.ClusterRole {
	obj, _ := s.api().CachedObject(rbacResource("clusterroles"), "", name)
	cr, _ := obj.(*rbacv1.ClusterRole)
	return cr
}

func (s *rbacSource) Role(namespace, name string) *rbacv1.Role {
	obj, _ := s.api().CachedObject(rbacResource("roles"), namespace, name)
	r, _ := obj.(*rbacv1.Role)
	return r
}
