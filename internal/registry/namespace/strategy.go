package namespace

import (
	"errors"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy          = (*strategy)(nil)
	_ registry.SubresourceWriter = (*strategy)(nil)
	_ registry.Terminator        = (*strategy)(nil)
	_ registry.DeleteChecker     = (*strategy)(nil)
)

type strategy struct{}

// New returns the namespace strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Version:      "v1",
		Kind:         "Namespace",
		ListKind:     "NamespaceList",
		Resource:     "namespaces",
		Singular:     "namespace",
		ShortNames:   []string{"ns"},
		Subresources: []string{"status", "finalize"},
	}
}

func (*strategy) New() runtime.Object     { return &corev1.Namespace{} }
func (*strategy) NewList() runtime.Object { return &corev1.NamespaceList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.ValidateNamespaceName(name, prefix)
}

// PrepareForCreate makes the namespace Active and adds the "kubernetes" finalizer, which
// the namespace controller removes once the namespace's content is gone.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	ns.Status = corev1.NamespaceStatus{Phase: corev1.NamespaceActive}
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return
		}
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
}

func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	ns, oldNS := obj.(*corev1.Namespace), old.(*corev1.Namespace)
	ns.Spec.Finalizers = oldNS.Spec.Finalizers
	ns.Status = oldNS.Status
}

func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*corev1.Namespace).Spec = old.(*corev1.Namespace).Spec
}

// PrepareForSubresourceUpdate keeps the status of a write through finalize, the only
// subresource namespaces are written through besides status.
func (*strategy) PrepareForSubresourceUpdate(_ string, obj, old runtime.Object) {
	obj.(*corev1.Namespace).Status = old.(*corev1.Namespace).Status
}

// Terminate turns a namespace being deleted Terminating.
func (*strategy) Terminate(obj runtime.Object) {
	obj.(*corev1.Namespace).Status.Phase = corev1.NamespaceTerminating
}

// Held keeps a namespace while spec.finalizers is not empty: the namespace controller
// removes "kubernetes" once everything in the namespace is gone.
func (*strategy) Held(obj runtime.Object) bool {
	return len(obj.(*corev1.Namespace).Spec.Finalizers) > 0
}

// immortal are the namespaces every cluster keeps.
var immortal = map[string]bool{metav1.NamespaceDefault: true, metav1.NamespaceSystem: true, metav1.NamespacePublic: true}

// CheckDelete refuses to delete default, kube-system and kube-public, as upstream.
func (*strategy) CheckDelete(obj runtime.Object) error {
	ns := obj.(*corev1.Namespace)
	if immortal[ns.Name] {
		return apierrors.NewForbidden(corev1.Resource("namespaces"), ns.Name, errors.New("this namespace may not be deleted"))
	}
	return nil
}

// Default sets the kubernetes.io/metadata.name label to the name (when the name is known;
// with generateName the caller must default again once the name is chosen) and an empty
// phase to Active.
func (*strategy) Default(obj runtime.Object) {
	ns := obj.(*corev1.Namespace)
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	ns := obj.(*corev1.Namespace)
	var errs field.ErrorList
	for _, f := range ns.Spec.Finalizers {
		// Upstream reports every finalizer at the list's path, without an index.
		errs = append(errs, validateFinalizer(string(f), field.NewPath("spec", "finalizers"))...)
	}
	return errs
}

func (s *strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return s.Validate(obj)
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	ns := obj.(*corev1.Namespace)
	phase := field.NewPath("status", "Phase")
	if ns.DeletionTimestamp.IsZero() {
		if ns.Status.Phase != corev1.NamespaceActive {
			return field.ErrorList{field.Invalid(phase, ns.Status.Phase, "may only be 'Active' if `deletionTimestamp` is empty")}
		}
		return nil
	}
	if ns.Status.Phase != corev1.NamespaceTerminating {
		return field.ErrorList{field.Invalid(phase, ns.Status.Phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")}
	}
	return nil
}

func (*strategy) ValidateSubresourceUpdate(_ string, obj, old runtime.Object) field.ErrorList {
	ns := obj.(*corev1.Namespace)
	var errs field.ErrorList
	for i, f := range ns.Spec.Finalizers {
		errs = append(errs, validateFinalizer(string(f), field.NewPath("spec", "finalizers").Index(i))...)
	}
	return errs
}

// standardFinalizers are the finalizer names that need no domain prefix.
var standardFinalizers = map[string]bool{
	string(corev1.FinalizerKubernetes): true,
	metav1.FinalizerOrphanDependents:   true,
	metav1.FinalizerDeleteDependents:   true,
}

func validateFinalizer(name string, path *field.Path) field.ErrorList {
	errs := apivalidation.ValidateFinalizerName(name, path)
	if !strings.Contains(name, "/") && !standardFinalizers[name] {
		errs = append(errs, field.Invalid(path, name, "name is neither a standard finalizer name nor is it fully qualified"))
	}
	return errs
}

func (*strategy) Fields(obj runtime.Object) fields.Set {
	set := registry.MetaFields(obj, false)
	set["status.phase"] = string(obj.(*corev1.Namespace).Status.Phase)
	return set
}

func (*strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Status", Type: "string", Description: "The status of the namespace"},
		registry.AgeColumn(),
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	ns := obj.(*corev1.Namespace)
	return []interface{}{ns.Name, string(ns.Status.Phase), registry.Since(ns.CreationTimestamp.Time, now)}
}
