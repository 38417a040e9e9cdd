package poddisruptionbudget

import (
	"reflect"
	"testing"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func newPDB(spec policyv1.PodDisruptionBudgetSpec) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: spec}
}

func selector() *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
}

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

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.GroupVersionResource().String() != "policy/v1, Resource=poddisruptionbudgets" || !info.Namespaced ||
		!reflect.DeepEqual(info.ShortNames, []string{"pdb"}) || len(info.Categories) != 0 ||
		!reflect.DeepEqual(info.Subresources, []string{"status"}) {
		t.Errorf("Info = %+v", info)
	}
	if msgs := New().ValidateName("Web_Budget", false); len(msgs) != 0 {
		t.Errorf("ValidateName: %v (upstream takes any path segment)", msgs)
	}
	if msgs := New().ValidateName("a/b", false); len(msgs) == 0 {
		t.Error("ValidateName accepted a slash")
	}
}

func TestValidate(t *testing.T) {
	pct := intstr.FromString
	num := intstr.FromInt32
	tests := []struct {
		name string
		spec policyv1.PodDisruptionBudgetSpec
		want []fieldError
	}{
		{name: "min available", spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(num(2)), Selector: selector()}},
		{name: "max unavailable percent", spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(pct("100%")), Selector: selector()}},
		{name: "neither, no selector", spec: policyv1.PodDisruptionBudgetSpec{}},
		{
			name: "both",
			spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(num(1)), MaxUnavailable: ptr.To(num(1))},
			want: []fieldError{{field.ErrorTypeInvalid, "spec"}},
		},
		{
			name: "negative",
			spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(num(-1))},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.minAvailable"}},
		},
		{
			name: "over 100%",
			spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(pct("101%"))},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.maxUnavailable"}},
		},
		{
			name: "not a percentage",
			spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(pct("half"))},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.minAvailable"}},
		},
		{
			name: "bad selector",
			spec: policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}}},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.selector.matchExpressions[0].operator"}},
		},
		{
			name: "unknown eviction policy",
			spec: policyv1.PodDisruptionBudgetSpec{UnhealthyPodEvictionPolicy: ptr.To(policyv1.UnhealthyPodEvictionPolicyType("Never"))},
			want: []fieldError{{field.ErrorTypeNotSupported, "spec.unhealthyPodEvictionPolicy"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New()
			pdb := newPDB(tt.spec)
			s.PrepareForCreate(pdb)
			s.Default(pdb)
			if got := summarize(s.Validate(pdb)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	errs := New().Validate(newPDB(policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)), MaxUnavailable: ptr.To(intstr.FromString("120%"))}))
	if len(errs) != 2 || errs[0].Detail != "minAvailable and maxUnavailable cannot be both set" || errs[1].Detail != "must not be greater than 100%" {
		t.Errorf("errors: %v", errs)
	}
}

// TestUpdate: the spec may change (bumping the generation) but not the status; a
// stored selector that no longer validates lets the update keep its label values.
func TestUpdate(t *testing.T) {
	s := New()
	stored := newPDB(policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)), Selector: selector()})
	s.PrepareForCreate(stored)
	stored.Status.DisruptionsAllowed = 2

	next := stored.DeepCopy()
	next.Status = policyv1.PodDisruptionBudgetStatus{}
	next.Spec.MinAvailable = ptr.To(intstr.FromString("50%"))
	s.PrepareForUpdate(next, stored)
	if next.Generation != 2 || next.Status.DisruptionsAllowed != 2 {
		t.Errorf("generation %d, status %+v", next.Generation, next.Status)
	}
	if errs := s.ValidateUpdate(next, stored); len(errs) != 0 {
		t.Errorf("ValidateUpdate: %v", errs)
	}

	bad := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"not valid!"}}}}
	oldBad, newBad := stored.DeepCopy(), stored.DeepCopy()
	oldBad.Spec.Selector, newBad.Spec.Selector = bad, bad.DeepCopy()
	if errs := s.ValidateUpdate(newBad, oldBad); len(errs) != 0 {
		t.Errorf("ValidateUpdate with a stored invalid selector: %v", errs)
	}
	if errs := s.ValidateUpdate(newBad, stored); len(errs) != 1 {
		t.Errorf("ValidateUpdate introducing an invalid selector: %v", errs)
	}
}

func TestStripV1beta1Label(t *testing.T) {
	marker := metav1.LabelSelectorRequirement{Key: v1beta1Label, Operator: metav1.LabelSelectorOpDoesNotExist}
	other := metav1.LabelSelectorRequirement{Key: "tier", Operator: metav1.LabelSelectorOpExists}
	matchNone := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: v1beta1Label, Operator: metav1.LabelSelectorOpExists}}}
	tests := []struct {
		name string
		sel  *metav1.LabelSelector
		want *metav1.LabelSelector
	}{
		{name: "nil"},
		{name: "match none kept", sel: matchNone.DeepCopy(), want: matchNone},
		{
			name: "marker removed",
			sel:  &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}, MatchExpressions: []metav1.LabelSelectorRequirement{marker, other}},
			want: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}, MatchExpressions: []metav1.LabelSelectorRequirement{other}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pdb := newPDB(policyv1.PodDisruptionBudgetSpec{Selector: tt.sel})
			New().PrepareForCreate(pdb)
			if !reflect.DeepEqual(pdb.Spec.Selector, tt.want) {
				t.Errorf("selector %+v, want %+v", pdb.Spec.Selector, tt.want)
			}
		})
	}
}

func TestStatusUpdate(t *testing.T) {
	s := New()
	stored := newPDB(policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(1)), Selector: selector()})
	next := stored.DeepCopy()
	next.Spec.MinAvailable = nil
	next.Status = policyv1.PodDisruptionBudgetStatus{
		DisruptionsAllowed: -1,
		ExpectedPods:       -2,
		Conditions:         []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: "Perhaps", Reason: "SufficientPods", LastTransitionTime: metav1.NewTime(now)}},
	}
	s.PrepareForStatusUpdate(next, stored)
	if next.Spec.MinAvailable == nil {
		t.Error("the status update wrote the spec")
	}
	want := []fieldError{
		{field.ErrorTypeNotSupported, "status.conditions[0].status"},
		{field.ErrorTypeInvalid, "status.disruptionsAllowed"},
		{field.ErrorTypeInvalid, "status.expectedPods"},
	}
	if got := summarize(s.ValidateStatusUpdate(next, stored)); !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateStatusUpdate = %v, want %v", got, want)
	}
}

func TestTable(t *testing.T) {
	pdb := newPDB(policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromString("25%")), Selector: selector()})
	pdb.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Hour))
	pdb.Status.DisruptionsAllowed = 1
	want := []interface{}{"web", "N/A", "25%", int64(1), "3h"}
	if got := New().Row(pdb, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
	pdb.Spec = policyv1.PodDisruptionBudgetSpec{MinAvailable: ptr.To(intstr.FromInt32(2))}
	want = []interface{}{"web", "2", "N/A", int64(1), "3h"}
	if got := New().Row(pdb, now); !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
	var names []string
	for _, c := range New().Columns() {
		names = append(names, c.Name)
	}
	if want := []string{"Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"}; !reflect.DeepEqual(names, want) {
		t.Errorf("Columns = %v, want %v", names, want)
	}
}
