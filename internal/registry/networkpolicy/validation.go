package networkpolicy

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

var (
	protocols   = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
	policyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
)

// options relaxes the checks for values an update carries over from the stored policy.
type options struct {
	// allowInvalidLabelValues lets label selectors keep values that are not valid
	// label values.
	allowInvalidLabelValues bool
	// knownCIDRs are accepted as CIDRs without being checked.
	knownCIDRs []string
}

// optionsFor returns the relaxations an update of old earns: invalid label values when
// old's pod selector has one that fails today's checks, and every CIDR old mentions.
// CIDRs are parsed leniently, as upstream does while its StrictIPCIDRValidation gate
// is off, so the CIDR relaxation only matters for values no longer parseable at all.
func optionsFor(old *networkingv1.NetworkPolicy) options {
	var opts options
	opts.allowInvalidLabelValues = len(metav1validation.ValidateLabelSelector(&old.Spec.PodSelector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0
	addCIDRs := func(peers []networkingv1.NetworkPolicyPeer) {
		for _, p := range peers {
			if p.IPBlock != nil {
				opts.knownCIDRs = append(opts.knownCIDRs, p.IPBlock.CIDR)
				opts.knownCIDRs = append(opts.knownCIDRs, p.IPBlock.Except...)
			}
		}
	}
	for _, r := range old.Spec.Ingress {
		addCIDRs(r.From)
	}
	for _, r := range old.Spec.Egress {
		addCIDRs(r.To)
	}
	return opts
}

// validateSpec checks the pod selector, every ingress and egress rule's ports and
// peers, and the policy types: at most two, each Ingress or Egress.
func validateSpec(spec *networkingv1.NetworkPolicySpec, opts options, fldPath *field.Path) field.ErrorList {
	selOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValues}
	errs := metav1validation.ValidateLabelSelector(&spec.PodSelector, selOpts, fldPath.Child("podSelector"))
	for i, rule := range spec.Ingress {
		rulePath := fldPath.Child("ingress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, validatePort(&rule.Ports[j], rulePath.Child("ports").Index(j))...)
		}
		for j := range rule.From {
			errs = append(errs, validatePeer(&rule.From[j], opts, rulePath.Child("from").Index(j))...)
		}
	}
	for i, rule := range spec.Egress {
		rulePath := fldPath.Child("egress").Index(i)
		for j := range rule.Ports {
			errs = append(errs, validatePort(&rule.Ports[j], rulePath.Child("ports").Index(j))...)
		}
		for j := range rule.To {
			errs = append(errs, validatePeer(&rule.To[j], opts, rulePath.Child("to").Index(j))...)
		}
	}
	typesPath := fldPath.Child("policyTypes")
	if len(spec.PolicyTypes) > len(policyTypes) {
		return append(errs, field.Invalid(typesPath, spec.PolicyTypes, "may not specify more than two policyTypes"))
	}
	for i, t := range spec.PolicyTypes {
		if !slices.Contains(policyTypes, t) {
			errs = append(errs, field.NotSupported(typesPath.Index(i), t, policyTypes))
		}
	}
	return errs
}

// validatePort checks a port: a known protocol; a port number in 1-65535 or an
// IANA service name; and endPort only after a numeric port, not below it, and itself
// a valid port number.
func validatePort(port *networkingv1.NetworkPolicyPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if p := port.Protocol; p != nil && !slices.Contains(protocols, *p) {
		errs = append(errs, field.NotSupported(fldPath.Child("protocol"), *p, protocols))
	}
	portPath, endPath := fldPath.Child("port"), fldPath.Child("endPort")
	switch {
	case port.Port == nil:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(endPath, *port.EndPort, "may not be specified when `port` is not specified"))
		}
	case port.Port.Type == intstr.Int:
		num := port.Port.IntVal
		for _, msg := range validation.IsValidPortNum(int(num)) {
			errs = append(errs, field.Invalid(portPath, num, msg))
		}
		if end := port.EndPort; end != nil {
			if *end < num {
				errs = append(errs, field.Invalid(endPath, *end, "must be greater than or equal to `port`"))
			}
			for _, msg := range validation.IsValidPortNum(int(*end)) {
				errs = append(errs, field.Invalid(endPath, *end, msg))
			}
		}
	default:
		if port.EndPort != nil {
			errs = append(errs, field.Invalid(endPath, *port.EndPort, "may not be specified when `port` is non-numeric"))
		}
		for _, msg := range validation.IsValidPortName(port.Port.StrVal) {
			errs = append(errs, field.Invalid(portPath, port.Port.StrVal, msg))
		}
	}
	return errs
}

// validatePeer checks a peer: at least one of podSelector, namespaceSelector and
// ipBlock; the two selectors may be combined, ipBlock stands alone.
func validatePeer(peer *networkingv1.NetworkPolicyPeer, opts options, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	selOpts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: opts.allowInvalidLabelValues}
	n := 0
	if peer.PodSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.PodSelector, selOpts, fldPath.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		errs = append(errs, metav1validation.ValidateLabelSelector(peer.NamespaceSelector, selOpts, fldPath.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		errs = append(errs, validateIPBlock(peer.IPBlock, opts, fldPath.Child("ipBlock"))...)
	}
	switch {
	case n == 0:
		errs = append(errs, field.Required(fldPath, "must specify a peer"))
	case n > 1 && peer.IPBlock != nil:
		errs = append(errs, field.Forbidden(fldPath, "may not specify both ipBlock and another peer"))
	}
	return errs
}

// validateIPBlock checks that cidr is a CIDR and that every except entry is a CIDR
// strictly inside it (contained, with a longer prefix).
func validateIPBlock(block *networkingv1.IPBlock, opts options, fldPath *field.Path) field.ErrorList {
	cidrPath := fldPath.Child("cidr")
	if block.CIDR == "" {
		return field.ErrorList{field.Required(cidrPath, "")}
	}
	errs := validation.IsValidCIDRForLegacyField(cidrPath, block.CIDR, false, opts.knownCIDRs)
	_, outer, err := netutils.ParseCIDRSloppy(block.CIDR)
	if err != nil {
		return errs
	}
	outerBits, _ := outer.Mask.Size()
	for i, except := range block.Except {
		exceptPath := fldPath.Child("except").Index(i)
		errs = append(errs, validation.IsValidCIDRForLegacyField(exceptPath, except, false, opts.knownCIDRs)...)
		_, inner, err := netutils.ParseCIDRSloppy(except)
		if err != nil {
			continue
		}
		if innerBits, _ := inner.Mask.Size(); !outer.Contains(inner.IP) || innerBits <= outerBits {
			errs = append(errs, field.Invalid(exceptPath, except, "must be a strict subset of `cidr`"))
		}
	}
	return errs
}
