package auth

import (
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// RulesFor returns every rule the bindings give u: those of ClusterRoleBindings, and of
// the RoleBindings of namespace when it is not "".
func (r *RBAC) RulesFor(u *User, namespace string) []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for _, b := range r.src.ClusterRoleBindings(u) {
		if b.RoleRef.Kind == "ClusterRole" && bindsUser(b.Subjects, u, "") {
			if cr := r.src.ClusterRole(b.RoleRef.Name); cr != nil {
				rules = append(rules, cr.Rules...)
			}
		}
	}
	if namespace == "" {
		return rules
	}
	for _, b := range r.src.RoleBindings(u, namespace) {
		if bindsUser(b.Subjects, u, b.Namespace) {
			more, _ := r.RoleRules(b.Namespace, b.RoleRef)
			rules = append(rules, more...)
		}
	}
	return rules
}

// RoleRules returns the rules of the role ref names, and false when there is no such
// role; a RoleBinding's Role is in the binding's namespace.
func (r *RBAC) RoleRules(namespace string, ref rbacv1.RoleRef) ([]rbacv1.PolicyRule, bool) {
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
