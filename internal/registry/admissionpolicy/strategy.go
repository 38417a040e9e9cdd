package admissionpolicy

import (
	"slices"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/webhookconfiguration"
)

var (
	_ registry.Strategy = (*policies)(nil)
	_ registry.Strategy = (*bindings)(nil)
)

// NewPolicies returns the ValidatingAdmissionPolicy strategy.
func NewPolicies() registry.Strategy { return &policies{} }

// NewBindings returns the ValidatingAdmissionPolicyBinding strategy.
func NewBindings() registry.Strategy { return &bindings{} }

type policies struct{}

func (*policies) Info() registry.Info {
	return registry.Info{Group: admissionregistrationv1.GroupName, Version: "v1", Kind: "ValidatingAdmissionPolicy",
		ListKind: "ValidatingAdmissionPolicyList", Resource: "validatingadmissionpolicies", Singular: "validatingadmissionpolicy",
		Categories: []string{"api-extensions"}, Subresources: []string{"status"}}
}
func (*policies) New() runtime.Object { return &admissionregistrationv1.ValidatingAdmissionPolicy{} }
func (*policies) NewList() runtime.Object {
	return &admissionregistrationv1.ValidatingAdmissionPolicyList{}
}
func (*policies) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate drops the status and starts the generation.
func (*policies) PrepareForCreate(obj runtime.Object) {
	p := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy)
	p.Status = admissionregistrationv1.ValidatingAdmissionPolicyStatus{}
	p.Generation = 1
}

// PrepareForUpdate keeps the status and bumps the generation when the spec changes.
func (*policies) PrepareForUpdate(obj, old runtime.Object) {
	p, o := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy), old.(*admissionregistrationv1.ValidatingAdmissionPolicy)
	p.Status = o.Status
	if !apiequal(p.Spec, o.Spec) {
		p.Generation = o.Generation + 1
	}
}

func (*policies) PrepareForStatusUpdate(obj, old runtime.Object) {
	p, o := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy), old.(*admissionregistrationv1.ValidatingAdmissionPolicy)
	p.Spec = o.Spec
}

func (*policies) Default(obj runtime.Object) {
	s := &obj.(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec
	if s.FailurePolicy == nil {
		s.FailurePolicy = ptr.To(admissionregistrationv1.Fail)
	}
	defaultMatch(s.MatchConstraints)
}

func (*policies) Validate(obj runtime.Object) field.ErrorList {
	s := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy).Spec
	p := field.NewPath("spec")
	var errs field.ErrorList
	if len(s.Validations) == 0 && len(s.AuditAnnotations) == 0 {
		errs = append(errs, field.Required(p.Child("validations"), "validations or auditAnnotations must contain at least one item"))
	}
	for i, v := range s.Validations {
		if v.Expression == "" {
			errs = append(errs, field.Required(p.Child("validations").Index(i).Child("expression"), ""))
		}
	}
	if f := s.FailurePolicy; f != nil && *f != admissionregistrationv1.Fail && *f != admissionregistrationv1.Ignore {
		errs = append(errs, field.NotSupported(p.Child("failurePolicy"), *f, []string{"Fail", "Ignore"}))
	}
	if s.MatchConstraints == nil {
		errs = append(errs, field.Required(p.Child("matchConstraints"), ""))
	} else {
		if len(s.MatchConstraints.ResourceRules) == 0 {
			errs = append(errs, field.Required(p.Child("matchConstraints", "resourceRules"), ""))
		}
		errs = append(errs, validateMatch(p.Child("matchConstraints"), s.MatchConstraints)...)
	}
	errs = append(errs, validateParamKind(p.Child("paramKind"), s.ParamKind)...)
	return errs
}

func (s *policies) ValidateUpdate(obj, _ runtime.Object) field.ErrorList { return s.Validate(obj) }
func (*policies) ValidateStatusUpdate(runtime.Object, runtime.Object) field.ErrorList {
	return nil
}
func (*policies) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }
func (*policies) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Validations", Type: "integer", Description: "Validations indicates the number of validation expressions"},
		{Name: "ParamKind", Type: "string", Description: "ParamKind specifies the kind of resources used to parameterize this policy"},
		registry.AgeColumn(),
	}
}
func (*policies) Row(obj runtime.Object, now time.Time) []interface{} {
	p := obj.(*admissionregistrationv1.ValidatingAdmissionPolicy)
	kind := "<unset>"
	if pk := p.Spec.ParamKind; pk != nil {
		kind = pk.APIVersion + "/" + pk.Kind
	}
	return []interface{}{p.Name, int64(len(p.Spec.Validations)), kind, registry.Since(p.CreationTimestamp.Time, now)}
}

type bindings struct{}

func (*bindings) Info() registry.Info {
	return registry.Info{Group: admissionregistrationv1.GroupName, Version: "v1", Kind: "ValidatingAdmissionPolicyBinding",
		ListKind: "ValidatingAdmissionPolicyBindingList", Resource: "validatingadmissionpolicybindings",
		Singular: "validatingadmissionpolicybinding", Categories: []string{"api-extensions"}}
}
func (*bindings) New() runtime.Object {
	return &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
}
func (*bindings) NewList() runtime.Object {
	return &admissionregistrationv1.ValidatingAdmissionPolicyBindingList{}
}
func (*bindings) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}
func (*bindings) PrepareForCreate(obj runtime.Object) {
	obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Generation = 1
}
func (*bindings) PrepareForUpdate(obj, old runtime.Object) {
	b, o := obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding), old.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
	if !apiequal(b.Spec, o.Spec) {
		b.Generation = o.Generation + 1
	}
}
func (*bindings) PrepareForStatusUpdate(runtime.Object, runtime.Object) {}
func (*bindings) Default(obj runtime.Object) {
	defaultMatch(obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec.MatchResources)
}

var actions = []string{"Audit", "Deny", "Warn"}

func (*bindings) Validate(obj runtime.Object) field.ErrorList {
	s := obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding).Spec
	p := field.NewPath("spec")
	var errs field.ErrorList
	if s.PolicyName == "" {
		errs = append(errs, field.Required(p.Child("policyName"), ""))
	}
	if len(s.ValidationActions) == 0 {
		errs = append(errs, field.Required(p.Child("validationActions"), ""))
	}
	seen := map[admissionregistrationv1.ValidationAction]bool{}
	for i, a := range s.ValidationActions {
		ap := p.Child("validationActions").Index(i)
		switch {
		case !slices.Contains(actions, string(a)):
			errs = append(errs, field.NotSupported(ap, a, actions))
		case seen[a]:
			errs = append(errs, field.Duplicate(ap, a))
		}
		seen[a] = true
	}
	if seen[admissionregistrationv1.Deny] && seen[admissionregistrationv1.Warn] {
		errs = append(errs, field.Invalid(p.Child("validationActions"), s.ValidationActions, "must not contain both Deny and Warn (repeating the same validation failure information in the API response and headers serves no purpose)"))
	}
	errs = append(errs, validateParamRef(p.Child("paramRef"), s.ParamRef)...)
	if s.MatchResources != nil {
		errs = append(errs, validateMatch(p.Child("matchResources"), s.MatchResources)...)
	}
	return errs
}
func (s *bindings) ValidateUpdate(obj, _ runtime.Object) field.ErrorList { return s.Validate(obj) }
func (*bindings) ValidateStatusUpdate(runtime.Object, runtime.Object) field.ErrorList {
	return nil
}
func (*bindings) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }
func (*bindings) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "PolicyName", Type: "string", Description: "PolicyName references a ValidatingAdmissionPolicy name which the ValidatingAdmissionPolicyBinding binds to"},
		{Name: "ParamRef", Type: "string", Description: "ParamRef specifies the parameter resource used to configure the admission control policy"},
		registry.AgeColumn(),
	}
}
func (*bindings) Row(obj runtime.Object, now time.Time) []interface{} {
	b := obj.(*admissionregistrationv1.ValidatingAdmissionPolicyBinding)
	ref := "<unset>"
	if r := b.Spec.ParamRef; r != nil {
		ref = r.Namespace + "/" + r.Name
		if r.Name == "" {
			ref = "*/*"
		}
	}
	return []interface{}{b.Name, b.Spec.PolicyName, ref, registry.Since(b.CreationTimestamp.Time, now)}
}

func defaultMatch(m *admissionregistrationv1.MatchResources) {
	if m == nil {
		return
	}
	if m.MatchPolicy == nil {
		m.MatchPolicy = ptr.To(admissionregistrationv1.Equivalent)
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &metav1.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &metav1.LabelSelector{}
	}
	for i := range m.ResourceRules {
		if m.ResourceRules[i].Scope == nil {
			m.ResourceRules[i].Scope = ptr.To(admissionregistrationv1.AllScopes)
		}
	}
	for i := range m.ExcludeResourceRules {
		if m.ExcludeResourceRules[i].Scope == nil {
			m.ExcludeResourceRules[i].Scope = ptr.To(admissionregistrationv1.AllScopes)
		}
	}
}

func validateMatch(p *field.Path, m *admissionregistrationv1.MatchResources) field.ErrorList {
	var errs field.ErrorList
	for i, r := range m.ResourceRules {
		errs = append(errs, webhookconfiguration.ValidateRule(p.Child("resourceRules").Index(i), r.RuleWithOperations)...)
	}
	for i, r := range m.ExcludeResourceRules {
		errs = append(errs, webhookconfiguration.ValidateRule(p.Child("excludeResourceRules").Index(i), r.RuleWithOperations)...)
	}
	if mp := m.MatchPolicy; mp != nil && *mp != admissionregistrationv1.Exact && *mp != admissionregistrationv1.Equivalent {
		errs = append(errs, field.NotSupported(p.Child("matchPolicy"), *mp, []string{"Equivalent", "Exact"}))
	}
	return errs
}

func apiequal(a, b any) bool { return equality.Semantic.DeepEqual(a, b) }

// validateParamKind checks a policy's paramKind, when it has one.
func validateParamKind(p *field.Path, pk *admissionregistrationv1.ParamKind) field.ErrorList {
	var errs field.ErrorList
	if pk == nil {
		return nil
	}
	if pk.APIVersion == "" {
		errs = append(errs, field.Required(p.Child("apiVersion"), ""))
	}
	if pk.Kind == "" {
		errs = append(errs, field.Required(p.Child("kind"), ""))
	}
	return errs
}

// validateParamRef checks a binding's paramRef, when it has one.
func validateParamRef(p *field.Path, r *admissionregistrationv1.ParamRef) field.ErrorList {
	var errs field.ErrorList
	if r == nil {
		return nil
	}
	if r.Name != "" && r.Selector != nil {
		errs = append(errs, field.Forbidden(p.Child("name"), "name and selector are mutually exclusive"))
	}
	if r.ParameterNotFoundAction == nil {
		errs = append(errs, field.Required(p.Child("parameterNotFoundAction"), ""))
	}
	return errs
}
