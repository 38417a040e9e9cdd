package quota

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
)

// scopeSelectorMatches reports whether the scope selector s matches an object whose
// values for s.ScopeName (its priority class, its volume attributes classes) are
// values: the scope name is the key of a one-label set per value, and an object with
// no value is the empty set. s's operator is one of In, NotIn, Exists, DoesNotExist.
func scopeSelectorMatches(s corev1.ScopedResourceSelectorRequirement, values []string) (bool, error) {
	sel, err := scopeSelector(s)
	if err != nil {
		return false, fmt.Errorf("failed to parse and convert selector: %w", err)
	}
	if len(values) == 0 {
		return sel.Matches(labels.Set{}), nil
	}
	for _, v := range values {
		if sel.Matches(labels.Set{string(s.ScopeName): v}) {
			return true, nil
		}
	}
	return false, nil
}

// scopeSelector converts s into a label selector on the key s.ScopeName.
func scopeSelector(s corev1.ScopedResourceSelectorRequirement) (labels.Selector, error) {
	var op selection.Operator
	switch s.Operator {
	case corev1.ScopeSelectorOpIn:
		op = selection.In
	case corev1.ScopeSelectorOpNotIn:
		op = selection.NotIn
	case corev1.ScopeSelectorOpExists:
		op = selection.Exists
	case corev1.ScopeSelectorOpDoesNotExist:
		op = selection.DoesNotExist
	default:
		return nil, fmt.Errorf("%q is not a valid scope selector operator", s.Operator)
	}
	r, err := labels.NewRequirement(string(s.ScopeName), op, s.Values)
	if err != nil {
		return nil, err
	}
	return labels.NewSelector().Add(*r), nil
}
