package apiservice

import (
	"context"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration"
	apiregistrationv1 "k8s.io/kube-aggregator/pkg/apis/apiregistration/v1"
	"k8s.io/kube-aggregator/pkg/apis/apiregistration/validation"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = Strategy{}

// Strategy is the APIService strategy.
type Strategy struct{}

// New returns the strategy.
func New() Strategy { return Strategy{} }

func (Strategy) Info() registry.Info {
	return registry.Info{Group: apiregistrationv1.GroupName, Version: "v1", Kind: "APIService", ListKind: "APIServiceList",
		Resource: "apiservices", Singular: "apiservice", Categories: []string{"api-extensions"}, Subresources: []string{"status"}}
}

func (Strategy) New() runtime.Object     { return &apiregistrationv1.APIService{} }
func (Strategy) NewList() runtime.Object { return &apiregistrationv1.APIServiceList{} }

// ValidateName takes any path segment name; kube-aggregator's validation then asks
// for VERSION.GROUP.
func (Strategy) ValidateName(name string, prefix bool) []string {
	return path.ValidatePathSegmentName(name, prefix)
}

func (Strategy) PrepareForCreate(obj runtime.Object) {
	a := obj.(*apiregistrationv1.APIService)
	a.Status = apiregistrationv1.APIServiceStatus{}
	a.Generation = 1
}

func (Strategy) PrepareForUpdate(obj, old runtime.Object) {
	a, o := obj.(*apiregistrationv1.APIService), old.(*apiregistrationv1.APIService)
	a.Status = o.Status
	if !apiequality.Semantic.DeepEqual(a.Spec, o.Spec) {
		a.Generation = o.Generation + 1
	}
}

func (Strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	obj.(*apiregistrationv1.APIService).Spec = old.(*apiregistrationv1.APIService).Spec
}

func (Strategy) Default(obj runtime.Object) {
	apiregistrationv1.SetObjectDefaults_APIService(obj.(*apiregistrationv1.APIService))
}

func (Strategy) Validate(obj runtime.Object) field.ErrorList {
	a, errs := internal(obj)
	if errs != nil {
		return errs
	}
	return validation.ValidateAPIService(context.Background(), a)
}

func (Strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	a, errs := internal(obj)
	o, oldErrs := internal(old)
	if errs != nil || oldErrs != nil {
		return append(errs, oldErrs...)
	}
	return validation.ValidateAPIServiceUpdate(context.Background(), a, o)
}

func (Strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	a, errs := internal(obj)
	o, oldErrs := internal(old)
	if errs != nil || oldErrs != nil {
		return append(errs, oldErrs...)
	}
	return validation.ValidateAPIServiceStatusUpdate(context.Background(), a, o)
}

// internal converts an APIService into kube-aggregator's internal form, which its
// validation takes.
func internal(obj runtime.Object) (*apiregistration.APIService, field.ErrorList) {
	out := &apiregistration.APIService{}
	if err := apiregistrationv1.Convert_v1_APIService_To_apiregistration_APIService(obj.(*apiregistrationv1.APIService), out, nil); err != nil {
		return nil, field.ErrorList{field.InternalError(nil, err)}
	}
	return out, nil
}

func (Strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }

func (Strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Service", Type: "string", Description: "The reference to the service that hosts this API endpoint."},
		{Name: "Available", Type: "string", Description: "Whether this service is available."},
		registry.AgeColumn(),
	}
}

func (Strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	a := obj.(*apiregistrationv1.APIService)
	service := "Local"
	if s := a.Spec.Service; s != nil {
		service = s.Namespace + "/" + s.Name
	}
	available := "Unknown"
	for _, c := range a.Status.Conditions {
		if c.Type != apiregistrationv1.Available {
			continue
		}
		available = string(c.Status)
		if c.Status != apiregistrationv1.ConditionTrue {
			available = fmt.Sprintf("%s (%s)", c.Status, c.Reason)
		}
	}
	return []interface{}{a.Name, service, available, registry.Since(a.CreationTimestamp.Time, now)}
}
