package resourcequota

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
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

// list builds a resource list from name, quantity pairs.
func list(pairs ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i < len(pairs); i += 2 {
		l[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return l
}

// created runs a quota with spec through the create path.
func created(spec corev1.ResourceQuotaSpec) *corev1.ResourceQuota {
	rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "compute", Namespace: "default"}, Spec: spec}
	s := New()
	s.PrepareForCreate(rq)
	s.Default(rq)
	return rq
}

func TestInfo(t *testing.T) {
	s := New()
	want := registry.Info{Version: "v1", Kind: "ResourceQuota", ListKind: "ResourceQuotaList", Resource: "resourcequotas",
		Singular: "resourcequota", ShortNames: []string{"quota"}, Namespaced: true, Subresources: []string{"status"}}
	if got := s.Info(); !reflect.DeepEqual(got, want) {
		t.Errorf("Info = %+v, want %+v", got, want)
	}
	if msgs := s.ValidateName("Not_DNS", false); len(msgs) == 0 {
		t.Error("ValidateName accepted a name that is no DNS subdomain")
	}
	wantFields := fields.Set{"metadata.name": "compute", "metadata.namespace": "default"}
	if got := s.Fields(created(corev1.ResourceQuotaSpec{})); !reflect.DeepEqual(got, wantFields) {
		t.Errorf("Fields = %v, want %v", got, wantFields)
	}
}

func TestCreate(t *testing.T) {
	s := New()
	rq := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "compute", Namespace: "default"},
		Spec:       corev1.ResourceQuotaSpec{Hard: list("cpu", "1.0001", "pods", "10")},
		Status:     corev1.ResourceQuotaStatus{Hard: list("cpu", "5"), Used: list("cpu", "1")},
	}
	s.PrepareForCreate(rq)
	s.Default(rq)
	s.Default(rq)
	if !reflect.DeepEqual(rq.Status, corev1.ResourceQuotaStatus{}) {
		t.Errorf("status = %+v, want it cleared", rq.Status)
	}
	if q := rq.Spec.Hard[corev1.ResourceCPU]; q.String() != "1001m" {
		t.Errorf("cpu = %s, want it rounded up to 1001m", q.String())
	}
	if rq.Generation != 0 {
		t.Errorf("generation = %d, want none", rq.Generation)
	}
	if errs := s.Validate(rq); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}
}

func TestValidate(t *testing.T) {
	selector := func(reqs ...corev1.ScopedResourceSelectorRequirement) *corev1.ScopeSelector {
		return &corev1.ScopeSelector{MatchExpressions: reqs}
	}
	tests := []struct {
		name string
		spec corev1.ResourceQuotaSpec
		want []fieldError
	}{
		{
			name: "valid names",
			spec: corev1.ResourceQuotaSpec{Hard: list(
				"requests.cpu", "1", "limits.memory", "1Gi", "count/deployments.apps", "3", "requests.nvidia.com/gpu", "2",
				"hugepages-2Mi", "1Gi", "requests.hugepages-1Gi", "2Gi", "services.loadbalancers", "0", "requests.storage", "10Gi")},
		},
		{
			name: "bare storage",
			spec: corev1.ResourceQuotaSpec{Hard: list("storage", "1Gi")},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.hard[storage]"}},
		},
		{
			name: "unknown unprefixed name",
			spec: corev1.ResourceQuotaSpec{Hard: list("widgets", "1")},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.hard[widgets]"}, {field.ErrorTypeInvalid, "spec.hard[widgets]"}},
		},
		{
			name: "negative",
			spec: corev1.ResourceQuotaSpec{Hard: list("memory", "-1Gi")},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.hard[memory]"}},
		},
		{
			name: "fractional counts",
			spec: corev1.ResourceQuotaSpec{Hard: list("pods", "1.5", "example.com/gpu", "500m", "requests.example.com/gpu", "500m")},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.hard[example.com/gpu]"}, {field.ErrorTypeInvalid, "spec.hard[pods]"}},
		},
		{
			name: "BestEffort with compute",
			spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5", "cpu", "1", "memory", "1Gi"), Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.scopes"}, {field.ErrorTypeInvalid, "spec.scopes"}},
		},
		{
			name: "unknown scope",
			spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5"), Scopes: []corev1.ResourceQuotaScope{"Sometimes"}},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.scopes"}},
		},
		{
			name: "conflicting scopes",
			spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5"), Scopes: []corev1.ResourceQuotaScope{
				corev1.ResourceQuotaScopeTerminating, corev1.ResourceQuotaScopeNotTerminating}},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.scopes"}},
		},
		{
			name: "volume attributes class scope with pods",
			spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5", "persistentvolumeclaims", "3", "secrets", "1"),
				Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeVolumeAttributesClass}},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.scopes"}, {field.ErrorTypeInvalid, "spec.scopes"}},
		},
		{
			name: "valid selector",
			spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5", "requests.cpu", "2"), ScopeSelector: selector(
				corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn, Values: []string{"high"}},
				corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeNotBestEffort, Operator: corev1.ScopeSelectorOpExists},
			)},
		},
		{
			name: "In without values",
			spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5"), ScopeSelector: selector(
				corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpIn})},
			want: []fieldError{{field.ErrorTypeRequired, "spec.scopeSelector.matchExpressions.values"}},
		},
		{
			name: "Exists with values",
			spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5"), ScopeSelector: selector(
				corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopePriorityClass, Operator: corev1.ScopeSelectorOpExists, Values: []string{"x"}})},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.scopeSelector.matchExpressions.values"}},
		},
		{
			name: "Terminating with In",
			spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5"), ScopeSelector: selector(
				corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeTerminating, Operator: corev1.ScopeSelectorOpIn, Values: []string{"x"}})},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.scopeSelector.matchExpressions.operator"}},
		},
		{
			name: "bad operator and scope",
			spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5"), ScopeSelector: selector(
				corev1.ScopedResourceSelectorRequirement{ScopeName: "Sometimes", Operator: "Near"})},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.scopeSelector.matchExpressions.scopeName"},
				{field.ErrorTypeInvalid, "spec.scopeSelector.matchExpressions.operator"},
			},
		},
		{
			name: "selector scope with unfit resource and conflict",
			spec: corev1.ResourceQuotaSpec{Hard: list("cpu", "1"), ScopeSelector: selector(
				corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpExists},
				corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeNotBestEffort, Operator: corev1.ScopeSelectorOpExists},
			)},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.scopeSelector.matchExpressions"}, {field.ErrorTypeInvalid, "spec.scopeSelector.matchExpressions"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarize(New().Validate(created(tt.spec))); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	rq := created(corev1.ResourceQuotaSpec{
		Hard: list("widgets", "1", "storage", "1Gi", "secrets", "-2", "configmaps", "1.5", "pods", "1"),
	})
	want := []string{
		`spec.hard[configmaps]: Invalid value: "1500m": must be an integer`,
		`spec.hard[secrets]: Invalid value: "-2": must be greater than or equal to 0`,
		`spec.hard[storage]: Invalid value: "storage": must be a standard resource for quota`,
		`spec.hard[widgets]: Invalid value: "widgets": must be a standard resource type or fully qualified`,
		`spec.hard[widgets]: Invalid value: "widgets": must be a standard resource for quota`,
	}
	if got := messages(New().Validate(rq)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%q\nwant\n%q", got, want)
	}

	// Every scope is checked against every limited resource quota knows, so a
	// BestEffort quota may count pods only.
	rq = created(corev1.ResourceQuotaSpec{
		Hard:   list("pods", "1", "secrets", "2", "example.com/gpu", "1"),
		Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort, corev1.ResourceQuotaScopeNotBestEffort},
		ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: corev1.ResourceQuotaScopeNotTerminating, Operator: corev1.ScopeSelectorOpDoesNotExist, Values: []string{"x"}},
		}},
	})
	want = []string{
		`spec.scopes: Invalid value: ["BestEffort","NotBestEffort"]: unsupported scope applied to resource`,
		`spec.scopes: Invalid value: ["BestEffort","NotBestEffort"]: unsupported scope applied to resource`,
		`spec.scopes: Invalid value: ["BestEffort","NotBestEffort"]: conflicting scopes`,
		`spec.scopeSelector.matchExpressions: Invalid value: {"MatchExpressions":[{"ScopeName":"NotTerminating","Operator":"DoesNotExist","Values":["x"]}]}: unsupported scope applied to resource`,
		"spec.scopeSelector.matchExpressions.operator: Invalid value: \"DoesNotExist\": must be 'Exists' when scope is any of ResourceQuotaScopeTerminating, " +
			"ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity",
		`spec.scopeSelector.matchExpressions.values: Invalid value: ["x"]: must be no value when ` + "`operator`" + ` is 'Exist' or 'DoesNotExist' for scope selector`,
	}
	if got := messages(New().Validate(rq)); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%q\nwant\n%q", got, want)
	}
}

func TestUpdate(t *testing.T) {
	s := New()
	old := created(corev1.ResourceQuotaSpec{Hard: list("pods", "10"), Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating}})
	old.ResourceVersion = "7"
	// A stored status is not checked again, even one no status write could make now.
	old.Status = corev1.ResourceQuotaStatus{Hard: list("pods", "10"), Used: list("pods", "2", "widgets", "-1")}
	tests := []struct {
		name   string
		mutate func(*corev1.ResourceQuota)
		want   []fieldError
	}{
		{name: "raise a limit", mutate: func(rq *corev1.ResourceQuota) { rq.Spec.Hard = list("pods", "20", "cpu", "4") }},
		{
			name: "reorder scopes",
			mutate: func(rq *corev1.ResourceQuota) {
				rq.Spec.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeNotTerminating, corev1.ResourceQuotaScopeNotTerminating}
			},
		},
		{
			name:   "change scopes",
			mutate: func(rq *corev1.ResourceQuota) { rq.Spec.Scopes = nil },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.scopes"}},
		},
		{
			name:   "bad spec",
			mutate: func(rq *corev1.ResourceQuota) { rq.Spec.Hard = list("pods", "-1") },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.hard[pods]"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rq := old.DeepCopy()
			tt.mutate(rq)
			rq.Status = corev1.ResourceQuotaStatus{Used: list("pods", "9")}
			s.PrepareForUpdate(rq, old)
			s.Default(rq)
			if !reflect.DeepEqual(rq.Status, old.Status) {
				t.Errorf("status = %+v, want the stored one", rq.Status)
			}
			if got := summarize(s.ValidateUpdate(rq, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStatusUpdate(t *testing.T) {
	s := New()
	old := created(corev1.ResourceQuotaSpec{Hard: list("pods", "10")})
	old.ResourceVersion = "7"
	rq := old.DeepCopy()
	rq.Spec.Hard = list("pods", "1000")
	rq.Status = corev1.ResourceQuotaStatus{Hard: list("pods", "10"), Used: list("pods", "3", "widgets", "-1")}
	s.PrepareForStatusUpdate(rq, old)
	s.Default(rq)
	if !reflect.DeepEqual(rq.Spec, old.Spec) {
		t.Errorf("spec = %+v, want the stored one", rq.Spec)
	}
	want := []fieldError{
		{field.ErrorTypeInvalid, "status.used[widgets]"},
		{field.ErrorTypeInvalid, "status.used[widgets]"},
		{field.ErrorTypeInvalid, "status.used[widgets]"},
	}
	if got := summarize(s.ValidateStatusUpdate(rq, old)); !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateStatusUpdate = %v, want %v", got, want)
	}
	rq.Status.Used = list("pods", "3")
	rq.ResourceVersion = ""
	want = []fieldError{{field.ErrorTypeRequired, "resourceVersion"}}
	if got := summarize(s.ValidateStatusUpdate(rq, old)); !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateStatusUpdate without resourceVersion = %v, want %v", got, want)
	}
}

func TestTable(t *testing.T) {
	s := New()
	rq := created(corev1.ResourceQuotaSpec{})
	rq.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	rq.Status = corev1.ResourceQuotaStatus{
		Hard: list("requests.cpu", "2", "pods", "10", "limits.memory", "4Gi", "limits.cpu", "4", "count/deployments.apps", "5"),
		Used: list("requests.cpu", "500m", "pods", "3", "limits.cpu", "1"),
	}
	want := []interface{}{
		"compute",
		"count/deployments.apps: 0/5, pods: 3/10, requests.cpu: 500m/2",
		"limits.cpu: 1/4, limits.memory: 0/4Gi",
		"3h",
	}
	if got := s.Row(rq, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %q\nwant  %q", got, want)
	}
	if got := s.Row(created(corev1.ResourceQuotaSpec{Hard: list("pods", "1")}), now); !reflect.DeepEqual(got, []interface{}{"compute", "", "", "<unknown>"}) {
		t.Errorf("Row before the controller reports = %q", got)
	}
	var names []string
	for _, c := range s.Columns() {
		names = append(names, c.Name)
	}
	if wantNames := []string{"Name", "Request", "Limit", "Age"}; !reflect.DeepEqual(names, wantNames) {
		t.Errorf("Columns = %v, want %v", names, wantNames)
	}
}

func TestCreateWarnings(t *testing.T) {
	tests := []struct {
		name string
		hard corev1.ResourceList
		want []string
	}{
		{name: "requests below limits", hard: list("requests.cpu", "1", "limits.cpu", "2")},
		{
			name: "bare names",
			hard: list("cpu", "4", "limits.cpu", "2", "memory", "1Gi", "limits.memory", "2Gi"),
			want: []string{"ResourceQuota cpu (4) should be less than limits.cpu (2)"},
		},
		{
			name: "requests name wins over the bare one",
			hard: list("requests.memory", "3Gi", "memory", "1Gi", "limits.memory", "2Gi", "requests.storage", "5Gi", "limits.storage", "1Gi"),
			want: []string{
				"ResourceQuota requests.memory (3Gi) should be less than limits.memory (2Gi)",
				"ResourceQuota requests.storage (5Gi) should be less than limits.storage (1Gi)",
			},
		},
		{name: "no bare storage", hard: list("storage", "5Gi", "limits.storage", "1Gi")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CreateWarnings(&corev1.ResourceQuota{Spec: corev1.ResourceQuotaSpec{Hard: tt.hard}})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CreateWarnings = %q, want %q", got, tt.want)
			}
		})
	}
}
