package auth

import (
	"context"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type fakeRBAC struct {
	crbs  []*rbacv1.ClusterRoleBinding
	rbs   []*rbacv1.RoleBinding
	crs   map[string]*rbacv1.ClusterRole
	roles map[string]*rbacv1.Role // by namespace/name
}

func (f *fakeRBAC) ClusterRoleBindings(*User) []*rbacv1.ClusterRoleBinding { return f.crbs }
func (f *fakeRBAC) RoleBindings(_ *User, ns string) []*rbacv1.RoleBinding {
	var out []*rbacv1.RoleBinding
	for _, b := range f.rbs {
		if b.Namespace == ns {
			out = append(out, b)
		}
	}
	return out
}
func (f *fakeRBAC) ClusterRole(name string) *rbacv1.ClusterRole { return f.crs[name] }
func (f *fakeRBAC) Role(ns, name string) *rbacv1.Role           { return f.roles[ns+"/"+name] }

func TestRBAC(t *testing.T) {
	read := []string{"get", "list", "watch"}
	src := &fakeRBAC{
		crs: map[string]*rbacv1.ClusterRole{
			"view": {Rules: []rbacv1.PolicyRule{
				{Verbs: read, APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}},
				{Verbs: read, APIGroups: []string{"apps"}, Resources: []string{"*/scale"}},
			}},
			"health": {Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/apis/*"}}}},
		},
		roles: map[string]*rbacv1.Role{
			"team/one-secret": {Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"db"}}}},
		},
		crbs: []*rbacv1.ClusterRoleBinding{{
			RoleRef:  rbacv1.RoleRef{Kind: "ClusterRole", Name: "health"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "system:authenticated"}},
		}},
		rbs: []*rbacv1.RoleBinding{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "team"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "alice"}, {Kind: rbacv1.ServiceAccountKind, Name: "robot"}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "team"}, RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "one-secret"},
				Subjects: []rbacv1.Subject{{Kind: rbacv1.GroupKind, Name: "dba"}}},
		},
	}
	alice := &User{Name: "alice", Groups: []string{"system:authenticated"}}
	bob := &User{Name: "bob", Groups: []string{"dba", "system:authenticated"}}
	robot := &User{Name: "system:serviceaccount:team:robot", Groups: []string{"system:authenticated"}}
	robotElsewhere := &User{Name: "system:serviceaccount:other:robot"}
	tests := []struct {
		name string
		user *User
		a    Attributes
		want bool
	}{
		{"a ClusterRole bound in a namespace", alice, Attributes{Verb: "list", Resource: "pods", Namespace: "team"}, true},
		{"only in that namespace", alice, Attributes{Verb: "list", Resource: "pods", Namespace: "default"}, false},
		{"nor across namespaces", alice, Attributes{Verb: "list", Resource: "pods"}, false},
		{"not a verb of the rule", alice, Attributes{Verb: "delete", Resource: "pods", Namespace: "team", Name: "p"}, false},
		{"a subresource named", alice, Attributes{Verb: "get", Resource: "pods", Subresource: "log", Namespace: "team", Name: "p"}, true},
		{"a subresource not named", alice, Attributes{Verb: "get", Resource: "pods", Subresource: "exec", Namespace: "team", Name: "p"}, false},
		{"*/scale", alice, Attributes{Verb: "get", Group: "apps", Resource: "deployments", Subresource: "scale", Namespace: "team", Name: "d"}, true},
		{"*/scale is not the resource itself", alice, Attributes{Verb: "get", Group: "apps", Resource: "deployments", Namespace: "team", Name: "d"}, false},
		{"another API group", alice, Attributes{Verb: "list", Group: "batch", Resource: "pods", Namespace: "team"}, false},
		{"a service account of the binding's namespace", robot, Attributes{Verb: "get", Resource: "pods", Namespace: "team", Name: "p"}, true},
		{"the same name in another namespace", robotElsewhere, Attributes{Verb: "get", Resource: "pods", Namespace: "team", Name: "p"}, false},
		{"by group, the named secret", bob, Attributes{Verb: "get", Resource: "secrets", Namespace: "team", Name: "db"}, true},
		{"by group, another secret", bob, Attributes{Verb: "get", Resource: "secrets", Namespace: "team", Name: "other"}, false},
		{"resourceNames do not cover a list", bob, Attributes{Verb: "get", Resource: "secrets", Namespace: "team"}, false},
		{"a non-resource path", bob, Attributes{Verb: "get", Path: "/healthz"}, true},
		{"a path prefix", bob, Attributes{Verb: "get", Path: "/apis/apps/v1"}, true},
		{"a path outside it", bob, Attributes{Verb: "get", Path: "/metrics"}, false},
		{"no group, no binding", &User{Name: "carol"}, Attributes{Verb: "get", Path: "/healthz"}, false},
	}
	az := NewRBAC(src)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := az.Authorize(context.Background(), tt.user, tt.a); got != tt.want {
				t.Errorf("Authorize(%s, %+v) = %v, want %v", tt.user.Name, tt.a, got, tt.want)
			}
		})
	}
	// A chain's refusal names the user, verb and resource as upstream's.
	ok, why := Chain{az}.Authorize(context.Background(), alice, Attributes{Verb: "list", Resource: "pods", Namespace: "default"})
	if ok || why != `User "alice" cannot list resource "pods" in API group "" in the namespace "default"` {
		t.Errorf("refusal %v %q", ok, why)
	}
	if _, why := (Chain{az}).Authorize(context.Background(), alice, Attributes{Verb: "get", Path: "/metrics"}); !strings.Contains(why, `cannot get path "/metrics"`) {
		t.Errorf("path refusal %q", why)
	}
}
