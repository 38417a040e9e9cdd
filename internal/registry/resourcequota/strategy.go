package resourcequota

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/resourcename"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the ResourceQuota strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:      "v1",
		Kind:         "ResourceQuota",
		ListKind:     "ResourceQuotaList",
		Resource:     "resourcequotas",
		Singular:     "resourcequota",
		ShortNames:   []string{"quota"},
		Namespaced:   true,
		Subresources: []string{"status"},
	}
}

func (*strategy) New() runtime.Object     { return &corev1.ResourceQuota{} }
func (*strategy) NewList() runtime.Object { return &corev1.ResourceQuotaList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate clears the status: only the quota controller reports usage. Quotas
// carry no generation, as upstream's.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	obj.(*corev1.ResourceQuota).Status = corev1.ResourceQuotaStatus{}
}

func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	obj.(*corev1.ResourceQuota).Status = old.(*corev1.ResourceQuota).Status
}

// StatusWritesMetadata lets a status write change labels and annotations too, as
// upstream's status strategy keeps only the spec.
func (*strategy) StatusWritesMetadata() {}

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*corev1.ResourceQuota).Spec = old.(*corev1.ResourceQuota).Spec
}

// Default rounds every quantity up to whole milli-units, upstream's only default for
// quotas.
func (*strategy) Default(obj runtime.Object) {
	rq := obj.(*corev1.ResourceQuota)
	for _, list := range []corev1.ResourceList{rq.Spec.Hard, rq.Status.Hard, rq.Status.Used} {
		for name, q := range list {
			q.RoundUp(resource.Milli)
			list[name] = q
		}
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	rq := obj.(*corev1.ResourceQuota)
	errs := validateSpec(&rq.Spec, field.NewPath("spec"))
	return append(errs, validateStatus(&rq.Status, field.NewPath("status"))...)
}

// ValidateUpdate checks the new spec, and that the scopes stay as they were; the
// status, carried over from the stored quota, is not checked again.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateUpdate(obj.(*corev1.ResourceQuota), old.(*corev1.ResourceQuota))
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateStatusUpdate(obj.(*corev1.ResourceQuota))
}

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Request", Type: "string", Description: "Request represents a minimum amount of cpu/memory that a container may consume."},
		{Name: "Limit", Type: "string", Description: "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."},
		registry.AgeColumn(),
	}
}

// Row lists every resource of status.hard as "name: used/hard", in name order: those
// named "limits.*" under Limit, the others under Request, each joined by ", ".
func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	rq := obj.(*corev1.ResourceQuota)
	var requests, limits []string
	for _, name := range resourcename.Sorted(rq.Status.Hard) {
		used, hard := rq.Status.Used[name], rq.Status.Hard[name]
		entry := string(name) + ": " + used.String() + "/" + hard.String()
		if strings.HasPrefix(string(name), "limits.") {
			limits = append(limits, entry)
		} else {
			requests = append(requests, entry)
		}
	}
	return []interface{}{
		rq.Name,
		strings.Join(requests, ", "),
		strings.Join(limits, ", "),
		registry.Since(rq.CreationTimestamp.Time, now),
	}
}
