package admission

import (
	"context"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podium/podium/internal/auth"
)

// fakeRBAC is an auth.RBACSource over fixed objects.
type fakeRBAC struct {
	crbs  []*rbacv1.ClusterRoleBinding
	rbs   []*rbacv1.RoleBinding
	crs   map[string]*rbacv1.ClusterRole
	roles map[string]*rbacv1.Role // by namespace/name
}

func (f *fakeRBAC) ClusterRoleBindings(*auth.User) []*rbacv1.ClusterRoleBinding { return f.crbs }
func (f *fakeRBAC) RoleBindings(_ *auth.User, ns string) []*rbacv1.RoleBinding {
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

// TestEscalation: a namespace admin (RBAC write on roles and bindings, read on pods)
// may make a Role within its own permissions and bind it, but not a Role with more, nor
// bind cluster-admin; the masters may do anything.
func TestEscalation(t *testing.T) {
	admin := rbacv1.PolicyRule{Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}, APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"roles", "rolebindings"}}
	readPods := rbacv1.PolicyRule{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods"}}
	src := &fakeRBAC{
		crs: map[string]*rbacv1.ClusterRole{
			"ns-admin":      {Rules: []rbacv1.PolicyRule{admin, readPods}},
			"cluster-admin": {Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}},
		},
		roles: map[string]*rbacv1.Role{"team/pod-reader": {Rules: []rbacv1.PolicyRule{readPods}}},
		rbs: []*rbacv1.RoleBinding{{ObjectMeta: metav1.ObjectMeta{Namespace: "team"}, RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "ns-admin"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "dana"}}}},
	}
	rbac := auth.NewRBAC(src)
	esc := Escalation{Authorizer: auth.Chain{auth.NewNodeAuthorizer(nil, nil), rbac}, RBAC: rbac}
	dana := auth.WithUser(context.Background(), &auth.User{Name: "dana", Groups: []string{auth.AuthenticatedGroup}})
	root := auth.WithUser(context.Background(), &auth.User{Name: auth.AdminUser, Groups: []string{auth.MastersGroup}})
	role := func(rules ...rbacv1.PolicyRule) *rbacv1.Role {
		return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "r"}, Rules: rules}
	}
	binding := func(kind, name string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "b"}, RoleRef: rbacv1.RoleRef{Kind: kind, Name: name}}
	}
	if err := esc.ValidateCreate(dana, role(readPods)); err != nil {
		t.Errorf("a role within dana's permissions: %v", err)
	}
	more := rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"secrets"}}
	if err := esc.ValidateCreate(dana, role(readPods, more)); !apierrors.IsForbidden(err) {
		t.Errorf("a role with more: %v", err)
	}
	if err := esc.ValidateCreate(dana, binding("Role", "pod-reader")); err != nil {
		t.Errorf("binding a role within dana's permissions: %v", err)
	}
	if err := esc.ValidateCreate(dana, binding("ClusterRole", "cluster-admin")); !apierrors.IsForbidden(err) {
		t.Errorf("binding cluster-admin: %v", err)
	}
	if err := esc.ValidateCreate(dana, binding("Role", "missing")); !apierrors.IsForbidden(err) {
		t.Errorf("binding a role that does not exist: %v", err)
	}
	// An aggregation rule would gather any role's rules: only a user who holds
	// everything may write one, even with no rules of its own.
	gather := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "gather"},
		AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{}}}}
	src.crbs = append(src.crbs, &rbacv1.ClusterRoleBinding{RoleRef: rbacv1.RoleRef{Kind: "ClusterRole", Name: "cr-writer"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, Name: "dana"}}})
	src.crs["cr-writer"] = &rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{Verbs: []string{"create", "update"}, APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles"}}}}
	if err := esc.ValidateCreate(dana, gather); !apierrors.IsForbidden(err) {
		t.Errorf("an aggregation rule by dana: %v", err)
	}
	if err := esc.ValidateCreate(root, gather); err != nil {
		t.Errorf("an aggregation rule by the masters: %v", err)
	}
	if err := esc.ValidateCreate(root, binding("ClusterRole", "cluster-admin")); err != nil {
		t.Errorf("the masters binding cluster-admin: %v", err)
	}
}
