package rbacpolicy

import (
	"context"
	"fmt"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/pki"
)

// The label and annotation upstream puts on its defaults.
const (
	bootstrapLabel   = "kubernetes.io/bootstrapping"
	autoUpdateAnnote = "rbac.authorization.kubernetes.io/autoupdate"
	aggregateTo      = "rbac.authorization.k8s.io/aggregate-to-"
)

var (
	read      = []string{"get", "list", "watch"}
	write     = []string{"create", "update", "patch", "delete", "deletecollection"}
	readWrite = append(slices.Clone(read), write...)
)

// rule is a resource rule: verbs on resources of groups.
func rule(verbs []string, groups []string, resources ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: groups, Resources: resources}
}

func g(groups ...string) []string { return groups }

func meta(name string, labels map[string]string) metav1.ObjectMeta {
	l := map[string]string{bootstrapLabel: "rbac-defaults"}
	for k, v := range labels {
		l[k] = v
	}
	return metav1.ObjectMeta{Name: name, Labels: l, Annotations: map[string]string{autoUpdateAnnote: "true"}}
}

func aggregated(name, from string, labels map[string]string) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: meta(name, labels), AggregationRule: &rbacv1.AggregationRule{
		ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{aggregateTo + from: "true"}}}}}
}

// ClusterRoles returns the default ClusterRoles.
func ClusterRoles() []*rbacv1.ClusterRole {
	return []*rbacv1.ClusterRole{
		{ObjectMeta: meta("cluster-admin", nil), Rules: []rbacv1.PolicyRule{
			rule([]string{"*"}, g("*"), "*"),
			{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}},
		}},
		{ObjectMeta: meta("system:discovery", nil), Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/"}},
		}},
		{ObjectMeta: meta("system:public-info-viewer", nil), Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/livez", "/readyz", "/version", "/version/"}},
		}},
		{ObjectMeta: meta("system:basic-user", nil), Rules: []rbacv1.PolicyRule{
			rule([]string{"create"}, g("authentication.k8s.io"), "selfsubjectreviews"),
			rule([]string{"create"}, g("authorization.k8s.io"), "selfsubjectaccessreviews", "selfsubjectrulesreviews"),
		}},
		aggregated("admin", "admin", nil),
		aggregated("edit", "edit", map[string]string{aggregateTo + "admin": "true"}),
		aggregated("view", "view", map[string]string{aggregateTo + "edit": "true"}),
		{ObjectMeta: meta("system:aggregate-to-admin", map[string]string{aggregateTo + "admin": "true"}), Rules: []rbacv1.PolicyRule{
			rule([]string{"create"}, g("authorization.k8s.io"), "localsubjectaccessreviews"),
			rule(readWrite, g("rbac.authorization.k8s.io"), "roles", "rolebindings"),
		}},
		{ObjectMeta: meta("system:aggregate-to-edit", map[string]string{aggregateTo + "edit": "true"}), Rules: editRules()},
		{ObjectMeta: meta("system:aggregate-to-view", map[string]string{aggregateTo + "view": "true"}), Rules: viewRules()},
		// metrics.k8s.io is served by the API server itself; the role metrics-server
		// ships lets view, edit and admin read it, as there.
		{ObjectMeta: meta("system:aggregated-metrics-reader", map[string]string{aggregateTo + "view": "true", aggregateTo + "edit": "true", aggregateTo + "admin": "true"}),
			Rules: []rbacv1.PolicyRule{rule(read, g("metrics.k8s.io"), "pods", "nodes")}},
		{ObjectMeta: meta("system:node-bootstrapper", nil), Rules: []rbacv1.PolicyRule{
			rule([]string{"create", "get", "list", "watch"}, g("certificates.k8s.io"), "certificatesigningrequests"),
		}},
		{ObjectMeta: meta(csrRole+"nodeclient", nil), Rules: []rbacv1.PolicyRule{
			rule([]string{"create"}, g("certificates.k8s.io"), "certificatesigningrequests/nodeclient"),
		}},
		{ObjectMeta: meta(csrRole+"selfnodeclient", nil), Rules: []rbacv1.PolicyRule{
			rule([]string{"create"}, g("certificates.k8s.io"), "certificatesigningrequests/selfnodeclient"),
		}},
		{ObjectMeta: meta("system:kubelet-api-admin", nil), Rules: []rbacv1.PolicyRule{
			rule(read, g(""), "nodes"),
			rule([]string{"proxy"}, g(""), "nodes"),
			rule([]string{"*"}, g(""), "nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log", "nodes/pods", "nodes/healthz", "nodes/configz"),
		}},
		{ObjectMeta: meta("system:auth-delegator", nil), Rules: []rbacv1.PolicyRule{
			rule([]string{"create"}, g("authentication.k8s.io"), "tokenreviews"),
			rule([]string{"create"}, g("authorization.k8s.io"), "subjectaccessreviews"),
		}},
		{ObjectMeta: meta("system:service-account-issuer-discovery", nil), Rules: []rbacv1.PolicyRule{
			{Verbs: []string{"get"}, NonResourceURLs: []string{"/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/"}},
		}},
		approver("kube-apiserver-client"),
		approver("kube-apiserver-client-kubelet"),
		approver("kubelet-serving"),
	}
}

// csrRole starts the names of the roles the CSR approver asks about.
const csrRole = "system:certificates.k8s.io:certificatesigningrequests:"

// approver is the role that may approve requests to signer kubernetes.io/NAME.
func approver(name string) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: meta("system:certificates.k8s.io:"+name+"-approver", nil), Rules: []rbacv1.PolicyRule{
		{Verbs: []string{"approve"}, APIGroups: g("certificates.k8s.io"), Resources: []string{"signers"}, ResourceNames: []string{"kubernetes.io/" + name}},
	}}
}

func viewRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule(read, g(""), "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
			"services", "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "configmaps"),
		rule(read, g(""), "limitranges", "resourcequotas", "bindings", "pods/status", "resourcequotas/status",
			"namespaces/status", "replicationcontrollers/status", "pods/log"),
		rule(read, g(""), "namespaces"),
		rule(read, g("", "events.k8s.io"), "events"),
		rule(read, g("discovery.k8s.io"), "endpointslices"),
		rule(read, g("apps"), "controllerrevisions", "statefulsets", "statefulsets/status", "statefulsets/scale",
			"daemonsets", "daemonsets/status", "deployments", "deployments/status", "deployments/scale",
			"replicasets", "replicasets/status", "replicasets/scale"),
		rule(read, g("autoscaling"), "horizontalpodautoscalers", "horizontalpodautoscalers/status"),
		rule(read, g("batch"), "jobs", "cronjobs", "cronjobs/status", "jobs/status"),
		rule(read, g("extensions"), "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
			"ingresses", "ingresses/status", "replicasets", "replicasets/scale", "replicasets/status", "replicationcontrollers/scale",
			"networkpolicies"),
		rule(read, g("policy"), "poddisruptionbudgets", "poddisruptionbudgets/status"),
		rule(read, g("networking.k8s.io"), "networkpolicies", "ingresses", "ingresses/status"),
	}
}

func editRules() []rbacv1.PolicyRule {
	return []rbacv1.PolicyRule{
		rule(read, g(""), "pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"),
		rule([]string{"impersonate"}, g(""), "serviceaccounts"),
		rule(write, g(""), "pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"),
		rule([]string{"create"}, g(""), "pods/eviction"),
		rule(write, g(""), "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts",
			"services", "services/proxy", "persistentvolumeclaims", "configmaps", "secrets"),
		rule([]string{"create"}, g(""), "serviceaccounts/token"),
		rule(write, g("", "events.k8s.io"), "events"),
		rule(write, g("apps"), "statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
			"deployments/rollback", "replicasets", "replicasets/scale"),
		rule(write, g("autoscaling"), "horizontalpodautoscalers"),
		rule(write, g("batch"), "jobs", "cronjobs"),
		rule(write, g("extensions"), "daemonsets", "deployments", "deployments/scale", "deployments/rollback", "ingresses",
			"replicasets", "replicasets/scale", "replicationcontrollers/scale", "networkpolicies"),
		rule(write, g("policy"), "poddisruptionbudgets"),
		rule(write, g("networking.k8s.io"), "networkpolicies", "ingresses"),
		rule(readWrite, g("coordination.k8s.io"), "leases"),
	}
}

func groupSubjects(names ...string) []rbacv1.Subject {
	var out []rbacv1.Subject
	for _, n := range names {
		out = append(out, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: n})
	}
	return out
}

// ClusterRoleBindings returns the default ClusterRoleBindings.
func ClusterRoleBindings() []*rbacv1.ClusterRoleBinding {
	bind := func(name string, groups ...string) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{ObjectMeta: meta(name, nil),
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
			Subjects: groupSubjects(groups...)}
	}
	// The bindings of podium's own users, as kubeadm makes them for its: the join
	// token's bootstrap users may ask for a new node's client certificate, nodes may
	// renew their own, and the API server may use every node's API.
	podium := func(name, role string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{ObjectMeta: meta(name, nil),
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role}, Subjects: subjects}
	}
	return []*rbacv1.ClusterRoleBinding{
		bind("cluster-admin", "system:masters"),
		bind("system:discovery", "system:authenticated"),
		bind("system:basic-user", "system:authenticated"),
		bind("system:public-info-viewer", "system:authenticated", "system:unauthenticated"),
		bind("system:service-account-issuer-discovery", "system:serviceaccounts"),
		podium("podium:node-bootstrapper", "system:node-bootstrapper", groupSubjects("system:bootstrappers")...),
		podium("podium:node-autoapprove-bootstrap", csrRole+"nodeclient", groupSubjects("system:bootstrappers")...),
		podium("podium:node-autoapprove-certificate-rotation", csrRole+"selfnodeclient", groupSubjects("system:nodes")...),
		podium("podium:apiserver-kubelet-api-admin", "system:kubelet-api-admin",
			rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: pki.KubeletClientUser}),
	}
}

// ExtensionAuthentication is the ConfigMap in kube-system that tells extension API
// servers how to authenticate the API server's requests, as upstream names it.
const ExtensionAuthentication = "extension-apiserver-authentication"

// Roles returns the default Roles, in the namespaces they belong to.
func Roles() []*rbacv1.Role {
	reader := &rbacv1.Role{ObjectMeta: meta("extension-apiserver-authentication-reader", nil), Rules: []rbacv1.PolicyRule{
		{Verbs: read, APIGroups: g(""), Resources: []string{"configmaps"}, ResourceNames: []string{ExtensionAuthentication}},
	}}
	reader.Namespace = metav1.NamespaceSystem
	return []*rbacv1.Role{reader}
}

// Reconcile creates the default ClusterRoles, Roles and ClusterRoleBindings that are
// missing, and gives those whose autoupdate annotation is not "false" back the rules,
// the aggregation rule and the subjects they lack. What an admin added is kept.
func Reconcile(ctx context.Context, cs kubernetes.Interface) error {
	roles := cs.RbacV1().ClusterRoles()
	for _, want := range ClusterRoles() {
		err := ensure(ctx, "ClusterRole", want,
			func(name string) (*rbacv1.ClusterRole, error) { return roles.Get(ctx, name, metav1.GetOptions{}) },
			func(o *rbacv1.ClusterRole) error { _, err := roles.Create(ctx, o, metav1.CreateOptions{}); return err },
			func(o *rbacv1.ClusterRole) error { _, err := roles.Update(ctx, o, metav1.UpdateOptions{}); return err },
			func(next *rbacv1.ClusterRole) {
				if want.AggregationRule != nil {
					next.AggregationRule = want.AggregationRule // the rules are the aggregation controller's
				} else {
					next.Rules = union(next.Rules, want.Rules)
				}
			})
		if err != nil {
			return err
		}
	}
	for _, want := range Roles() {
		roles := cs.RbacV1().Roles(want.Namespace)
		err := ensure(ctx, "Role", want,
			func(name string) (*rbacv1.Role, error) { return roles.Get(ctx, name, metav1.GetOptions{}) },
			func(o *rbacv1.Role) error { _, err := roles.Create(ctx, o, metav1.CreateOptions{}); return err },
			func(o *rbacv1.Role) error { _, err := roles.Update(ctx, o, metav1.UpdateOptions{}); return err },
			func(next *rbacv1.Role) { next.Rules = union(next.Rules, want.Rules) })
		if err != nil {
			return err
		}
	}
	bindings := cs.RbacV1().ClusterRoleBindings()
	for _, want := range ClusterRoleBindings() {
		err := ensure(ctx, "ClusterRoleBinding", want,
			func(name string) (*rbacv1.ClusterRoleBinding, error) {
				return bindings.Get(ctx, name, metav1.GetOptions{})
			},
			func(o *rbacv1.ClusterRoleBinding) error {
				_, err := bindings.Create(ctx, o, metav1.CreateOptions{})
				return err
			},
			func(o *rbacv1.ClusterRoleBinding) error {
				_, err := bindings.Update(ctx, o, metav1.UpdateOptions{})
				return err
			},
			func(next *rbacv1.ClusterRoleBinding) {
				for _, s := range want.Subjects {
					if !slices.Contains(next.Subjects, s) {
						next.Subjects = append(next.Subjects, s)
					}
				}
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// ensure creates want when it is missing, or, unless it is marked not to be updated,
// mends a copy of what is there and writes it back when that changed anything.
func ensure[T interface {
	metav1.Object
	DeepCopyObject() runtime.Object
}](ctx context.Context, kind string, want T, get func(string) (T, error), create, update func(T) error, mend func(T)) error {
	have, err := get(want.GetName())
	if apierrors.IsNotFound(err) {
		if err := create(want); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating %s %s: %w", kind, want.GetName(), err)
		}
		return nil
	}
	if err != nil || have.GetAnnotations()[autoUpdateAnnote] == "false" {
		return err
	}
	next := have.DeepCopyObject().(T)
	mend(next)
	if equality.Semantic.DeepEqual(next, have) {
		return nil
	}
	if err := update(next); err != nil {
		return fmt.Errorf("updating %s %s: %w", kind, want.GetName(), err)
	}
	return nil
}

// union is have with each rule of want it lacks appended.
func union(have, want []rbacv1.PolicyRule) []rbacv1.PolicyRule {
	out := slices.Clone(have)
	for _, r := range want {
		if !slices.ContainsFunc(out, func(x rbacv1.PolicyRule) bool { return equality.Semantic.DeepEqual(x, r) }) {
			out = append(out, r)
		}
	}
	return out
}
