package pod

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Upstream's checks of where a pod may run: spec.affinity and
// spec.topologySpreadConstraints, with the 1.37 feature gates (matchLabelKeys in
// pod affinity and in topology spread, with the selector merge) on.

const (
	weightRangeMsg    = "must be in the range 1-100"
	notPositiveMsg    = "must be greater than zero"
	noSelectorKeysMsg = "must not be specified when labelSelector is not set"
)

var (
	supportedSpreadActions         = sets.New(corev1.DoNotSchedule, corev1.ScheduleAnyway)
	supportedNodeInclusionPolicies = sets.New(corev1.NodeInclusionPolicyIgnore, corev1.NodeInclusionPolicyHonor)
)

// validateAffinity checks node affinity and pod affinity and anti-affinity.
func validateAffinity(aff *corev1.Affinity, opts validationOptions, fldPath *field.Path) field.ErrorList {
	if aff == nil {
		return nil
	}
	var errs field.ErrorList
	if na := aff.NodeAffinity; na != nil {
		p := fldPath.Child("nodeAffinity")
		if na.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			errs = append(errs, ValidateNodeSelector(na.RequiredDuringSchedulingIgnoredDuringExecution, opts.allowInvalidNodeAffinityValues,
				p.Child("requiredDuringSchedulingIgnoredDuringExecution"))...)
		}
		for i, term := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			tp := p.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
			if term.Weight <= 0 || term.Weight > 100 {
				errs = append(errs, field.Invalid(tp.Child("weight"), term.Weight, weightRangeMsg))
			}
			// A preference for a label value no node can have is harmless, so upstream
			// never checks the values of preferred terms.
			errs = append(errs, validateNodeSelectorTerm(term.Preference, true, tp.Child("preference"))...)
		}
	}
	if pa := aff.PodAffinity; pa != nil {
		errs = append(errs, validatePodAffinity(pa.RequiredDuringSchedulingIgnoredDuringExecution,
			pa.PreferredDuringSchedulingIgnoredDuringExecution, opts, fldPath.Child("podAffinity"))...)
	}
	if pa := aff.PodAntiAffinity; pa != nil {
		errs = append(errs, validatePodAffinity(pa.RequiredDuringSchedulingIgnoredDuringExecution,
			pa.PreferredDuringSchedulingIgnoredDuringExecution, opts, fldPath.Child("podAntiAffinity"))...)
	}
	return errs
}

// ValidateNodeSelector checks a required node selector (a pod's required node
// affinity, a PersistentVolume's node affinity), which needs at least one
// term. allowInvalidValues leaves the label values of its expressions unchecked.
func ValidateNodeSelector(sel *corev1.NodeSelector, allowInvalidValues bool, fldPath *field.Path) field.ErrorList {
	termsPath := fldPath.Child("nodeSelectorTerms")
	if len(sel.NodeSelectorTerms) == 0 {
		return field.ErrorList{field.Required(termsPath, "must have at least one node selector term")}
	}
	var errs field.ErrorList
	for i, term := range sel.NodeSelectorTerms {
		errs = append(errs, validateNodeSelectorTerm(term, allowInvalidValues, termsPath.Index(i))...)
	}
	return errs
}

func validateNodeSelectorTerm(term corev1.NodeSelectorTerm, allowInvalidValues bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, req := range term.MatchExpressions {
		errs = append(errs, validateNodeSelectorRequirement(req, allowInvalidValues, fldPath.Child("matchExpressions").Index(i))...)
	}
	for i, req := range term.MatchFields {
		errs = append(errs, validateNodeFieldSelectorRequirement(req, fldPath.Child("matchFields").Index(i))...)
	}
	return errs
}

// validateNodeSelectorRequirement checks one expression on node labels: the number
// of values its operator takes, the key, and (unless allowInvalidValues) the values.
func validateNodeSelectorRequirement(req corev1.NodeSelectorRequirement, allowInvalidValues bool, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	valuesPath := fldPath.Child("values")
	switch req.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(req.Values) == 0 {
			errs = append(errs, field.Required(valuesPath, "must be specified when `operator` is 'In' or 'NotIn'"))
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(req.Values) > 0 {
			errs = append(errs, field.Forbidden(valuesPath, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(req.Values) != 1 {
			errs = append(errs, field.Required(valuesPath, "must be specified single value when `operator` is 'Lt' or 'Gt'"))
		}
	default:
		errs = append(errs, field.Invalid(fldPath.Child("operator"), req.Operator, "not a valid selector operator"))
	}
	errs = append(errs, metav1validation.ValidateLabelName(req.Key, fldPath.Child("key"))...)
	if !allowInvalidValues {
		for i, v := range req.Values {
			for _, msg := range validation.IsValidLabelValue(v) {
				errs = append(errs, field.Invalid(valuesPath.Index(i), v, msg))
			}
		}
	}
	return errs
}

// validateNodeFieldSelectorRequirement checks one expression on node fields: the
// only field is metadata.name, compared with one node name.
func validateNodeFieldSelectorRequirement(req corev1.NodeSelectorRequirement, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	valuesPath := fldPath.Child("values")
	switch req.Operator {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(req.Values) != 1 {
			errs = append(errs, field.Required(valuesPath, "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"))
		}
	default:
		errs = append(errs, field.Invalid(fldPath.Child("operator"), req.Operator, "not a valid selector operator"))
	}
	if req.Key != metav1.ObjectNameField {
		return append(errs, field.Invalid(fldPath.Child("key"), req.Key, "not a valid field selector key"))
	}
	for i, v := range req.Values {
		errs = append(errs, validateDNSSubdomain(v, valuesPath.Index(i))...)
	}
	return errs
}

// validatePodAffinity checks the required and the weighted terms of podAffinity or
// podAntiAffinity, which have the same shape.
func validatePodAffinity(required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm, opts validationOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range required {
		errs = append(errs, validatePodAffinityTerm(&required[i], opts, fldPath.Child("requiredDuringSchedulingIgnoredDuringExecution").Index(i))...)
	}
	for i := range preferred {
		p := fldPath.Child("preferredDuringSchedulingIgnoredDuringExecution").Index(i)
		if w := preferred[i].Weight; w <= 0 || w > 100 {
			errs = append(errs, field.Invalid(p.Child("weight"), w, weightRangeMsg))
		}
		errs = append(errs, validatePodAffinityTerm(&preferred[i].PodAffinityTerm, opts, p.Child("podAffinityTerm"))...)
	}
	return errs
}

// validatePodAffinityTerm checks the selectors, namespaces, label keys and topology
// key of one pod affinity term.
func validatePodAffinityTerm(term *corev1.PodAffinityTerm, opts validationOptions, fldPath *field.Path) field.ErrorList {
	errs := validateAffinityTermSelectors(term, opts.allowInvalidAffinitySelectorValues, fldPath)
	for _, ns := range term.Namespaces {
		// Upstream reports every namespace at "namespace", without an index.
		errs = append(errs, validateDNSLabel(ns, fldPath.Child("namespace"))...)
	}
	errs = append(errs, validateLabelKeys(term.MatchLabelKeys, term.MismatchLabelKeys, term.LabelSelector, opts.mergeLabels, fldPath)...)
	if term.TopologyKey == "" {
		errs = append(errs, field.Required(fldPath.Child("topologyKey"), "can not be empty"))
	}
	return append(errs, metav1validation.ValidateLabelName(term.TopologyKey, fldPath.Child("topologyKey"))...)
}

// validateAffinityTermSelectors checks the label and namespace selectors of a pod
// affinity term; allowInvalidValues leaves their label values unchecked.
func validateAffinityTermSelectors(term *corev1.PodAffinityTerm, allowInvalidValues bool, fldPath *field.Path) field.ErrorList {
	opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidValues}
	errs := metav1validation.ValidateLabelSelector(term.LabelSelector, opts, fldPath.Child("labelSelector"))
	return append(errs, metav1validation.ValidateLabelSelector(term.NamespaceSelector, opts, fldPath.Child("namespaceSelector"))...)
}

// validateLabelKeys checks the matchLabelKeys and mismatchLabelKeys of a pod
// affinity term or (mismatchKeys nil) a topology spread constraint: valid label
// names, only beside a label selector, no key in both lists, and no key of
// matchLabelKeys that the selector names twice.
//
// Upstream applies the last rule after its create-time merge of `key in (value)`
// (and `key notin (value)`) into the selector for each key the pod has a label for.
// podium stores selectors unmerged, so mergeLabels, the pod's labels on create and
// nil otherwise, stands in for that merge. As upstream, that error is reported at
// fldPath.Index(i), i the key's index in matchLabelKeys.
func validateLabelKeys(matchKeys, mismatchKeys []string, selector *metav1.LabelSelector, mergeLabels map[string]string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, list := range []struct {
		name string
		keys []string
	}{{"matchLabelKeys", matchKeys}, {"mismatchLabelKeys", mismatchKeys}} {
		if len(list.keys) == 0 {
			continue
		}
		p := fldPath.Child(list.name)
		if selector == nil {
			errs = append(errs, field.Forbidden(p, noSelectorKeysMsg))
			continue
		}
		for i, key := range list.keys {
			errs = append(errs, metav1validation.ValidateLabelName(key, p.Index(i))...)
		}
	}

	if selector != nil {
		matchIndex := map[string]int{}
		for i, key := range matchKeys {
			matchIndex[key] = i
		}
		expressionKeys := make([]string, 0, len(selector.MatchExpressions))
		for _, req := range selector.MatchExpressions {
			expressionKeys = append(expressionKeys, req.Key)
		}
		for _, keys := range [][]string{matchKeys, mismatchKeys} {
			for _, key := range keys {
				if _, ok := mergeLabels[key]; ok {
					expressionKeys = append(expressionKeys, key)
				}
			}
		}
		seen := sets.KeySet(selector.MatchLabels)
		for _, key := range expressionKeys {
			if i, ok := matchIndex[key]; ok && seen.Has(key) {
				errs = append(errs, field.Invalid(fldPath.Index(i), key, "exists in both matchLabelKeys and labelSelector"))
			}
			seen.Insert(key)
		}
	}

	mismatch := sets.New(mismatchKeys...)
	for i, key := range matchKeys {
		if mismatch.Has(key) {
			errs = append(errs, field.Invalid(fldPath.Child("matchLabelKeys").Index(i), key, "exists in both matchLabelKeys and mismatchLabelKeys"))
		}
	}
	return errs
}

// validateTopologySpreadConstraints checks each constraint, and that no two share a
// topology key and an action; the first of such a pair is reported.
func validateTopologySpreadConstraints(constraints []corev1.TopologySpreadConstraint, opts validationOptions, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, c := range constraints {
		p := fldPath.Index(i)
		if c.MaxSkew <= 0 {
			errs = append(errs, field.Invalid(p.Child("maxSkew"), int64(c.MaxSkew), notPositiveMsg))
		}
		if c.TopologyKey == "" {
			errs = append(errs, field.Required(p.Child("topologyKey"), "can not be empty"))
		}
		if !supportedSpreadActions.Has(c.WhenUnsatisfiable) {
			errs = append(errs, field.NotSupported(p.Child("whenUnsatisfiable"), c.WhenUnsatisfiable, sets.List(supportedSpreadActions)))
		}
		for _, later := range constraints[i+1:] {
			if later.TopologyKey == c.TopologyKey && later.WhenUnsatisfiable == c.WhenUnsatisfiable {
				errs = append(errs, field.Duplicate(p.Child("{topologyKey, whenUnsatisfiable}"), fmt.Sprintf("{%v, %v}", c.TopologyKey, c.WhenUnsatisfiable)))
				break
			}
		}
		if m := c.MinDomains; m != nil {
			if *m <= 0 {
				errs = append(errs, field.Invalid(p.Child("minDomains"), int64(*m), notPositiveMsg))
			}
			if c.WhenUnsatisfiable != corev1.DoNotSchedule {
				errs = append(errs, field.Invalid(p.Child("minDomains"), *m,
					fmt.Sprintf("can only use minDomains if whenUnsatisfiable=%s, not %s", corev1.DoNotSchedule, c.WhenUnsatisfiable)))
			}
		}
		for _, policy := range []struct {
			name  string
			value *corev1.NodeInclusionPolicy
		}{{"nodeAffinityPolicy", c.NodeAffinityPolicy}, {"nodeTaintsPolicy", c.NodeTaintsPolicy}} {
			if policy.value != nil && !supportedNodeInclusionPolicies.Has(*policy.value) {
				errs = append(errs, field.NotSupported(p.Child(policy.name), *policy.value, sets.List(supportedNodeInclusionPolicies)))
			}
		}
		errs = append(errs, validateLabelKeys(c.MatchLabelKeys, nil, c.LabelSelector, opts.mergeLabels, p)...)
		if !opts.skipSpreadSelectors {
			errs = append(errs, metav1validation.ValidateLabelSelector(c.LabelSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("labelSelector"))...)
		}
	}
	return errs
}

// hasInvalidAffinitySelector reports whether any pod affinity or anti-affinity term
// of spec has a selector that strict validation refuses.
func hasInvalidAffinitySelector(spec *corev1.PodSpec) bool {
	aff := spec.Affinity
	if aff == nil {
		return false
	}
	var terms []corev1.PodAffinityTerm
	if pa := aff.PodAffinity; pa != nil {
		terms = append(terms, pa.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	if pa := aff.PodAntiAffinity; pa != nil {
		terms = append(terms, pa.RequiredDuringSchedulingIgnoredDuringExecution...)
		for _, w := range pa.PreferredDuringSchedulingIgnoredDuringExecution {
			terms = append(terms, w.PodAffinityTerm)
		}
	}
	for i := range terms {
		if len(validateAffinityTermSelectors(&terms[i], false, nil)) > 0 {
			return true
		}
	}
	return false
}

// hasInvalidNodeAffinityValue reports whether a required node affinity term of spec
// compares a label with a value no label can have.
func hasInvalidNodeAffinityValue(spec *corev1.PodSpec) bool {
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil || spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return false
	}
	for _, term := range spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, req := range term.MatchExpressions {
			for _, v := range req.Values {
				if len(validation.IsValidLabelValue(v)) > 0 {
					return true
				}
			}
		}
	}
	return false
}

// hasInvalidSpreadSelector reports whether a topology spread constraint of spec has
// a label selector that validation refuses.
func hasInvalidSpreadSelector(spec *corev1.PodSpec) bool {
	for _, c := range spec.TopologySpreadConstraints {
		if len(metav1validation.ValidateLabelSelector(c.LabelSelector, metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
			return true
		}
	}
	return false
}
