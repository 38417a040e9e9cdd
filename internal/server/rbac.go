package server

import (
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/apiserver"
	"github.com/podium/podium/internal/auth"
)

// rbacSource gives the RBAC authorizer the roles and bindings of the API server's watch
// caches. api returns the server, which exists only after the authorizer is made.
type rbacSource struct {
	api func() *apiserver.Server
}

var _ auth.RBACSource = rbacSource{}

func rbacResource(resource string) schema.GroupResource {
	return schema.GroupResource{Group: rbacv1.GroupName, Resource: resource}
}

func (s rbacSource) ClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	var out []*rbacv1.ClusterRoleBinding
	for _, obj := range s.api().Cached(rbacResource("clusterrolebindings")) {
		if b, ok := obj.(*rbacv1.ClusterRoleBinding); ok {
			out = append(out, b)
		}
	}
	return out
}

func (s rbacSource) RoleBindings(namespace string) []*rbacv1.RoleBinding {
	var out []*rbacv1.RoleBinding
	for _, obj := range s.api().CachedIn(rbacResource("rolebindings"), namespace) {
		if b, ok := obj.(*rbacv1.RoleBinding); ok {
			out = append(out, b)
		}
	}
	return out
}

func (s rbacSource) ClusterRole(name string) *rbacv1.ClusterRole {
	obj, _ := s.api().CachedObject(rbacResource("clusterroles"), "", name)
	cr, _ := obj.(*rbacv1.ClusterRole)
	return cr
}

func (s rbacSource) Role(namespace, name string) *rbacv1.Role {
	obj, _ := s.api().CachedObject(rbacResource("roles"), namespace, name)
	r, _ := obj.(*rbacv1.Role)
	return r
}
