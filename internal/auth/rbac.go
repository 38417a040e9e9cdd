package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
)

// RBACSource is what the RBAC authorizer decides from: the cluster's roles and
// bindings, as the API server's caches hold them. Its methods must be safe for
// concurrent use; nil means absent.
type RBACSource interface {
	// ClusterRoleBindings returns the ClusterRoleBindings that may bind u (at least
	// those whose subjects name it, one of its groups or its service account), and
	// RoleBindings those of a namespace.
	ClusterRoleBindings(u *User) []*rbacv1.ClusterRoleBinding
	RoleBindings(u *User, namespace string) []*rbacv1.RoleBinding
	ClusterRole(name string) *rbacv1.ClusterRole
	Role(namespace, name string) *rbacv1.Role
}

// RBAC authorizes as upstream's RBAC authorizer does: a request is allowed when a
// ClusterRoleBinding, or a RoleBinding of the request's namespace, binds the user (by
// name, by one of its groups, or as the service account it is) to a role one of whose
// rules covers the request. Nothing is ever denied outright: what no rule allows is
// refused.
type RBAC struct {
	src RBACSource
}

var _ Authorizer = (*RBAC)(nil)

// NewRBAC returns the RBAC authorizer over src.
func NewRBAC(src RBACSource) *RBAC { return &RBAC{src: src} }

// Authorize implements Authorizer.
func (r *RBAC) Authorize(_ context.Context, u *User, a Attributes) (bool, string) {
	for _, b := range r.src.ClusterRoleBindings(u) {
		if b.RoleRef.Kind != "ClusterRole" || !bindsUser(b.Subjects, u, "") {
			continue
		}
		if cr := r.src.ClusterRole(b.RoleRef.Name); cr != nil && RulesAllow(cr.Rules, a) {
			return true, ""
		}
	}
	if a.Namespace == "" {
		return false, ""
	}
	for _, b := range r.src.RoleBindings(u, a.Namespace) {
		if !bindsUser(b.Subjects, u, b.Namespace) {
			continue
		}
		var rules []rbacv1.PolicyRule
		switch b.RoleRef.Kind {
		case "Role":
			if role := r.src.Role(b.Namespace, b.RoleRef.Name); role != nil {
				rules = role.Rules
			}
		case "ClusterRole":
			if cr := r.src.ClusterRole(b.RoleRef.Name); cr != nil {
				rules = cr.Rules
			}
		}
		if RulesAllow(rules, a) {
			return true, ""
		}
	}
	return false, ""
}

// bindsUser reports whether one of subjects is u: its name, one of its groups, or the
// service account it is (a subject's namespace defaults to the binding's).
func bindsUser(subjects []rbacv1.Subject, u *User, bindingNamespace string) bool {
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			if s.Name == u.Name {
				return true
			}
		case rbacv1.GroupKind:
			if slices.Contains(u.Groups, s.Name) {
				return true
			}
		case rbacv1.ServiceAccountKind:
			ns := s.Namespace
			if ns == "" {
				ns = bindingNamespace
			}
			if ns != "" && u.Name == "system:serviceaccount:"+ns+":"+s.Name {
				return true
			}
		}
	}
	return false
}

// RulesAllow reports whether one of rules covers a.
func RulesAllow(rules []rbacv1.PolicyRule, a Attributes) bool {
	for i := range rules {
		if ruleAllows(&rules[i], a) {
			return true
		}
	}
	return false
}

func ruleAllows(rule *rbacv1.PolicyRule, a Attributes) bool {
	if !slices.Contains(rule.Verbs, rbacv1.VerbAll) && !slices.Contains(rule.Verbs, a.Verb) {
		return false
	}
	if a.Resource == "" {
		return nonResourceURLMatches(rule.NonResourceURLs, a.Path)
	}
	if !slices.Contains(rule.APIGroups, rbacv1.APIGroupAll) && !slices.Contains(rule.APIGroups, a.Group) {
		return false
	}
	if !resourceMatches(rule.Resources, a.Resource, a.Subresource) {
		return false
	}
	return len(rule.ResourceNames) == 0 || slices.Contains(rule.ResourceNames, a.Name)
}

// resourceMatches: "*" is every resource, "pods" only pods itself, "pods/log" that
// subresource, and "*/scale" that subresource of every resource.
func resourceMatches(ruleResources []string, resource, subresource string) bool {
	combined := resource
	if subresource != "" {
		combined += "/" + subresource
	}
	for _, r := range ruleResources {
		switch {
		case r == rbacv1.ResourceAll, r == combined:
			return true
		case subresource != "" && r == "*/"+subresource:
			return true
		}
	}
	return false
}

// nonResourceURLMatches: "*" is every path, "/apis/*" every path under /apis/, and
// anything else only itself.
func nonResourceURLMatches(urls []string, path string) bool {
	if path == "" {
		return false
	}
	for _, u := range urls {
		switch {
		case u == rbacv1.NonResourceAll, u == path:
			return true
		case strings.HasSuffix(u, "*") && strings.HasPrefix(path, strings.TrimRight(u, "*")):
			return true
		}
	}
	return false
}

// Chain asks each authorizer in turn, and the first that allows decides. A refusal
// names the user, the verb and what it was asked for, as upstream's do, followed by the
// reasons the authorizers gave.
type Chain []Authorizer

var _ Authorizer = Chain(nil)

// Authorize implements Authorizer.
func (c Chain) Authorize(ctx context.Context, u *User, a Attributes) (bool, string) {
	var reasons []string
	for _, az := range c {
		ok, why := az.Authorize(ctx, u, a)
		if ok {
			return true, ""
		}
		if why != "" {
			reasons = append(reasons, why)
		}
	}
	msg := Refusal(u, a)
	if len(reasons) > 0 {
		msg += ": " + strings.Join(reasons, "; ")
	}
	return false, msg
}

// Refusal words what u may not do as upstream's authorizers do:
// User "alice" cannot list resource "pods" in API group "" in the namespace "default".
func Refusal(u *User, a Attributes) string {
	if a.Resource == "" {
		return fmt.Sprintf("User %q cannot %s path %q", u.Name, a.Verb, a.Path)
	}
	resource := a.Resource
	if a.Subresource != "" {
		resource += "/" + a.Subresource
	}
	scope := "at the cluster scope"
	if a.Namespace != "" {
		scope = fmt.Sprintf("in the namespace %q", a.Namespace)
	}
	return fmt.Sprintf("User %q cannot %s resource %q in API group %q %s", u.Name, a.Verb, resource, a.Group, scope)
}

// RuleLister lists the rules an authorizer grants a user in a namespace ("" for the
// cluster scope only); incomplete says that it allows more than rules can say.
type RuleLister interface {
	Rules(u *User, namespace string) (rules []rbacv1.PolicyRule, incomplete bool)
}

// Rules implements RuleLister: the rules of the bindings that apply to u.
func (r *RBAC) Rules(u *User, namespace string) ([]rbacv1.PolicyRule, bool) {
	return r.RulesFor(u, namespace), false
}

// Rules implements RuleLister for the node authorizer: what it allows a node depends on
// the objects asked for, which no rule says.
func (n *NodeAuthorizer) Rules(u *User, _ string) ([]rbacv1.PolicyRule, bool) {
	_, isNode := u.NodeName()
	return nil, isNode
}

// Rules implements RuleLister: the rules of every authorizer of the chain that lists
// them; incomplete when one cannot, or does not list at all.
func (c Chain) Rules(u *User, namespace string) ([]rbacv1.PolicyRule, bool) {
	var all []rbacv1.PolicyRule
	incomplete := false
	for _, az := range c {
		rl, ok := az.(RuleLister)
		if !ok {
			incomplete = true
			continue
		}
		rules, inc := rl.Rules(u, namespace)
		all = append(all, rules...)
		incomplete = incomplete || inc
	}
	return all, incomplete
}
