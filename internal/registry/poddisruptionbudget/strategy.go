package poddisruptionbudget

import (
	"time"

	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the PodDisruptionBudget strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:        policyv1.GroupName,
		Version:      "v1",
		Kind:         "PodDisruptionBudget",
		ListKind:     "PodDisruptionBudgetList",
		Resource:     "poddisruptionbudgets",
		Singular:     "poddisruptionbudget",
		ShortNames:   []string{"pdb"},
		Namespaced:   true,
		Subresources: []string{"status"},
	}
}

func (*strategy) New() runtime.Object     { return &policyv1.PodDisruptionBudget{} }
func (*strategy) NewList() runtime.Object { return &policyv1.PodDisruptionBudgetList{} }

// ValidateName only requires a name usable as a URL path segment: upstream checks no
// DNS name rules for PodDisruptionBudgets.
func (*strategy) ValidateName(name string, prefix bool) []string {
	if prefix {
		return content.IsPathSegmentPrefix(name)
	}
	return content.IsPathSegmentName(name)
}

func (*strategy) PrepareForCreate(obj runtime.Object) {
	pdb := obj.(*policyv1.PodDisruptionBudget)
	pdb.Status = policyv1.PodDisruptionBudgetStatus{}
	pdb.Generation = 1
	stripV1beta1Label(pdb.Spec.Selector)
}

// PrepareForUpdate keeps the stored status and bumps the generation when the spec
// changes. A changed selector loses the v1beta1 marker requirement, as on create.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	pdb, oldPDB := obj.(*policyv1.PodDisruptionBudget), old.(*policyv1.PodDisruptionBudget)
	pdb.Status = oldPDB.Status
	if !equality.Semantic.DeepEqual(pdb.Spec, oldPDB.Spec) {
		pdb.Generation = oldPDB.Generation + 1
	}
	if !equality.Semantic.DeepEqual(pdb.Spec.Selector, oldPDB.Spec.Selector) {
		stripV1beta1Label(pdb.Spec.Selector)
	}
}

// StatusWritesMetadata marks that status writes may change the labels, annotations,
// finalizers and owner references, as upstream's do.
func (*strategy) StatusWritesMetadata() {}

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*policyv1.PodDisruptionBudget).Spec = old.(*policyv1.PodDisruptionBudget).Spec
}

func (*strategy) Default(obj runtime.Object) {}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateSpec(&obj.(*policyv1.PodDisruptionBudget).Spec, false, field.NewPath("spec"))
}

// ValidateUpdate checks the new spec as on create, except that a stored selector that
// no longer validates lets the new one keep invalid label values.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	pdb, oldPDB := obj.(*policyv1.PodDisruptionBudget), old.(*policyv1.PodDisruptionBudget)
	return validateSpec(&pdb.Spec, invalidSelector(oldPDB.Spec.Selector), field.NewPath("spec"))
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateStatus(&obj.(*policyv1.PodDisruptionBudget).Status, field.NewPath("status"))
}

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Min Available", Type: "string", Description: "The minimum number of pods that must be available."},
		{Name: "Max Unavailable", Type: "string", Description: "The maximum number of pods that may be unavailable."},
		{Name: "Allowed Disruptions", Type: "integer", Description: "Calculated number of pods that may be disrupted at this time."},
		registry.AgeColumn(),
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	pdb := obj.(*policyv1.PodDisruptionBudget)
	minAvailable, maxUnavailable := "N/A", "N/A"
	if v := pdb.Spec.MinAvailable; v != nil {
		minAvailable = v.String()
	}
	if v := pdb.Spec.MaxUnavailable; v != nil {
		maxUnavailable = v.String()
	}
	return []interface{}{
		pdb.Name,
		minAvailable,
		maxUnavailable,
		int64(pdb.Status.DisruptionsAllowed),
		registry.Since(pdb.CreationTimestamp.Time, now),
	}
}
