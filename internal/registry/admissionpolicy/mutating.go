package admissionpolicy

import (
	"slices"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var (
	_ registry.Strategy = (*mutatingPolicies)(nil)
	_ registry.Strategy = (*mutatingBindings)(nil)
)

// NewMutatingPolicies returns the MutatingAdmissionPolicy strategy.
func NewMutatingPolicies() registry.Strategy { return &mutatingPolicies{} }

// NewMutatingBindings returns the MutatingAdmissionPolicyBinding strategy.
func NewMutatingBindings() registry.Strategy { return &mutatingBindings{} }

type mutatingPolicies struct{}

func (*mutatingPolicies) Info() registry.Info {
	return registry.Info{Group: admissionregistrationv1.GroupName, Version: "v1", Kind: "MutatingAdmissionPolicy",
		ListKind: "MutatingAdmissionPolicyList", Resource: "mutatingadmissionpolicies", Singular: "mutatingadmissionpolicy",
		Categories: []string{"api-extensions"}}
}
func (*mutatingPolicies) New() runtime.Object {
	return &admissionregistrationv1.MutatingAdmissionPolicy{}
}
func (*mutatingPolicies) NewList() runtime.Object {
	return &admissionregistrationv1.MutatingAdmissionPolicyList{}
}
func (*mutatingPolicies) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}
func (*mutatingPolicies) PrepareForCreate(obj runtime.Object) {
	obj.(*admissionregistrationv1.MutatingAdmissionPolicy).Generation = 1
}
func (*mutatingPolicies) PrepareForUpdate(obj, old runtime.Object) {
	p, o := obj.(*admissionregistrationv1.MutatingAdmissionPolicy), old.(*admissionregistrationv1.MutatingAdmissionPolicy)
	if !apiequal(p.Spec, o.Spec) {
		p.Generation = o.Generation + 1
	}
}
func (*mutatingPolicies) PrepareForStatusUpdate(runtime.Object, runtime.Object) {}

func (*mutatingPolicies) Default(obj runtime.Object) {
	s := &obj.(*admissionregistrationv1.MutatingAdmissionPolicy).Spec
	if s.FailurePolicy == nil {
		s.FailurePolicy = ptr.To(admissionregistrationv1.Fail)
	}
	if s.ReinvocationPolicy == "" {
		s.ReinvocationPolicy = admissionregistrationv1.NeverReinvocationPolicy
	}
	defaultMatch(s.MatchConstraints)
}

var patchTypes = []string{string(admissionregistrationv1.PatchTypeApplyConfiguration), string(admissionregistrationv1.PatchTypeJSONPatch)}

func (*mutatingPolicies) Validate(obj runtime.Object) field.ErrorList {
	s := obj.(*admissionregistrationv1.MutatingAdmissionPolicy).Spec
	p := field.NewPath("spec")
	var errs field.ErrorList
	if len(s.Mutations) == 0 {
		errs = append(errs, field.Required(p.Child("mutations"), "mutations must contain at least one item"))
	}
	for i, m := range s.Mutations {
		mp := p.Child("mutations").Index(i)
		switch m.PatchType {
		case admissionregistrationv1.PatchTypeApplyConfiguration:
			if m.ApplyConfiguration == nil || m.ApplyConfiguration.Expression == "" {
				errs = append(errs, field.Required(mp.Child("applyConfiguration", "expression"), "expression is required"))
			}
			if m.JSONPatch != nil {
				errs = append(errs, field.Forbidden(mp.Child("jsonPatch"), "must not be set when patchType is ApplyConfiguration"))
			}
		case admissionregistrationv1.PatchTypeJSONPatch:
			if m.JSONPatch == nil || m.JSONPatch.Expression == "" {
				errs = append(errs, field.Required(mp.Child("jsonPatch", "expression"), "expression is required"))
			}
			if m.ApplyConfiguration != nil {
				errs = append(errs, field.Forbidden(mp.Child("applyConfiguration"), "must not be set when patchType is JSONPatch"))
			}
		case "":
			errs = append(errs, field.Required(mp.Child("patchType"), ""))
		default:
			errs = append(errs, field.NotSupported(mp.Child("patchType"), m.PatchType, patchTypes))
		}
	}
	for i, v := range s.Variables {
		if v.Name == "" {
			errs = append(errs, field.Required(p.Child("variables").Index(i).Child("name"), ""))
		}
		if v.Expression == "" {
			errs = append(errs, field.Required(p.Child("variables").Index(i).Child("expression"), ""))
		}
	}
	if f := s.FailurePolicy; f != nil && *f != admissionregistrationv1.Fail && *f != admissionregistrationv1.Ignore {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *f, []string{"Fail", "Ignore"}))
	}
	if r := s.ReinvocationPolicy; r != admissionregistrationv1.NeverReinvocationPolicy && r != admissionregistrationv1.IfNeededReinvocationPolicy {
		errs = append(errs, field.NotSupported(p.Child("reinvocationPolicy"), r, []string{"IfNeeded", "Never"}))
	}
	if s.MatchConstraints == nil {
		errs = append(errs, field.Required(p.Child("matchConstraints"), ""))
	} else {
		if len(s.MatchConstraints.ResourceRules) == 0 {
			errs = append(errs, field.Required(p.Child("matchConstraints", "resourceRules"), ""))
		}
		for i, r := range s.MatchConstraints.ResourceRules {
			for j, op := range r.Operations {
				if op != admissionregistrationv1.Create && op != admissionregistrationv1.Update && op != admissionregistrationv1.OperationAll {
					errs = append(errs, field.NotSupported(p.Child("matchConstraints", "resourceRules").Index(i).Child("operations").Index(j), op, []string{"*", "CREATE", "UPDATE"}))
				}
			}
		}
		errs = append(errs, validateMatch(p.Child("matchConstraints"), s.MatchConstraints)...)
	}
	errs = append(errs, validateParamKind(p.Child("paramKind"), s.ParamKind)...)
	return errs
}

func (s *mutatingPolicies) ValidateUpdate(obj, _ runtime.Object) field.ErrorList {
	return s.Validate(obj)
}
func (*mutatingPolicies) ValidateStatusUpdate(runtime.Object, runtime.Object) field.ErrorList {
	return nil
}
func (*mutatingPolicies) Fields(obj runtime.Object) fields.Set {
	return registry.MetaFields(obj, false)
}
func (*mutatingPolicies) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{registry.NameColumn(), registry.AgeColumn()}
}
func (*mutatingPolicies) Row(obj runtime.Object, now time.Time) []interface{} {
	p := obj.(*admissionregistrationv1.MutatingAdmissionPolicy)
	return []interface{}{p.Name, registry.Since(p.CreationTimestamp.Time, now)}
}

type mutatingBindings struct{}

func (*mutatingBindings) Info() registry.Info {
	return registry.Info{Group: admissionregistrationv1.GroupName, Version: "v1", Kind: "MutatingAdmissionPolicyBinding",
		ListKind: "MutatingAdmissionPolicyBindingList", Resource: "mutatingadmissionpolicybindings",
		Singular: "mutatingadmissionpolicybinding", Categories: []string{"api-extensions"}}
}
func (*mutatingBindings) New() runtime.Object {
	return &admissionregistrationv1.MutatingAdmissionPolicyBinding{}
}
func (*mutatingBindings) NewList() runtime.Object {
	return &admissionregistrationv1.MutatingAdmissionPolicyBindingList{}
}
func (*mutatingBindings) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}
func (*mutatingBindings) PrepareForCreate(obj runtime.Object) {
	obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding).Generation = 1
}
func (*mutatingBindings) PrepareForUpdate(obj, old runtime.Object) {
	b, o := obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding), old.(*admissionregistrationv1.MutatingAdmissionPolicyBinding)
	if !apiequal(b.Spec, o.Spec) {
		b.Generation = o.Generation + 1
	}
}
func (*mutatingBindings) PrepareForStatusUpdate(runtime.Object, runtime.Object) {}
func (*mutatingBindings) Default(obj runtime.Object) {
	defaultMatch(obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding).Spec.MatchResources)
}

func (*mutatingBindings) Validate(obj runtime.Object) field.ErrorList {
	s := obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding).Spec
	p := field.NewPath("spec")
	var errs field.ErrorList
	if s.PolicyName == "" {
		errs = append(errs, field.Required(p.Child("policyName"), ""))
	}
	errs = append(errs, validateParamRef(p.Child("paramRef"), s.ParamRef)...)
	if s.MatchResources != nil {
		errs = append(errs, validateMatch(p.Child("matchResources"), s.MatchResources)...)
		for i, r := range s.MatchResources.ResourceRules {
			if slices.Contains(r.Operations, admissionregistrationv1.Delete) || slices.Contains(r.Operations, admissionregistrationv1.Connect) {
				errs = append(errs, field.NotSupported(p.Child("matchResources", "resourceRules").Index(i).Child("operations"), r.Operations, []string{"*", "CREATE", "UPDATE"}))
			}
		}
	}
	return errs
}
func (s *mutatingBindings) ValidateUpdate(obj, _ runtime.Object) field.ErrorList {
	return s.Validate(obj)
}
func (*mutatingBindings) ValidateStatusUpdate(runtime.Object, runtime.Object) field.ErrorList {
	return nil
}
func (*mutatingBindings) Fields(obj runtime.Object) fields.Set {
	return registry.MetaFields(obj, false)
}
func (*mutatingBindings) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{registry.NameColumn(), registry.AgeColumn()}
}
func (*mutatingBindings) Row(obj runtime.Object, now time.Time) []interface{} {
	b := obj.(*admissionregistrationv1.MutatingAdmissionPolicyBinding)
	return []interface{}{b.Name, registry.Since(b.CreationTimestamp.Time, now)}
}
