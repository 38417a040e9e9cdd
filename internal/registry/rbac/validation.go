package rbac

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Upstream's declarative validation (its beta rules are enforced by default since
// v1.36) owns the checks of the fields marked required: a rule's verbs, a subject's
// name, roleRef.name. Its errors replace the handwritten ones and come after all of
// them, in the order of the fields in the type, with no detail. On update it skips a
// list equal to the stored one, and it never reaches roleRef.name (an unchanged roleRef
// is skipped, a changed one stops at its immutability check, which is not enforced);
// the handwritten error then stays where it was found. The functions below return the
// errors of those checks apart, as required, for the caller to place.

var (
	groups         = []string{rbacv1.GroupName}
	roleKinds      = []string{"Role", "ClusterRole"}
	clusterKinds   = []string{"ClusterRole"}
	subjectKinds   = []string{rbacv1.ServiceAccountKind, rbacv1.UserKind, rbacv1.GroupKind}
	coreGroup      = []string{""}
	rulesPath      = field.NewPath("rules")
	subjectsPath   = field.NewPath("subjects")
	roleRefPath    = field.NewPath("roleRef")
	aggregatedPath = field.NewPath("aggregationRule", "clusterRoleSelectors")
)

// validateName checks that name can be a URL path segment: not "." or "..", and
// without "/" or "%". Upstream imposes no length and ignores whether name is a prefix.
func validateName(name string) []string { return content.IsPathSegmentName(name) }

// validateRole checks a Role's rules; old is the stored role on update, nil on create.
func validateRole(r, old *rbacv1.Role) field.ErrorList {
	errs, required := validateRules(r.Rules, true, old != nil && equality.Semantic.DeepEqual(r.Rules, old.Rules))
	return append(errs, required...)
}

// validateClusterRole checks a ClusterRole's rules and aggregation rule; old is the
// stored role on update, nil on create.
func validateClusterRole(r, old *rbacv1.ClusterRole) field.ErrorList {
	errs, required := validateRules(r.Rules, false, old != nil && equality.Semantic.DeepEqual(r.Rules, old.Rules))
	errs = append(errs, validateAggregationRule(r.AggregationRule, old != nil && hasInvalidLabelValue(old.AggregationRule))...)
	return append(errs, required...)
}

// validateRules checks each rule as upstream's ValidatePolicyRule does. unchanged says
// the rules are those stored, which leaves the verbs check to the handwritten code.
func validateRules(rules []rbacv1.PolicyRule, namespaced, unchanged bool) (errs, required field.ErrorList) {
	for i := range rules {
		path := rulesPath.Index(i)
		if len(rules[i].Verbs) == 0 {
			if unchanged {
				errs = append(errs, field.Required(path.Child("verbs"), "verbs must contain at least one value"))
			} else {
				required = append(required, field.Required(path.Child("verbs"), ""))
			}
		}
		errs = append(errs, validateRule(&rules[i], namespaced, path)...)
	}
	return errs, required
}

// validateRule checks what a rule applies to: either non-resource URLs (only in a
// ClusterRole, and then with no API groups, resources or resource names), or at least
// one API group and one resource.
func validateRule(rule *rbacv1.PolicyRule, namespaced bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(rule.NonResourceURLs) > 0 {
		urlsPath := path.Child("nonResourceURLs")
		if namespaced {
			errs = append(errs, field.Invalid(urlsPath, rule.NonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
		}
		if len(rule.APIGroups) > 0 || len(rule.Resources) > 0 || len(rule.ResourceNames) > 0 {
			errs = append(errs, field.Invalid(urlsPath, rule.NonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
		}
		return errs
	}
	if len(rule.APIGroups) == 0 {
		errs = append(errs, field.Required(path.Child("apiGroups"), "resource rules must supply at least one api group"))
	}
	if len(rule.Resources) == 0 {
		errs = append(errs, field.Required(path.Child("resources"), "resource rules must supply at least one resource"))
	}
	return errs
}

// validateAggregationRule checks that an aggregation rule, when present, has at least
// one selector and that each is a valid label selector. A selector that cannot be
// turned into a label selector is also reported whole, with a null value, as upstream
// does; since that conversion checks label values too, allowInvalidLabelValues spares
// an invalid value only the first error.
func validateAggregationRule(rule *rbacv1.AggregationRule, allowInvalidLabelValues bool) field.ErrorList {
	if rule == nil {
		return nil
	}
	var errs field.ErrorList
	if len(rule.ClusterRoleSelectors) == 0 {
		errs = append(errs, field.Required(aggregatedPath, "at least one clusterRoleSelector required if aggregationRule is non-nil"))
	}
	opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValues}
	for i := range rule.ClusterRoleSelectors {
		sel, path := &rule.ClusterRoleSelectors[i], aggregatedPath.Index(i)
		errs = append(errs, metav1validation.ValidateLabelSelector(sel, opts, path)...)
		if _, err := metav1.LabelSelectorAsSelector(sel); err != nil {
			errs = append(errs, field.Invalid(path, nil, "invalid label selector."))
		}
	}
	return errs
}

// hasInvalidLabelValue reports whether a stored aggregation rule has a selector that
// fails today's label checks.
func hasInvalidLabelValue(rule *rbacv1.AggregationRule) bool {
	if rule == nil {
		return false
	}
	for i := range rule.ClusterRoleSelectors {
		if len(metav1validation.ValidateLabelSelector(&rule.ClusterRoleSelectors[i], metav1validation.LabelSelectorValidationOptions{}, nil)) > 0 {
			return true
		}
	}
	return false
}

// binding is what RoleBindings and ClusterRoleBindings have in common.
type binding struct {
	ref      rbacv1.RoleRef
	subjects []rbacv1.Subject
}

// refValue is how upstream shows a roleRef in its immutability error: it validates its
// internal type, whose fields have no JSON names.
type refValue struct{ APIGroup, Kind, Name string }

// validateBinding checks a binding's roleRef and subjects; old is the stored binding on
// update, nil on create, and then the roleRef may not change. A RoleBinding (namespaced)
// may refer to a Role or a ClusterRole, a ClusterRoleBinding only to a ClusterRole, and
// its service account subjects need a namespace.
func validateBinding(b binding, old *binding, namespaced bool) field.ErrorList {
	kinds := clusterKinds
	if namespaced {
		kinds = roleKinds
	}
	errs, refRequired := validateRoleRef(b.ref, kinds, old != nil)
	subjErrs, subjRequired := validateSubjects(b.subjects, namespaced, old != nil && equality.Semantic.DeepEqual(b.subjects, old.subjects))
	errs = append(errs, subjErrs...)
	if old != nil && b.ref != old.ref {
		errs = append(errs, field.Invalid(roleRefPath, refValue(b.ref), apivalidation.FieldImmutableErrorMsg))
	}
	errs = append(errs, subjRequired...)
	return append(errs, refRequired...)
}

// validateRoleRef checks that a roleRef names a role of one of kinds in the RBAC group
// by a path-segment name. On update the name's presence is the handwritten check's.
func validateRoleRef(ref rbacv1.RoleRef, kinds []string, update bool) (errs, required field.ErrorList) {
	if ref.APIGroup != rbacv1.GroupName {
		errs = append(errs, field.NotSupported(roleRefPath.Child("apiGroup"), ref.APIGroup, groups))
	}
	if !slices.Contains(kinds, ref.Kind) {
		errs = append(errs, field.NotSupported(roleRefPath.Child("kind"), ref.Kind, kinds))
	}
	namePath := roleRefPath.Child("name")
	switch {
	case ref.Name == "" && update:
		errs = append(errs, field.Required(namePath, ""))
	case ref.Name == "":
		required = append(required, field.Required(namePath, ""))
	default:
		for _, msg := range validateName(ref.Name) {
			errs = append(errs, field.Invalid(namePath, ref.Name, msg))
		}
	}
	return errs, required
}

// validateSubjects checks each subject. unchanged says the subjects are those stored,
// which leaves the names' presence to the handwritten check.
func validateSubjects(subjects []rbacv1.Subject, namespaced, unchanged bool) (errs, required field.ErrorList) {
	for i := range subjects {
		path := subjectsPath.Index(i)
		if subjects[i].Name == "" {
			if unchanged {
				errs = append(errs, field.Required(path.Child("name"), ""))
			} else {
				required = append(required, field.Required(path.Child("name"), ""))
			}
		}
		errs = append(errs, validateSubject(&subjects[i], namespaced, path)...)
	}
	return errs, required
}

// validateSubject checks a subject by kind: a service account has a DNS subdomain name,
// the core group, and (outside a namespaced binding) a namespace; a user or a group is
// in the RBAC group. Other kinds are refused.
func validateSubject(s *rbacv1.Subject, namespaced bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch s.Kind {
	case rbacv1.ServiceAccountKind:
		if s.Name != "" {
			for _, msg := range apivalidation.ValidateServiceAccountName(s.Name, false) {
				errs = append(errs, field.Invalid(path.Child("name"), s.Name, msg))
			}
		}
		if s.APIGroup != "" {
			errs = append(errs, field.NotSupported(path.Child("apiGroup"), s.APIGroup, coreGroup))
		}
		if !namespaced && s.Namespace == "" {
			errs = append(errs, field.Required(path.Child("namespace"), ""))
		}
	case rbacv1.UserKind, rbacv1.GroupKind:
		if s.APIGroup != rbacv1.GroupName {
			errs = append(errs, field.NotSupported(path.Child("apiGroup"), s.APIGroup, groups))
		}
	default:
		errs = append(errs, field.NotSupported(path.Child("kind"), s.Kind, subjectKinds))
	}
	return errs
}
