package serviceaccount

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the service account strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:      "v1",
		Kind:         "ServiceAccount",
		ListKind:     "ServiceAccountList",
		Resource:     "serviceaccounts",
		Singular:     "serviceaccount",
		ShortNames:   []string{"sa"},
		Namespaced:   true,
		Subresources: []string{"token"},
	}
}

func (*strategy) New() runtime.Object     { return &corev1.ServiceAccount{} }
func (*strategy) NewList() runtime.Object { return &corev1.ServiceAccountList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.ValidateServiceAccountName(name, prefix)
}

// PrepareForCreate keeps only the name of each referenced secret: the secrets live in
// the account's namespace and the other reference fields mean nothing here.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	sa := obj.(*corev1.ServiceAccount)
	for i, ref := range sa.Secrets {
		sa.Secrets[i] = corev1.ObjectReference{Name: ref.Name}
	}
}

func (s *strategy) PrepareForUpdate(obj, old runtime.Object) { s.PrepareForCreate(obj) }

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}
func (*strategy) Default(obj runtime.Object)                     {}

// Validate has nothing to check beyond the metadata.
func (*strategy) Validate(obj runtime.Object) field.ErrorList                  { return nil }
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList       { return nil }
func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList { return nil }

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Secrets", Type: "string", Description: corev1.ServiceAccount{}.SwaggerDoc()["secrets"]},
		registry.AgeColumn(),
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	sa := obj.(*corev1.ServiceAccount)
	return []interface{}{sa.Name, int64(len(sa.Secrets)), registry.Since(sa.CreationTimestamp.Time, now)}
}
