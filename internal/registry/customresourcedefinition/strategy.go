package customresourcedefinition

import (
	"context"
	"time"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

// CleanupFinalizer holds a deleted definition until its custom resources are gone.
const CleanupFinalizer = apiextensionsv1.CustomResourceCleanupFinalizer

var (
	_ registry.Strategy             = Strategy{}
	_ registry.Terminator           = Strategy{}
	_ registry.StatusMetadataWriter = Strategy{}
)

// Strategy is the CustomResourceDefinition strategy.
type Strategy struct{}

// New returns the strategy.
func New() Strategy { return Strategy{} }

func (Strategy) Info() registry.Info {
	return registry.Info{Group: apiextensionsv1.GroupName, Version: "v1", Kind: "CustomResourceDefinition",
		ListKind: "CustomResourceDefinitionList", Resource: "customresourcedefinitions", Singular: "customresourcedefinition",
		ShortNames: []string{"crd", "crds"}, Categories: []string{"api-extensions"}, Subresources: []string{"status"}}
}

func (Strategy) New() runtime.Object     { return &apiextensionsv1.CustomResourceDefinition{} }
func (Strategy) NewList() runtime.Object { return &apiextensionsv1.CustomResourceDefinitionList{} }

func (Strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate starts the status afresh, with the storage version stored.
func (Strategy) PrepareForCreate(obj runtime.Object) {
	crd := obj.(*apiextensionsv1.CustomResourceDefinition)
	crd.Status = apiextensionsv1.CustomResourceDefinitionStatus{}
	crd.Generation = 1
	addStoredVersion(crd)
}

// PrepareForUpdate keeps the status; a changed spec is a new generation.
func (Strategy) PrepareForUpdate(obj, old runtime.Object) {
	crd, prev := obj.(*apiextensionsv1.CustomResourceDefinition), old.(*apiextensionsv1.CustomResourceDefinition)
	crd.Status = prev.Status
	if !apiequality.Semantic.DeepEqual(crd.Spec, prev.Spec) {
		crd.Generation = prev.Generation + 1
	}
	addStoredVersion(crd)
}

// PrepareForStatusUpdate keeps the spec. Status writes may change the metadata, as
// upstream lets them.
func (Strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*apiextensionsv1.CustomResourceDefinition).Spec = old.(*apiextensionsv1.CustomResourceDefinition).Spec
}

func (Strategy) StatusWritesMetadata() {}

// addStoredVersion records the storage version among the versions objects may be stored in.
func addStoredVersion(crd *apiextensionsv1.CustomResourceDefinition) {
	for _, v := range crd.Spec.Versions {
		if !v.Storage {
			continue
		}
		for _, stored := range crd.Status.StoredVersions {
			if stored == v.Name {
				return
			}
		}
		crd.Status.StoredVersions = append(crd.Status.StoredVersions, v.Name)
		return
	}
}

func (Strategy) Default(obj runtime.Object) {
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(obj.(*apiextensionsv1.CustomResourceDefinition))
}

func (Strategy) Validate(obj runtime.Object) field.ErrorList {
	crd, errs := internal(obj)
	if errs != nil {
		return errs
	}
	return validation.ValidateCustomResourceDefinition(context.Background(), crd)
}

func (Strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	crd, errs := internal(obj)
	prev, prevErrs := internal(old)
	if errs != nil || prevErrs != nil {
		return append(errs, prevErrs...)
	}
	return validation.ValidateCustomResourceDefinitionUpdate(context.Background(), crd, prev)
}

func (Strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	crd, errs := internal(obj)
	prev, prevErrs := internal(old)
	if errs != nil || prevErrs != nil {
		return append(errs, prevErrs...)
	}
	return validation.ValidateUpdateCustomResourceDefinitionStatus(context.Background(), crd, prev)
}

// internal converts a definition into apiextensions' internal form, which its
// validation takes.
func internal(obj runtime.Object) (*apiextensions.CustomResourceDefinition, field.ErrorList) {
	out := &apiextensions.CustomResourceDefinition{}
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(obj.(*apiextensionsv1.CustomResourceDefinition), out, nil); err != nil {
		return nil, field.ErrorList{field.InternalError(nil, err)}
	}
	return out, nil
}

// Terminate begins a delete as upstream does: the cleanup finalizer holds the definition
// until its custom resources are deleted, and the Terminating condition says so.
func (Strategy) Terminate(obj runtime.Object) {
	crd := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !apihelpers.CRDHasFinalizer(crd, CleanupFinalizer) {
		crd.Finalizers = append(crd.Finalizers, CleanupFinalizer)
	}
	if apihelpers.FindCRDCondition(crd, apiextensionsv1.Terminating) == nil {
		apihelpers.SetCRDCondition(crd, apiextensionsv1.CustomResourceDefinitionCondition{Type: apiextensionsv1.Terminating, Status: apiextensionsv1.ConditionTrue,
			Reason: "InstanceDeletionPending", Message: "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"})
	}
}

// Held is false: the finalizer holds the definition.
func (Strategy) Held(runtime.Object) bool { return false }

func (Strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }

func (Strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Created At", Type: "date", Description: metav1.ObjectMeta{}.SwaggerDoc()["creationTimestamp"]},
	}
}

func (Strategy) Row(obj runtime.Object, _ time.Time) []interface{} {
	crd := obj.(*apiextensionsv1.CustomResourceDefinition)
	return []interface{}{crd.Name, crd.CreationTimestamp.UTC().Format(time.RFC3339)}
}
