package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// RulesFor returns every rule the bindings give u: those of ClusterRoleBindings, and of
// the RoleBindings of namespace when it is not "".
func (r *RBAC) RulesFor(u *User, namespace string) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, b := range r.src.ClusterRoleBindings() {
		if b.RoleRef.Kind == "ClusterRole" && bindsUser(b.Subjects, u, "") {
			if cr := r.src.ClusterRole(b.RoleRef.Name); cr != nil {
				rules = append(rules, cr.Rules...)
			}
		}
	}
	if namespace == "" {
		return rules
	}
	for _, b := range r.src.RoleBindings(namespace) {
		if bindsUser(b.Subjects, u, b.Namespace) {
			more, _ := r.roleRules(b.Namespace, b.RoleRef)
			rules = append(rules, more...)
		}
	}
	return rules
}

// roleRules returns the rules of the role ref names, and false when there is no such
// role; a RoleBinding's Role is in the binding's namespace.
func (r *RBAC) roleRules(namespace string, ref rbacv1.RoleRef) ([]rbacv1.PolicyRule, bool) {
	switch ref.Kind {
	case "Role":
		if role := r.src.Role(namespace, ref.Name); role != nil {
			return role.Rules, true
		}
	case "ClusterRole":
		if cr := r.src.ClusterRole(ref.Name); cr != nil {
			return cr.Rules, true
		}
	}
	return nil, false
}

// Covers reports whether owner's rules allow all that servant's rules allow.
func Covers(owner, servant []rbacv1.PolicyRule) bool {
	for _, s := range servant {
		for _, atom := range atoms(s) {
			if !slices.ContainsFunc(owner, func(o rbacv1.PolicyRule) bool { return covers(&o, &atom) }) {
				return false
			}
		}
	}
	return true
}

// atoms breaks a rule into rules of one verb and one resource (or URL) each.
func atoms(r rbacv1.PolicyRule) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, v := range r.Verbs {
		for _, u := range r.NonResourceURLs {
			out = append(out, rbacv1.PolicyRule{Verbs: []string{v}, NonResourceURLs: []string{u}})
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				atom := rbacv1.PolicyRule{Verbs: []string{v}, APIGroups: []string{g}, Resources: []string{res}}
				if len(r.ResourceNames) == 0 {
					out = append(out, atom)
				}
				for _, n := range r.ResourceNames {
					atom.ResourceNames = []string{n}
					out = append(out, atom)
				}
			}
		}
	}
	return out
}

// covers reports whether o allows the one thing atom allows. A wildcard in atom is
// covered only by a wildcard.
func covers(o, atom *rbacv1.PolicyRule) bool {
	if !slices.Contains(o.Verbs, rbacv1.VerbAll) && !slices.Contains(o.Verbs, atom.Verbs[0]) {
		return false
	}
	if len(atom.NonResourceURLs) == 1 {
		want := atom.NonResourceURLs[0]
		for _, u := range o.NonResourceURLs {
			if u == rbacv1.NonResourceAll || u == want || strings.HasSuffix(u, "*") && strings.HasPrefix(want, strings.TrimRight(u, "*")) {
				return true
			}
		}
		return false
	}
	if !slices.Contains(o.APIGroups, rbacv1.APIGroupAll) && !slices.Contains(o.APIGroups, atom.APIGroups[0]) {
		return false
	}
	want := atom.Resources[0]
	resourceOK := false
	for _, r := range o.Resources {
		_, sub, hasSub := strings.Cut(want, "/")
		if r == rbacv1.ResourceAll || r == want || hasSub && r == "*/"+sub {
			resourceOK = true
			break
		}
	}
	if !resourceOK {
		return false
	}
	if len(o.ResourceNames) == 0 {
		return true
	}
	return len(atom.ResourceNames) == 1 && slices.Contains(o.ResourceNames, atom.ResourceNames[0])
}

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
	Authorizer Authorizer
	RBAC       *RBAC
}

// AdmitCreate checks a new role or binding.
func (e Escalation) AdmitCreate(ctx context.Context, obj runtime.Object) error {
	return e.check(ctx, obj)
}

// AdmitUpdate checks a changed role or binding; a binding's role cannot change.
func (e Escalation) AdmitUpdate(ctx context.Context, obj, _ runtime.Object) error {
	return e.check(ctx, obj)
}

func (e Escalation) check(ctx context.Context, obj runtime.Object) error {
	u := UserFrom(ctx)
	if u == nil {
		return nil // the server's own writes
	}
	may := func(verb, resource, namespace, name string) bool {
		ok, _ := e.Authorizer.Authorize(ctx, u, Attributes{Verb: verb, Group: rbacv1.GroupName, Resource: resource, Namespace: namespace, Name: name})
		return ok
	}
	forbidden := func(resource, name, why string) error {
		return apierrors.NewForbidden(schema.GroupResource{Group: rbacv1.GroupName, Resource: resource}, name, fmt.Errorf("user %q (groups=%q) %s", u.Name, u.Groups, why))
	}
	const escalating = "is attempting to grant RBAC permissions not currently held"
	switch o := obj.(type) {
	case *rbacv1.Role:
		if !may("escalate", "roles", o.Namespace, o.Name) && !Covers(e.RBAC.RulesFor(u, o.Namespace), o.Rules) {
			return forbidden("roles", o.Name, escalating)
		}
	case *rbacv1.ClusterRole:
		if may("escalate", "clusterroles", "", o.Name) {
			return nil
		}
		held := e.RBAC.RulesFor(u, "")
		// An aggregation rule gathers the rules of other roles, any of them: as upstream,
		// only a user who holds everything may write one.
		if o.AggregationRule != nil && !Covers(held, everything) {
			return forbidden("clusterroles", o.Name, "must have cluster-admin privileges to use the aggregationRule")
		}
		if !Covers(held, o.Rules) {
			return forbidden("clusterroles", o.Name, escalating)
		}
	case *rbacv1.RoleBinding:
		resource := "roles"
		if o.RoleRef.Kind == "ClusterRole" {
			resource = "clusterroles"
		}
		if !may("bind", resource, o.Namespace, o.RoleRef.Name) {
			rules, ok := e.RBAC.roleRules(o.Namespace, o.RoleRef)
			if !ok {
				return forbidden("rolebindings", o.Name, fmt.Sprintf("cannot bind %s.rbac.authorization.k8s.io %q, which does not exist", resource, o.RoleRef.Name))
			}
			if !Covers(e.RBAC.RulesFor(u, o.Namespace), rules) {
				return forbidden("rolebindings", o.Name, escalating)
			}
		}
	case *rbacv1.ClusterRoleBinding:
		if !may("bind", "clusterroles", "", o.RoleRef.Name) {
			rules, ok := e.RBAC.roleRules("", o.RoleRef)
			if !ok {
				return forbidden("clusterrolebindings", o.Name, fmt.Sprintf("cannot bind clusterroles.rbac.authorization.k8s.io %q, which does not exist", o.RoleRef.Name))
			}
			if !Covers(e.RBAC.RulesFor(u, ""), rules) {
				return forbidden("clusterrolebindings", o.Name, escalating)
			}
		}
	}
	return nil
}
