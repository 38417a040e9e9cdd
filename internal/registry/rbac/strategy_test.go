package rbac

import (
	"reflect"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type fieldError struct {
	Type  field.ErrorType
	Field string
}

func summarize(errs field.ErrorList) []fieldError {
	var out []fieldError
	for _, e := range errs {
		out = append(out, fieldError{e.Type, e.Field})
	}
	return out
}

func messages(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// create runs a create's steps on obj and returns what validation finds.
func create(s registry.Strategy, obj runtime.Object) field.ErrorList {
	s.PrepareForCreate(obj)
	s.Default(obj)
	return s.Validate(obj)
}

// update runs an update's steps on obj over old and returns what validation finds.
func update(s registry.Strategy, obj, old runtime.Object) field.ErrorList {
	s.PrepareForUpdate(obj, old)
	s.Default(obj)
	return s.ValidateUpdate(obj, old)
}

func meta(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace}
}

func newRole(rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: meta("reader", "default"), Rules: rules}
}

func newClusterRole(rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: meta("reader", ""), Rules: rules}
}

func newRoleBinding(ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: meta("read", "default"), RoleRef: ref, Subjects: subjects}
}

func newClusterRoleBinding(ref rbacv1.RoleRef, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{ObjectMeta: meta("read", ""), RoleRef: ref, Subjects: subjects}
}

func podsRule(verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, APIGroups: []string{""}, Resources: []string{"pods"}}
}

func urlRule(verbs ...string) rbacv1.PolicyRule {
	return rbacv1.PolicyRule{Verbs: verbs, NonResourceURLs: []string{"/healthz", "/metrics/*"}}
}

func ref(kind, name string) rbacv1.RoleRef { return rbacv1.RoleRef{Kind: kind, Name: name} }

func user(name string) rbacv1.Subject  { return rbacv1.Subject{Kind: rbacv1.UserKind, Name: name} }
func group(name string) rbacv1.Subject { return rbacv1.Subject{Kind: rbacv1.GroupKind, Name: name} }
func sa(namespace, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: name}
}

func TestInfo(t *testing.T) {
	tests := []struct {
		s          registry.Strategy
		gvr        string
		kind       string
		singular   string
		namespaced bool
	}{
		{NewRoles(), "rbac.authorization.k8s.io/v1, Resource=roles", "Role", "role", true},
		{NewClusterRoles(), "rbac.authorization.k8s.io/v1, Resource=clusterroles", "ClusterRole", "clusterrole", false},
		{NewRoleBindings(), "rbac.authorization.k8s.io/v1, Resource=rolebindings", "RoleBinding", "rolebinding", true},
		{NewClusterRoleBindings(), "rbac.authorization.k8s.io/v1, Resource=clusterrolebindings", "ClusterRoleBinding", "clusterrolebinding", false},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			info := tt.s.Info()
			if info.GroupVersionResource().String() != tt.gvr || info.Kind != tt.kind || info.ListKind != tt.kind+"List" ||
				info.Singular != tt.singular || info.Namespaced != tt.namespaced ||
				len(info.ShortNames) != 0 || len(info.Categories) != 0 || len(info.Subresources) != 0 || info.StorageResource != "" {
				t.Errorf("Info = %+v", info)
			}
			if got := reflect.TypeOf(tt.s.New()).Elem().Name(); got != tt.kind {
				t.Errorf("New() is a %s", got)
			}
			if got := reflect.TypeOf(tt.s.NewList()).Elem().Name(); got != tt.kind+"List" {
				t.Errorf("NewList() is a %s", got)
			}
		})
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name   string
		prefix bool
		want   []string
	}{
		{name: "view"},
		{name: "system:controller:job-controller"},
		{name: "Not_A.DNS@Name"},
		{name: "x", prefix: true},
		{name: longName},
		{name: ".", want: []string{"may not be '.'"}},
		{name: "..", want: []string{"may not be '..'"}},
		{name: "..", prefix: true, want: []string{"may not be '..'"}},
		{name: "a/b", want: []string{"may not contain '/'"}},
		{name: "a%b/", prefix: true, want: []string{"may not contain '/'", "may not contain '%'"}},
	}
	for _, s := range []registry.Strategy{NewRoles(), NewClusterRoles(), NewRoleBindings(), NewClusterRoleBindings()} {
		for _, tt := range tests {
			if got := s.ValidateName(tt.name, tt.prefix); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%s: ValidateName(%q, %v) = %q, want %q", s.Info().Kind, tt.name, tt.prefix, got, tt.want)
			}
		}
	}
}

// longName is longer than a DNS subdomain may be: RBAC names have no limit of their own.
var longName = strings.Repeat("a", 300)

func TestDefault(t *testing.T) {
	tests := []struct {
		name     string
		ref      rbacv1.RoleRef
		subjects []rbacv1.Subject
		wantRef  rbacv1.RoleRef
		want     []rbacv1.Subject
	}{
		{
			name:    "roleRef group",
			ref:     ref("ClusterRole", "view"),
			wantRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		},
		{
			name:    "roleRef group kept",
			ref:     rbacv1.RoleRef{APIGroup: "example.com", Kind: "ClusterRole", Name: "view"},
			wantRef: rbacv1.RoleRef{APIGroup: "example.com", Kind: "ClusterRole", Name: "view"},
		},
		{
			name:     "subjects",
			ref:      rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			subjects: []rbacv1.Subject{user("jane"), group("devs"), sa("default", "ci"), {Kind: "Robot", Name: "r2"}, {Kind: rbacv1.UserKind, APIGroup: "example.com", Name: "joe"}},
			wantRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			want: []rbacv1.Subject{
				{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "jane"},
				{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "devs"},
				{Kind: rbacv1.ServiceAccountKind, Namespace: "default", Name: "ci"},
				{Kind: "Robot", Name: "r2"},
				{Kind: rbacv1.UserKind, APIGroup: "example.com", Name: "joe"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i := 0; i < 2; i++ { // a second Default changes nothing
				rb := newRoleBinding(tt.ref, append([]rbacv1.Subject(nil), tt.subjects...)...)
				crb := newClusterRoleBinding(tt.ref, append([]rbacv1.Subject(nil), tt.subjects...)...)
				for j := 0; j <= i; j++ {
					NewRoleBindings().Default(rb)
					NewClusterRoleBindings().Default(crb)
				}
				if rb.RoleRef != tt.wantRef || !reflect.DeepEqual(rb.Subjects, tt.want) {
					t.Errorf("RoleBinding defaulted to %+v %+v", rb.RoleRef, rb.Subjects)
				}
				if crb.RoleRef != tt.wantRef || !reflect.DeepEqual(crb.Subjects, tt.want) {
					t.Errorf("ClusterRoleBinding defaulted to %+v %+v", crb.RoleRef, crb.Subjects)
				}
			}
		})
	}
	// Roles have no defaults.
	r, cr := newRole(rbacv1.PolicyRule{}), newClusterRole(rbacv1.PolicyRule{})
	cr.AggregationRule = &rbacv1.AggregationRule{}
	wantR, wantCR := r.DeepCopy(), cr.DeepCopy()
	NewRoles().Default(r)
	NewClusterRoles().Default(cr)
	if !reflect.DeepEqual(r, wantR) || !reflect.DeepEqual(cr, wantCR) {
		t.Errorf("Default changed a role: %+v %+v", r, cr)
	}
}

// TestPrepare: nothing is reset or carried over, the generation included.
func TestPrepare(t *testing.T) {
	objs := []struct {
		s        registry.Strategy
		obj, old runtime.Object
	}{
		{NewRoles(), newRole(podsRule("get")), newRole()},
		{NewClusterRoles(), newClusterRole(urlRule("get")), newClusterRole()},
		{NewRoleBindings(), newRoleBinding(ref("Role", "reader"), user("jane")), newRoleBinding(ref("Role", "reader"))},
		{NewClusterRoleBindings(), newClusterRoleBinding(ref("ClusterRole", "view"), group("devs")), newClusterRoleBinding(ref("ClusterRole", "view"))},
	}
	for _, o := range objs {
		obj := o.obj.DeepCopyObject()
		obj.(metav1.Object).SetGeneration(3)
		old := o.old.DeepCopyObject()
		old.(metav1.Object).SetGeneration(7)
		want := obj.DeepCopyObject()
		o.s.PrepareForCreate(obj)
		o.s.PrepareForUpdate(obj, old)
		o.s.PrepareForStatusUpdate(obj, old)
		if !reflect.DeepEqual(obj, want) {
			t.Errorf("%s: Prepare changed the object to %+v", o.s.Info().Kind, obj)
		}
		if errs := o.s.ValidateStatusUpdate(obj, old); errs != nil {
			t.Errorf("%s: ValidateStatusUpdate = %v", o.s.Info().Kind, errs)
		}
	}
}

func TestValidateRoles(t *testing.T) {
	mixed := rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}, ResourceNames: []string{"x"}}
	tests := []struct {
		name string
		// rules are checked in a Role and in a ClusterRole.
		rules       []rbacv1.PolicyRule
		wantRole    []fieldError
		wantCluster []fieldError
	}{
		{name: "no rules"},
		{name: "resource rules", rules: []rbacv1.PolicyRule{podsRule("get", "list"), {Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}, ResourceNames: []string{"a"}}}},
		{
			name:     "url rule",
			rules:    []rbacv1.PolicyRule{urlRule("get")},
			wantRole: []fieldError{{field.ErrorTypeInvalid, "rules[0].nonResourceURLs"}},
		},
		{
			name:        "url rule with resources",
			rules:       []rbacv1.PolicyRule{podsRule("get"), {Verbs: []string{"get"}, NonResourceURLs: []string{"/api"}, APIGroups: []string{""}}},
			wantRole:    []fieldError{{field.ErrorTypeInvalid, "rules[1].nonResourceURLs"}, {field.ErrorTypeInvalid, "rules[1].nonResourceURLs"}},
			wantCluster: []fieldError{{field.ErrorTypeInvalid, "rules[1].nonResourceURLs"}},
		},
		{
			name:        "url rule with resource names",
			rules:       []rbacv1.PolicyRule{mixed},
			wantRole:    []fieldError{{field.ErrorTypeInvalid, "rules[0].nonResourceURLs"}, {field.ErrorTypeInvalid, "rules[0].nonResourceURLs"}},
			wantCluster: []fieldError{{field.ErrorTypeInvalid, "rules[0].nonResourceURLs"}},
		},
		{
			name:        "url not checked",
			rules:       []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"healthz"}}},
			wantRole:    []fieldError{{field.ErrorTypeInvalid, "rules[0].nonResourceURLs"}},
			wantCluster: nil,
		},
		{
			name:        "no api groups",
			rules:       []rbacv1.PolicyRule{{Verbs: []string{"get"}, Resources: []string{"pods"}}},
			wantRole:    []fieldError{{field.ErrorTypeRequired, "rules[0].apiGroups"}},
			wantCluster: []fieldError{{field.ErrorTypeRequired, "rules[0].apiGroups"}},
		},
		{
			name:        "empty rule",
			rules:       []rbacv1.PolicyRule{podsRule("get"), {}},
			wantRole:    []fieldError{{field.ErrorTypeRequired, "rules[1].apiGroups"}, {field.ErrorTypeRequired, "rules[1].resources"}, {field.ErrorTypeRequired, "rules[1].verbs"}},
			wantCluster: []fieldError{{field.ErrorTypeRequired, "rules[1].apiGroups"}, {field.ErrorTypeRequired, "rules[1].resources"}, {field.ErrorTypeRequired, "rules[1].verbs"}},
		},
		{
			name:        "verbs last",
			rules:       []rbacv1.PolicyRule{podsRule(), urlRule(), {Verbs: []string{"get"}, APIGroups: []string{"apps"}}},
			wantRole:    []fieldError{{field.ErrorTypeInvalid, "rules[1].nonResourceURLs"}, {field.ErrorTypeRequired, "rules[2].resources"}, {field.ErrorTypeRequired, "rules[0].verbs"}, {field.ErrorTypeRequired, "rules[1].verbs"}},
			wantCluster: []fieldError{{field.ErrorTypeRequired, "rules[2].resources"}, {field.ErrorTypeRequired, "rules[0].verbs"}, {field.ErrorTypeRequired, "rules[1].verbs"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(create(NewRoles(), newRole(tt.rules...))); !reflect.DeepEqual(got, tt.wantRole) {
				t.Errorf("Role: %v, want %v", got, tt.wantRole)
			}
			if got := summarize(create(NewClusterRoles(), newClusterRole(tt.rules...))); !reflect.DeepEqual(got, tt.wantCluster) {
				t.Errorf("ClusterRole: %v, want %v", got, tt.wantCluster)
			}
		})
	}
}

func TestValidateAggregationRule(t *testing.T) {
	sel := func(ls ...metav1.LabelSelector) *rbacv1.AggregationRule {
		return &rbacv1.AggregationRule{ClusterRoleSelectors: ls}
	}
	tests := []struct {
		name string
		rule *rbacv1.AggregationRule
		want []fieldError
	}{
		{name: "none"},
		{name: "selectors", rule: sel(
			metav1.LabelSelector{MatchLabels: map[string]string{"rbac.example.com/aggregate-to-view": "true"}},
			metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpExists}}},
			metav1.LabelSelector{},
		)},
		{name: "no selectors", rule: sel(), want: []fieldError{{field.ErrorTypeRequired, "aggregationRule.clusterRoleSelectors"}}},
		{
			name: "bad operator",
			rule: sel(metav1.LabelSelector{}, metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}}),
			want: []fieldError{
				{field.ErrorTypeInvalid, "aggregationRule.clusterRoleSelectors[1].matchExpressions[0].operator"},
				{field.ErrorTypeInvalid, "aggregationRule.clusterRoleSelectors[1]"},
			},
		},
		{
			name: "bad label value",
			rule: sel(metav1.LabelSelector{MatchLabels: map[string]string{"a": "not valid!"}}),
			want: []fieldError{
				{field.ErrorTypeInvalid, "aggregationRule.clusterRoleSelectors[0].matchLabels"},
				{field.ErrorTypeInvalid, "aggregationRule.clusterRoleSelectors[0]"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cr := newClusterRole()
			cr.AggregationRule = tt.rule
			if got := summarize(create(NewClusterRoles(), cr)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateBindings(t *testing.T) {
	tests := []struct {
		name        string
		ref         rbacv1.RoleRef
		subjects    []rbacv1.Subject
		wantNS      []fieldError // as a RoleBinding
		wantCluster []fieldError // as a ClusterRoleBinding
	}{
		{
			name:     "cluster role",
			ref:      ref("ClusterRole", "system:view"),
			subjects: []rbacv1.Subject{user("jane"), group("system:authenticated"), sa("kube-system", "ci"), user("ü@example.com")},
		},
		{
			name:        "role",
			ref:         ref("Role", "reader"),
			wantCluster: []fieldError{{field.ErrorTypeNotSupported, "roleRef.kind"}},
		},
		{
			name:        "other group",
			ref:         rbacv1.RoleRef{APIGroup: "example.com", Kind: "ClusterRole", Name: "view"},
			wantNS:      []fieldError{{field.ErrorTypeNotSupported, "roleRef.apiGroup"}},
			wantCluster: []fieldError{{field.ErrorTypeNotSupported, "roleRef.apiGroup"}},
		},
		{
			name:        "other kind",
			ref:         ref("Policy", "view"),
			wantNS:      []fieldError{{field.ErrorTypeNotSupported, "roleRef.kind"}},
			wantCluster: []fieldError{{field.ErrorTypeNotSupported, "roleRef.kind"}},
		},
		{
			name:        "bad role name",
			ref:         ref("ClusterRole", "a/b%"),
			wantNS:      []fieldError{{field.ErrorTypeInvalid, "roleRef.name"}, {field.ErrorTypeInvalid, "roleRef.name"}},
			wantCluster: []fieldError{{field.ErrorTypeInvalid, "roleRef.name"}, {field.ErrorTypeInvalid, "roleRef.name"}},
		},
		{
			name:        "no role name",
			ref:         ref("", ""),
			wantNS:      []fieldError{{field.ErrorTypeNotSupported, "roleRef.kind"}, {field.ErrorTypeRequired, "roleRef.name"}},
			wantCluster: []fieldError{{field.ErrorTypeNotSupported, "roleRef.kind"}, {field.ErrorTypeRequired, "roleRef.name"}},
		},
		{
			name:        "service account without namespace",
			ref:         ref("ClusterRole", "view"),
			subjects:    []rbacv1.Subject{sa("", "ci")},
			wantCluster: []fieldError{{field.ErrorTypeRequired, "subjects[0].namespace"}},
		},
		{
			name:        "service account name",
			ref:         ref("ClusterRole", "view"),
			subjects:    []rbacv1.Subject{sa("ns", "CI_bot")},
			wantNS:      []fieldError{{field.ErrorTypeInvalid, "subjects[0].name"}},
			wantCluster: []fieldError{{field.ErrorTypeInvalid, "subjects[0].name"}},
		},
		{
			name:        "service account group",
			ref:         ref("ClusterRole", "view"),
			subjects:    []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, APIGroup: rbacv1.GroupName, Namespace: "ns", Name: "ci"}},
			wantNS:      []fieldError{{field.ErrorTypeNotSupported, "subjects[0].apiGroup"}},
			wantCluster: []fieldError{{field.ErrorTypeNotSupported, "subjects[0].apiGroup"}},
		},
		{
			name:        "user and group groups",
			ref:         ref("ClusterRole", "view"),
			subjects:    []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: "v1", Name: "jane"}, {Kind: rbacv1.GroupKind, APIGroup: "v1", Name: "devs"}},
			wantNS:      []fieldError{{field.ErrorTypeNotSupported, "subjects[0].apiGroup"}, {field.ErrorTypeNotSupported, "subjects[1].apiGroup"}},
			wantCluster: []fieldError{{field.ErrorTypeNotSupported, "subjects[0].apiGroup"}, {field.ErrorTypeNotSupported, "subjects[1].apiGroup"}},
		},
		{
			name:        "other subject kind",
			ref:         ref("ClusterRole", "view"),
			subjects:    []rbacv1.Subject{{Kind: "Robot", Name: "r2"}},
			wantNS:      []fieldError{{field.ErrorTypeNotSupported, "subjects[0].kind"}},
			wantCluster: []fieldError{{field.ErrorTypeNotSupported, "subjects[0].kind"}},
		},
		{
			name:     "names required last",
			ref:      ref("Role", ""),
			subjects: []rbacv1.Subject{user(""), {Kind: "Robot"}, sa("", "")},
			wantNS: []fieldError{
				{field.ErrorTypeNotSupported, "subjects[1].kind"},
				{field.ErrorTypeRequired, "subjects[0].name"},
				{field.ErrorTypeRequired, "subjects[1].name"},
				{field.ErrorTypeRequired, "subjects[2].name"},
				{field.ErrorTypeRequired, "roleRef.name"},
			},
			wantCluster: []fieldError{
				{field.ErrorTypeNotSupported, "roleRef.kind"},
				{field.ErrorTypeNotSupported, "subjects[1].kind"},
				{field.ErrorTypeRequired, "subjects[2].namespace"},
				{field.ErrorTypeRequired, "subjects[0].name"},
				{field.ErrorTypeRequired, "subjects[1].name"},
				{field.ErrorTypeRequired, "subjects[2].name"},
				{field.ErrorTypeRequired, "roleRef.name"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rb := newRoleBinding(tt.ref, append([]rbacv1.Subject(nil), tt.subjects...)...)
			if got := summarize(create(NewRoleBindings(), rb)); !reflect.DeepEqual(got, tt.wantNS) {
				t.Errorf("RoleBinding: %v, want %v", got, tt.wantNS)
			}
			crb := newClusterRoleBinding(tt.ref, append([]rbacv1.Subject(nil), tt.subjects...)...)
			if got := summarize(create(NewClusterRoleBindings(), crb)); !reflect.DeepEqual(got, tt.wantCluster) {
				t.Errorf("ClusterRoleBinding: %v, want %v", got, tt.wantCluster)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	aggregated := newClusterRole()
	aggregated.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
		{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Near"}}},
	}}
	emptyAggregation := newClusterRole()
	emptyAggregation.AggregationRule = &rbacv1.AggregationRule{}
	tests := []struct {
		name string
		s    registry.Strategy
		obj  runtime.Object
		want []string
	}{
		{
			name: "role rules",
			s:    NewRoles(),
			obj:  newRole(rbacv1.PolicyRule{NonResourceURLs: []string{"/healthz"}, Resources: []string{"pods"}}, rbacv1.PolicyRule{Verbs: []string{"get"}}),
			want: []string{
				`rules[0].nonResourceURLs: Invalid value: ["/healthz"]: namespaced rules cannot apply to non-resource URLs`,
				`rules[0].nonResourceURLs: Invalid value: ["/healthz"]: rules cannot apply to both regular resources and non-resource URLs`,
				"rules[1].apiGroups: Required value: resource rules must supply at least one api group",
				"rules[1].resources: Required value: resource rules must supply at least one resource",
				"rules[0].verbs: Required value",
			},
		},
		{
			name: "aggregation rule",
			s:    NewClusterRoles(),
			obj:  aggregated,
			want: []string{
				`aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator: Invalid value: "Near": not a valid selector operator`,
				"aggregationRule.clusterRoleSelectors[0]: Invalid value: null: invalid label selector.",
			},
		},
		{
			name: "empty aggregation rule",
			s:    NewClusterRoles(),
			obj:  emptyAggregation,
			want: []string{"aggregationRule.clusterRoleSelectors: Required value: at least one clusterRoleSelector required if aggregationRule is non-nil"},
		},
		{
			name: "role binding",
			s:    NewRoleBindings(),
			obj: newRoleBinding(rbacv1.RoleRef{APIGroup: "example.com", Kind: "Policy", Name: ".."},
				rbacv1.Subject{Kind: "Robot", Name: "r2"}, rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, APIGroup: "v1", Name: "ci.bot_"}, user("")),
			want: []string{
				`roleRef.apiGroup: Unsupported value: "example.com": supported values: "rbac.authorization.k8s.io"`,
				`roleRef.kind: Unsupported value: "Policy": supported values: "Role", "ClusterRole"`,
				`roleRef.name: Invalid value: "..": may not be '..'`,
				`subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"`,
				`subjects[1].name: Invalid value: "ci.bot_": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
				`subjects[1].apiGroup: Unsupported value: "v1": supported values: ""`,
				"subjects[2].name: Required value",
			},
		},
		{
			name: "cluster role binding",
			s:    NewClusterRoleBindings(),
			obj:  newClusterRoleBinding(ref("Role", ""), sa("", "ci"), rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: "v1", Name: "devs"}),
			want: []string{
				`roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`,
				"subjects[0].namespace: Required value",
				`subjects[1].apiGroup: Unsupported value: "v1": supported values: "rbac.authorization.k8s.io"`,
				"roleRef.name: Required value",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := messages(create(tt.s, tt.obj)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%q\nwant:\n%q", got, tt.want)
			}
		})
	}
}

// TestRoleRefImmutable: a binding's roleRef may not change on update; everything else
// may, and the new object is checked as on create.
func TestRoleRefImmutable(t *testing.T) {
	stored := newRoleBinding(ref("ClusterRole", "view"), user("jane"))
	NewRoleBindings().Default(stored)
	tests := []struct {
		name   string
		change func(*rbacv1.RoleBinding)
		want   []string
	}{
		{name: "subjects", change: func(b *rbacv1.RoleBinding) { b.Subjects = append(b.Subjects, group("devs"), sa("", "ci")) }},
		{name: "labels", change: func(b *rbacv1.RoleBinding) { b.Labels = map[string]string{"a": "b"} }},
		{name: "resent undefaulted", change: func(b *rbacv1.RoleBinding) { b.RoleRef.APIGroup, b.Subjects[0].APIGroup = "", "" }},
		{
			name:   "role name",
			change: func(b *rbacv1.RoleBinding) { b.RoleRef.Name = "edit" },
			want:   []string{`roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"ClusterRole","Name":"edit"}: field is immutable`},
		},
		{
			name:   "role kind",
			change: func(b *rbacv1.RoleBinding) { b.RoleRef.Kind = "Role" },
			want:   []string{`roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"Role","Name":"view"}: field is immutable`},
		},
		{
			// The name's absence is then reported where the handwritten check finds it.
			name: "role name removed",
			change: func(b *rbacv1.RoleBinding) {
				b.RoleRef.Name = ""
				b.Subjects = append(b.Subjects, user(""))
			},
			want: []string{
				"roleRef.name: Required value",
				`roleRef: Invalid value: {"APIGroup":"rbac.authorization.k8s.io","Kind":"ClusterRole","Name":""}: field is immutable`,
				"subjects[1].name: Required value",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := stored.DeepCopy()
			tt.change(next)
			if got := messages(update(NewRoleBindings(), next, stored)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RoleBinding:\n%q\nwant:\n%q", got, tt.want)
			}
			// The same change to a ClusterRoleBinding.
			cstored := newClusterRoleBinding(stored.RoleRef, stored.Subjects...)
			cnext := newClusterRoleBinding(next.RoleRef, next.Subjects...)
			cnext.Labels = next.Labels
			want := tt.want
			switch tt.name {
			case "subjects":
				want = []string{"subjects[2].namespace: Required value"}
			case "role kind":
				want = append([]string{`roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole"`}, want...)
			}
			if got := messages(update(NewClusterRoleBindings(), cnext, cstored)); !reflect.DeepEqual(got, want) {
				t.Errorf("ClusterRoleBinding:\n%q\nwant:\n%q", got, want)
			}
		})
	}
}

// TestUpdateUnchanged: on update, required fields of a part left as stored are reported
// by the handwritten checks, in place and with their detail.
func TestUpdateUnchanged(t *testing.T) {
	stored := newClusterRole(podsRule(), urlRule("get"))
	next := stored.DeepCopy()
	next.Labels = map[string]string{"a": "b"}
	want := []string{"rules[0].verbs: Required value: verbs must contain at least one value"}
	if got := messages(update(NewClusterRoles(), next, stored)); !reflect.DeepEqual(got, want) {
		t.Errorf("ClusterRole:\n%q\nwant:\n%q", got, want)
	}
	next.Rules = append(next.Rules, rbacv1.PolicyRule{APIGroups: []string{""}})
	want = []string{"rules[2].resources: Required value: resource rules must supply at least one resource", "rules[0].verbs: Required value", "rules[2].verbs: Required value"}
	if got := messages(update(NewClusterRoles(), next, stored)); !reflect.DeepEqual(got, want) {
		t.Errorf("ClusterRole, rules changed:\n%q\nwant:\n%q", got, want)
	}

	role := newRole(podsRule())
	want = []string{"rules[0].verbs: Required value: verbs must contain at least one value"}
	if got := messages(update(NewRoles(), role.DeepCopy(), role)); !reflect.DeepEqual(got, want) {
		t.Errorf("Role:\n%q\nwant:\n%q", got, want)
	}

	binding := newRoleBinding(ref("Role", "reader"), rbacv1.Subject{Kind: "Robot"})
	NewRoleBindings().Default(binding)
	want = []string{"subjects[0].name: Required value", `subjects[0].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"`}
	if got := messages(update(NewRoleBindings(), binding.DeepCopy(), binding)); !reflect.DeepEqual(got, want) {
		t.Errorf("RoleBinding:\n%q\nwant:\n%q", got, want)
	}
}

// TestAggregationRuleUpdate: a stored aggregation rule with an invalid label value lets
// the update pass the label checks, but not upstream's selector conversion.
func TestAggregationRuleUpdate(t *testing.T) {
	bad := metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: metav1.LabelSelectorOpIn, Values: []string{"not valid!"}}}}
	good := metav1.LabelSelector{MatchLabels: map[string]string{"a": "b"}}
	withSelectors := func(ls ...metav1.LabelSelector) *rbacv1.ClusterRole {
		cr := newClusterRole()
		cr.AggregationRule = &rbacv1.AggregationRule{ClusterRoleSelectors: ls}
		return cr
	}
	tests := []struct {
		name      string
		next, old *rbacv1.ClusterRole
		want      []fieldError
	}{
		{name: "valid", next: withSelectors(good), old: withSelectors(good)},
		{
			name: "invalid introduced",
			next: withSelectors(good, bad), old: withSelectors(good),
			want: []fieldError{
				{field.ErrorTypeInvalid, "aggregationRule.clusterRoleSelectors[1].matchExpressions[0].values[0]"},
				{field.ErrorTypeInvalid, "aggregationRule.clusterRoleSelectors[1]"},
			},
		},
		{
			name: "invalid stored",
			next: withSelectors(good, bad), old: withSelectors(bad),
			want: []fieldError{{field.ErrorTypeInvalid, "aggregationRule.clusterRoleSelectors[1]"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(update(NewClusterRoles(), tt.next, tt.old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate = %v, want %v", got, tt.want)
			}
		})
	}
}

func columns(s registry.Strategy) []string {
	var out []string
	for _, c := range s.Columns() {
		name := c.Name + ":" + c.Type
		if c.Priority != 0 {
			name += ":wide"
		}
		out = append(out, name)
	}
	return out
}

func TestTable(t *testing.T) {
	created := metav1.NewTime(time.Date(2025, 5, 31, 14, 0, 0, 0, time.FixedZone("CEST", 2*3600)))

	role := newRole(podsRule("get"))
	role.CreationTimestamp = created
	cr := newClusterRole()
	for _, s := range []registry.Strategy{NewRoles(), NewClusterRoles()} {
		if got, want := columns(s), []string{"Name:string", "Created At:date"}; !reflect.DeepEqual(got, want) {
			t.Errorf("%s columns %v, want %v", s.Info().Kind, got, want)
		}
	}
	if got, want := NewRoles().Row(role, now), []interface{}{"reader", "2025-05-31T12:00:00Z"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Role row %#v, want %#v", got, want)
	}
	if got, want := NewClusterRoles().Row(cr, now), []interface{}{"reader", "0001-01-01T00:00:00Z"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ClusterRole row %#v, want %#v", got, want)
	}

	bindingCols := []string{"Name:string", "Role:string", "Age:string", "Users:string:wide", "Groups:string:wide", "ServiceAccounts:string:wide"}
	for _, s := range []registry.Strategy{NewRoleBindings(), NewClusterRoleBindings()} {
		if got := columns(s); !reflect.DeepEqual(got, bindingCols) {
			t.Errorf("%s columns %v, want %v", s.Info().Kind, got, bindingCols)
		}
	}
	subjects := []rbacv1.Subject{user("jane"), sa("kube-system", "ci"), group("devs"), {Kind: "Robot", Name: "r2"}, user("joe"), sa("", "orphan")}
	rb := newRoleBinding(ref("Role", "reader"), subjects...)
	rb.CreationTimestamp = created
	want := []interface{}{"read", "Role/reader", "24h", "jane, joe", "devs", "kube-system/ci, /orphan"}
	if got := NewRoleBindings().Row(rb, now); !reflect.DeepEqual(got, want) {
		t.Errorf("RoleBinding row %#v, want %#v", got, want)
	}
	crb := newClusterRoleBinding(ref("ClusterRole", "cluster-admin"))
	want = []interface{}{"read", "ClusterRole/cluster-admin", "<unknown>", "", "", ""}
	if got := NewClusterRoleBindings().Row(crb, now); !reflect.DeepEqual(got, want) {
		t.Errorf("ClusterRoleBinding row %#v, want %#v", got, want)
	}
}

func TestFields(t *testing.T) {
	tests := []struct {
		s   registry.Strategy
		obj runtime.Object
		ns  bool
	}{
		{NewRoles(), newRole(), true},
		{NewClusterRoles(), newClusterRole(), false},
		{NewRoleBindings(), newRoleBinding(ref("Role", "reader")), true},
		{NewClusterRoleBindings(), newClusterRoleBinding(ref("ClusterRole", "view")), false},
	}
	for _, tt := range tests {
		got := tt.s.Fields(tt.obj)
		name := got["metadata.name"]
		ns, hasNS := got["metadata.namespace"]
		if (name != "reader" && name != "read") || hasNS != tt.ns || (tt.ns && ns != "default") || len(got) != map[bool]int{true: 2, false: 1}[tt.ns] {
			t.Errorf("%s: Fields = %v", tt.s.Info().Kind, got)
		}
	}
}
