package networkpolicy

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*strategy)(nil)

type strategy struct{}

// New returns the NetworkPolicy strategy.
func New() registry.Strategy { return &strategy{} }

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:      networkingv1.GroupName,
		Version:    "v1",
		Kind:       "NetworkPolicy",
		ListKind:   "NetworkPolicyList",
		Resource:   "networkpolicies",
		Singular:   "networkpolicy",
		ShortNames: []string{"netpol"},
		Namespaced: true,
	}
}

func (*strategy) New() runtime.Object     { return &networkingv1.NetworkPolicy{} }
func (*strategy) NewList() runtime.Object { return &networkingv1.NetworkPolicyList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

func (*strategy) PrepareForCreate(obj runtime.Object) {
	obj.(*networkingv1.NetworkPolicy).Generation = 1
}

// PrepareForUpdate bumps the stored generation (which the caller has already put on
// obj) when the spec, once defaulted, differs from the stored one.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	np, oldNP := obj.(*networkingv1.NetworkPolicy), old.(*networkingv1.NetworkPolicy)
	np.Generation = oldNP.Generation
	setDefaults(np)
	if !equality.Semantic.DeepEqual(np.Spec, oldNP.Spec) {
		np.Generation++
	}
}

// PrepareForStatusUpdate does nothing: NetworkPolicies have no status subresource.
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {}

// Default sets policyTypes when none are given (Ingress, plus Egress when there are
// egress rules) and TCP on every ingress and egress port without a protocol.
func (*strategy) Default(obj runtime.Object) { setDefaults(obj.(*networkingv1.NetworkPolicy)) }

func setDefaults(np *networkingv1.NetworkPolicy) {
	spec := &np.Spec
	if len(spec.PolicyTypes) == 0 {
		spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(spec.Egress) > 0 {
			spec.PolicyTypes = append(spec.PolicyTypes, networkingv1.PolicyTypeEgress)
		}
	}
	for i := range spec.Ingress {
		defaultProtocols(spec.Ingress[i].Ports)
	}
	for i := range spec.Egress {
		defaultProtocols(spec.Egress[i].Ports)
	}
}

func defaultProtocols(ports []networkingv1.NetworkPolicyPort) {
	for i := range ports {
		if ports[i].Protocol == nil {
			tcp := corev1.ProtocolTCP
			ports[i].Protocol = &tcp
		}
	}
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateSpec(&obj.(*networkingv1.NetworkPolicy).Spec, options{}, field.NewPath("spec"))
}

// ValidateUpdate checks the new spec as on create, except that a stored pod selector
// that no longer validates lets every selector keep invalid label values, and CIDRs
// found anywhere in the stored policy are accepted without being checked again.
func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	np, oldNP := obj.(*networkingv1.NetworkPolicy), old.(*networkingv1.NetworkPolicy)
	return validateSpec(&np.Spec, optionsFor(oldNP), field.NewPath("spec"))
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList { return nil }

func (*strategy) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, true) }

func (*strategy) Columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Pod-Selector", Type: "string", Description: networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]},
		registry.AgeColumn(),
	}
}

func (*strategy) Row(obj runtime.Object, now time.Time) []interface{} {
	np := obj.(*networkingv1.NetworkPolicy)
	return []interface{}{
		np.Name,
		metav1.FormatLabelSelector(&np.Spec.PodSelector),
		registry.Since(np.CreationTimestamp.Time, now),
	}
}
