package admission

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/auth"
)

// everything is every permission: cluster-admin's rules.
var everything = []rbacv1.PolicyRule{
	{Verbs: []string{rbacv1.VerbAll}, APIGroups: []string{rbacv1.APIGroupAll}, Resources: []string{rbacv1.ResourceAll}},
	{Verbs: []string{rbacv1.VerbAll}, NonResourceURLs: []string{rbacv1.NonResourceAll}},
}

// Escalation is the admission of RBAC writes that keeps a user from granting more than
// it has, as upstream's: a Role or ClusterRole may be written by a user that holds every
// permission it grants (in the role's namespace) or may "escalate" it; a binding by a
// user that holds every permission of the role it binds or may "bind" that role.
type Escalation struct {
	validateOnly
	Authorizer auth.Authorizer
	RBAC       *auth.RBAC
}

// ValidateCreate checks a new role or binding.
func (e Escalation) ValidateCreate(ctx context.Context, obj runtime.Object) error {
	return e.check(ctx, obj)
}

// ValidateUpdate checks a changed role or binding; a binding's role cannot change.
func (e Escalation) ValidateUpdate(ctx context.Context, obj, _ runtime.Object) error {
	return e.check(ctx, obj)
}

func (e Escalation) check(ctx context.Context, obj runtime.Object) error {
	u := auth.UserFrom(ctx)
	if u == nil {
		return nil // the server's own writes
	}
	may := func(verb, resource, namespace, name string) bool {
		ok, _ := e.Authorizer.Authorize(ctx, u, auth.Attributes{Verb: verb, Group: rbacv1.GroupName, Resource: resource, Namespace: namespace, Name: name})
		return ok
	}
	forbidden := func(resource, name, why string) error {
		return apierrors.NewForbidden(schema.GroupResource{Group: rbacv1.GroupName, Resource: resource}, name, fmt.Errorf("user %q (groups=%q) %s", u.Name, u.Groups, why))
	}
	const escalating = "is attempting to grant RBAC permissions not currently held"
	switch o := obj.(type) {
	case *rbacv1.Role:
		if !may("escalate", "roles", o.Namespace, o.Name) && !auth.Covers(e.RBAC.RulesFor(u, o.Namespace), o.Rules) {
			return forbidden("roles", o.Name, escalating)
		}
	case *rbacv1.ClusterRole:
		if may("escalate", "clusterroles", "", o.Name) {
			return nil
		}
		held := e.RBAC.RulesFor(u, "")
		// An aggregation rule gathers the rules of other roles, any of them: as upstream,
		// only a user who holds everything may write one.
		if o.AggregationRule != nil && !auth.Covers(held, everything) {
			return forbidden("clusterroles", o.Name, "must have cluster-admin privileges to use the aggregationRule")
		}
		if !auth.Covers(held, o.Rules) {
			return forbidden("clusterroles", o.Name, escalating)
		}
	case *rbacv1.RoleBinding:
		resource := "roles"
		if o.RoleRef.Kind == "ClusterRole" {
			resource = "clusterroles"
		}
		if !may("bind", resource, o.Namespace, o.RoleRef.Name) {
			rules, ok := e.RBAC.RoleRules(o.Namespace, o.RoleRef)
			if !ok {
				return forbidden("rolebindings", o.Name, fmt.Sprintf("cannot bind %s.rbac.authorization.k8s.io %q, which does not exist", resource, o.RoleRef.Name))
			}
			if !auth.Covers(e.RBAC.RulesFor(u, o.Namespace), rules) {
				return forbidden("rolebindings", o.Name, escalating)
			}
		}
	case *rbacv1.ClusterRoleBinding:
		if !may("bind", "clusterroles", "", o.RoleRef.Name) {
			rules, ok := e.RBAC.RoleRules("", o.RoleRef)
			if !ok {
				return forbidden("clusterrolebindings", o.Name, fmt.Sprintf("cannot bind clusterroles.rbac.authorization.k8s.io %q, which does not exist", o.RoleRef.Name))
			}
			if !auth.Covers(e.RBAC.RulesFor(u, ""), rules) {
				return forbidden("clusterrolebindings", o.Name, escalating)
			}
		}
	}
	return nil
}
