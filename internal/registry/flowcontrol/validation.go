package flowcontrol

import (
	"fmt"
	"slices"
	"strings"

	flowcontrolv1 "k8s.io/api/flowcontrol/v1"
	flowcontrolv1beta3 "k8s.io/api/flowcontrol/v1beta3"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/apis/flowcontrol/bootstrap"
	"k8s.io/apiserver/pkg/util/shufflesharding"
)

// The values upstream accepts, sorted as its messages list them.
var (
	supportedVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "proxy", "update", "watch"}
	subjectKinds   = []flowcontrolv1.SubjectKind{flowcontrolv1.SubjectKindGroup, flowcontrolv1.SubjectKindServiceAccount, flowcontrolv1.SubjectKindUser}
	methodTypes    = []flowcontrolv1.FlowDistinguisherMethodType{flowcontrolv1.FlowDistinguisherMethodByNamespaceType, flowcontrolv1.FlowDistinguisherMethodByUserType}
	levelTypes     = []flowcontrolv1.PriorityLevelEnablement{flowcontrolv1.PriorityLevelEnablementExempt, flowcontrolv1.PriorityLevelEnablementLimited}
	responseTypes  = []flowcontrolv1.LimitResponseType{flowcontrolv1.LimitResponseTypeQueue, flowcontrolv1.LimitResponseTypeReject}
)

// maxQueues is the most queues a priority level may have.
const maxQueues int32 = 10 * 1000 * 1000

const nsErrIntro = "each member of this list must be '*' or a DNS-1123 label; "

var (
	specPath   = field.NewPath("spec")
	statusPath = field.NewPath("status")
)

// validateFlowSchema checks a FlowSchema's spec, that a mandatory schema keeps its fixed
// spec, and the status.
func validateFlowSchema(fs *flowcontrolv1.FlowSchema) field.ErrorList {
	errs := validateFlowSchemaSpec(fs.Name, &fs.Spec)
	for _, mand := range bootstrap.MandatoryFlowSchemas {
		if mand.Name == fs.Name && !equality.Semantic.DeepEqual(fs.Spec, mand.Spec) {
			errs = append(errs, field.Invalid(specPath, fs.Spec, fmt.Sprintf("spec of '%s' must equal the fixed value", fs.Name)))
		}
	}
	return append(errs, validateFlowSchemaStatus(&fs.Status)...)
}

func validateFlowSchemaSpec(name string, spec *flowcontrolv1.FlowSchemaSpec) field.ErrorList {
	var errs field.ErrorList
	precedence := specPath.Child("matchingPrecedence")
	if spec.MatchingPrecedence <= 0 {
		errs = append(errs, field.Invalid(precedence, spec.MatchingPrecedence, "must be a positive value"))
	}
	if spec.MatchingPrecedence > flowcontrolv1.FlowSchemaMaxMatchingPrecedence {
		errs = append(errs, field.Invalid(precedence, spec.MatchingPrecedence, fmt.Sprintf("must not be greater than %v", flowcontrolv1.FlowSchemaMaxMatchingPrecedence)))
	}
	if spec.MatchingPrecedence == 1 && name != flowcontrolv1.FlowSchemaNameExempt {
		errs = append(errs, field.Invalid(precedence, spec.MatchingPrecedence, "only the schema named 'exempt' may have matchingPrecedence 1"))
	}
	if dm := spec.DistinguisherMethod; dm != nil && !slices.Contains(methodTypes, dm.Type) {
		// Upstream reports the whole method, in its internal form: a struct without
		// JSON tags.
		bad := struct {
			Type flowcontrolv1.FlowDistinguisherMethodType
		}{dm.Type}
		errs = append(errs, field.NotSupported(specPath.Child("distinguisherMethod", "type"), bad, methodTypes))
	}
	plName := specPath.Child("priorityLevelConfiguration", "name")
	if pl := spec.PriorityLevelConfiguration.Name; pl != "" {
		for _, msg := range apivalidation.NameIsDNSSubdomain(pl, false) {
			errs = append(errs, field.Invalid(plName, pl, msg))
		}
	} else {
		errs = append(errs, field.Required(plName, "must reference a priority level"))
	}
	for i := range spec.Rules {
		errs = append(errs, validateRule(&spec.Rules[i], specPath.Child("rules").Index(i))...)
	}
	return errs
}

func validateRule(rule *flowcontrolv1.PolicyRulesWithSubjects, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(rule.Subjects) == 0 {
		errs = append(errs, field.Required(path.Child("subjects"), "subjects must contain at least one value"))
	}
	for i := range rule.Subjects {
		errs = append(errs, validateSubject(&rule.Subjects[i], path.Child("subjects").Index(i))...)
	}
	if len(rule.ResourceRules) == 0 && len(rule.NonResourceRules) == 0 {
		errs = append(errs, field.Required(path, "at least one of resourceRules and nonResourceRules has to be non-empty"))
	}
	for i := range rule.ResourceRules {
		errs = append(errs, validateResourceRule(&rule.ResourceRules[i], path.Child("resourceRules").Index(i))...)
	}
	for i := range rule.NonResourceRules {
		errs = append(errs, validateNonResourceRule(&rule.NonResourceRules[i], path.Child("nonResourceRules").Index(i))...)
	}
	return errs
}

// validateSubject checks that the member the kind selects is set and valid, and that
// the other two are not.
func validateSubject(s *flowcontrolv1.Subject, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	forbidUser := func() {
		if s.User != nil {
			errs = append(errs, field.Forbidden(path.Child("user"), "user is forbidden when subject kind is not 'User'"))
		}
	}
	forbidGroup := func() {
		if s.Group != nil {
			errs = append(errs, field.Forbidden(path.Child("group"), "group is forbidden when subject kind is not 'Group'"))
		}
	}
	forbidServiceAccount := func() {
		if s.ServiceAccount != nil {
			errs = append(errs, field.Forbidden(path.Child("serviceAccount"), "serviceAccount is forbidden when subject kind is not 'ServiceAccount'"))
		}
	}
	switch s.Kind {
	case flowcontrolv1.SubjectKindServiceAccount:
		errs = append(errs, validateServiceAccountSubject(s.ServiceAccount, path.Child("serviceAccount"))...)
		forbidUser()
		forbidGroup()
	case flowcontrolv1.SubjectKindUser:
		if s.User == nil {
			errs = append(errs, field.Required(path.Child("user"), "user is required when subject kind is 'User'"))
		} else if s.User.Name == "" {
			errs = append(errs, field.Required(path.Child("user", "name"), ""))
		}
		forbidServiceAccount()
		forbidGroup()
	case flowcontrolv1.SubjectKindGroup:
		if s.Group == nil {
			errs = append(errs, field.Required(path.Child("group"), "group is required when subject kind is 'Group'"))
		} else if s.Group.Name == "" {
			errs = append(errs, field.Required(path.Child("group", "name"), ""))
		}
		forbidServiceAccount()
		forbidUser()
	default:
		errs = append(errs, field.NotSupported(path.Child("kind"), s.Kind, subjectKinds))
	}
	return errs
}

// validateServiceAccountSubject accepts "*" for the name, meaning every service account
// of the namespace.
func validateServiceAccountSubject(sa *flowcontrolv1.ServiceAccountSubject, path *field.Path) field.ErrorList {
	if sa == nil {
		return field.ErrorList{field.Required(path, "serviceAccount is required when subject kind is 'ServiceAccount'")}
	}
	var errs field.ErrorList
	if sa.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else if sa.Name != flowcontrolv1.NameAll {
		for _, msg := range apivalidation.ValidateServiceAccountName(sa.Name, false) {
			errs = append(errs, field.Invalid(path.Child("name"), sa.Name, msg))
		}
	}
	if sa.Namespace == "" {
		return append(errs, field.Required(path.Child("namespace"), "must specify namespace for service account"))
	}
	for _, msg := range apivalidation.ValidateNamespaceName(sa.Namespace, false) {
		errs = append(errs, field.Invalid(path.Child("namespace"), sa.Namespace, msg))
	}
	return errs
}

// validateVerbs requires at least one verb, "*" alone or only verbs upstream knows.
func validateVerbs(verbs []string, path *field.Path) field.ErrorList {
	switch {
	case len(verbs) == 0:
		return field.ErrorList{field.Required(path, "verbs must contain at least one value")}
	case slices.Contains(verbs, flowcontrolv1.VerbAll):
		if len(verbs) > 1 {
			return field.ErrorList{field.Invalid(path, verbs, "if '*' is present, must not specify other verbs")}
		}
	default:
		for _, v := range verbs {
			if !slices.Contains(supportedVerbs, v) {
				return field.ErrorList{field.NotSupported(path, verbs, supportedVerbs)}
			}
		}
	}
	return nil
}

func validateResourceRule(rule *flowcontrolv1.ResourcePolicyRule, path *field.Path) field.ErrorList {
	errs := validateVerbs(rule.Verbs, path.Child("verbs"))
	if len(rule.APIGroups) == 0 {
		errs = append(errs, field.Required(path.Child("apiGroups"), "resource rules must supply at least one api group"))
	} else if len(rule.APIGroups) > 1 && slices.Contains(rule.APIGroups, flowcontrolv1.APIGroupAll) {
		errs = append(errs, field.Invalid(path.Child("apiGroups"), rule.APIGroups, "if '*' is present, must not specify other api groups"))
	}
	if len(rule.Resources) == 0 {
		errs = append(errs, field.Required(path.Child("resources"), "resource rules must supply at least one resource"))
	} else if len(rule.Resources) > 1 && slices.Contains(rule.Resources, flowcontrolv1.ResourceAll) {
		errs = append(errs, field.Invalid(path.Child("resources"), rule.Resources, "if '*' is present, must not specify other resources"))
	}
	namespaces := path.Child("namespaces")
	switch {
	case len(rule.Namespaces) == 0 && !rule.ClusterScope:
		errs = append(errs, field.Required(namespaces, "resource rules that are not cluster scoped must supply at least one namespace"))
	case slices.Contains(rule.Namespaces, flowcontrolv1.NamespaceEvery):
		if len(rule.Namespaces) > 1 {
			errs = append(errs, field.Invalid(namespaces, rule.Namespaces, "if '*' is present, must not specify other namespaces"))
		}
	default:
		for i, ns := range rule.Namespaces {
			for _, msg := range apivalidation.ValidateNamespaceName(ns, false) {
				errs = append(errs, field.Invalid(namespaces.Index(i), ns, nsErrIntro+msg))
			}
		}
	}
	return errs
}

func validateNonResourceRule(rule *flowcontrolv1.NonResourcePolicyRule, path *field.Path) field.ErrorList {
	errs := validateVerbs(rule.Verbs, path.Child("verbs"))
	urls := path.Child("nonResourceURLs")
	switch {
	case len(rule.NonResourceURLs) == 0:
		errs = append(errs, field.Required(urls, "nonResourceURLs must contain at least one value"))
	case slices.Contains(rule.NonResourceURLs, flowcontrolv1.NonResourceAll):
		if len(rule.NonResourceURLs) > 1 {
			errs = append(errs, field.Invalid(urls, rule.NonResourceURLs, "if '*' is present, must not specify other non-resource URLs"))
		}
	default:
		for i, u := range rule.NonResourceURLs {
			if msg := checkNonResourceURL(u); msg != "" {
				errs = append(errs, field.Invalid(urls.Index(i), u, msg))
			}
		}
	}
	return errs
}

// checkNonResourceURL returns what is wrong with a non-resource URL path, or "": it must
// be "/" or start with a slash, hold no white space or double slash, and may end in
// "/*", which matches every path below (slashes included).
func checkNonResourceURL(u string) string {
	switch {
	case u == "":
		return "must not be empty"
	case u == "/":
		return ""
	case !strings.HasPrefix(u, "/"):
		return "must start with slash"
	case strings.Contains(u, " "):
		return "must not contain white-space"
	case strings.Contains(u, "//"):
		return "must not contain double slash"
	}
	if n := strings.Count(u, "*"); n > 1 || n == 1 && !strings.HasSuffix(u, "/*") {
		return "wildcard can only do suffix matching"
	}
	return ""
}

func validateFlowSchemaStatus(s *flowcontrolv1.FlowSchemaStatus) field.ErrorList {
	types := make([]flowcontrolv1.FlowSchemaConditionType, len(s.Conditions))
	for i, c := range s.Conditions {
		types[i] = c.Type
	}
	return validateConditionTypes(types)
}

func validatePriorityLevelStatus(s *flowcontrolv1.PriorityLevelConfigurationStatus) field.ErrorList {
	types := make([]flowcontrolv1.PriorityLevelConfigurationConditionType, len(s.Conditions))
	for i, c := range s.Conditions {
		types[i] = c.Type
	}
	return validateConditionTypes(types)
}

// validateConditionTypes requires every condition, in order, to have a type that no
// earlier condition has.
func validateConditionTypes[T ~string](types []T) field.ErrorList {
	var errs field.ErrorList
	conditions := statusPath.Child("conditions")
	for i, t := range types {
		if slices.Contains(types[:i], t) {
			errs = append(errs, field.Duplicate(conditions.Index(i).Child("type"), t))
		}
		if t == "" {
			errs = append(errs, field.Required(conditions.Index(i).Child("type"), ""))
		}
	}
	return errs
}

// validatePriorityLevel checks a PriorityLevelConfiguration; old is the stored object on
// update, nil on create.
func validatePriorityLevel(pl, old *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	var errs field.ErrorList
	// The annotation only carries a zero through v1beta3 and never reaches storage.
	if _, ok := pl.Annotations[flowcontrolv1beta3.PriorityLevelPreserveZeroConcurrencySharesKey]; ok {
		errs = append(errs, field.Forbidden(field.NewPath("metadata", "annotations"),
			fmt.Sprintf("annotation '%s' is forbidden", flowcontrolv1beta3.PriorityLevelPreserveZeroConcurrencySharesKey)))
	}
	errs = append(errs, validatePriorityLevelSpec(pl.Name, &pl.Spec)...)
	errs = append(errs, validateMandatoryPriorityLevel(pl)...)
	errs = append(errs, validatePriorityLevelStatus(&pl.Status)...)
	var oldSpec *flowcontrolv1.PriorityLevelConfigurationSpec
	if old != nil {
		oldSpec = &old.Spec
	}
	return mergeDeclarative(errs, declarativeSpecErrors(&pl.Spec, oldSpec))
}

// validateMandatoryPriorityLevel requires the mandatory levels to keep their fixed spec;
// of "exempt", only spec.exempt may differ.
func validateMandatoryPriorityLevel(pl *flowcontrolv1.PriorityLevelConfiguration) field.ErrorList {
	for _, mand := range bootstrap.MandatoryPriorityLevelConfigurations {
		if mand.Name != pl.Name {
			continue
		}
		have, msg := pl.Spec.DeepCopy(), fmt.Sprintf("spec of '%s' must equal the fixed value", pl.Name)
		if pl.Name == flowcontrolv1.PriorityLevelConfigurationNameExempt {
			have.Exempt = mand.Spec.Exempt
			msg = fmt.Sprintf("spec of '%s' except the 'spec.exempt' field must equal the fixed value", pl.Name)
		}
		if !equality.Semantic.DeepEqual(*have, mand.Spec) {
			return field.ErrorList{field.Invalid(specPath, pl.Spec, msg)}
		}
	}
	return nil
}

// validatePriorityLevelSpec checks the type (Exempt exactly for the level named
// "exempt") and the member it selects. The errors marked as covered by declarative
// validation give way to declarativeSpecErrors'.
func validatePriorityLevelSpec(name string, spec *flowcontrolv1.PriorityLevelConfigurationSpec) field.ErrorList {
	var errs field.ErrorList
	typePath := specPath.Child("type")
	if (name == flowcontrolv1.PriorityLevelConfigurationNameExempt) != (spec.Type == flowcontrolv1.PriorityLevelEnablementExempt) {
		errs = append(errs, field.Invalid(typePath, spec.Type, "must be 'Exempt' if and only if `name` is 'exempt'"))
	}
	switch spec.Type {
	case flowcontrolv1.PriorityLevelEnablementExempt:
		if spec.Limited != nil {
			errs = append(errs, field.Forbidden(specPath.Child("limited"), "must be nil if the type is not Limited").MarkCoveredByDeclarative())
		}
		if spec.Exempt != nil {
			errs = append(errs, validateExempt(spec.Exempt, specPath.Child("exempt"))...)
		}
	case flowcontrolv1.PriorityLevelEnablementLimited:
		if spec.Exempt != nil {
			errs = append(errs, field.Forbidden(specPath.Child("exempt"), "must be nil if the type is Limited").MarkCoveredByDeclarative())
		}
		if spec.Limited == nil {
			errs = append(errs, field.Required(specPath.Child("limited"), "must not be empty when type is Limited").MarkCoveredByDeclarative())
		} else {
			errs = append(errs, validateLimited(spec.Limited, specPath.Child("limited"))...)
		}
	case "":
		errs = append(errs, field.Required(typePath, "").MarkCoveredByDeclarative())
	default:
		errs = append(errs, field.NotSupported(typePath, spec.Type, levelTypes))
	}
	return errs
}

func validateExempt(e *flowcontrolv1.ExemptPriorityLevelConfiguration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if n := e.NominalConcurrencyShares; n != nil && *n < 0 {
		errs = append(errs, field.Invalid(path.Child("nominalConcurrencyShares"), *n, "must be a non-negative integer"))
	}
	return append(errs, validateLendablePercent(e.LendablePercent, path)...)
}

func validateLimited(l *flowcontrolv1.LimitedPriorityLevelConfiguration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if n := l.NominalConcurrencyShares; n != nil && *n < 0 {
		errs = append(errs, field.Invalid(path.Child("nominalConcurrencyShares"), *n, "must be a non-negative integer"))
	}
	errs = append(errs, validateLimitResponse(&l.LimitResponse, path.Child("limitResponse"))...)
	errs = append(errs, validateLendablePercent(l.LendablePercent, path)...)
	if b := l.BorrowingLimitPercent; b != nil && *b < 0 {
		errs = append(errs, field.Invalid(path.Child("borrowingLimitPercent"), *b, "if specified, must be a non-negative integer"))
	}
	return errs
}

func validateLendablePercent(p *int32, path *field.Path) field.ErrorList {
	if p != nil && (*p < 0 || *p > 100) {
		return field.ErrorList{field.Invalid(path.Child("lendablePercent"), *p, "must be between 0 and 100, inclusive")}
	}
	return nil
}

func validateLimitResponse(r *flowcontrolv1.LimitResponse, path *field.Path) field.ErrorList {
	switch r.Type {
	case flowcontrolv1.LimitResponseTypeReject:
		if r.Queuing != nil {
			return field.ErrorList{field.Forbidden(path.Child("queuing"), "must be nil if limited.limitResponse.type is not Limited").MarkCoveredByDeclarative()}
		}
	case flowcontrolv1.LimitResponseTypeQueue:
		if r.Queuing == nil {
			return field.ErrorList{field.Required(path.Child("queuing"), "must not be empty if limited.limitResponse.type is Limited").MarkCoveredByDeclarative()}
		}
		return validateQueuing(r.Queuing, path.Child("queuing"))
	case "":
		return field.ErrorList{field.Required(path.Child("type"), "").MarkCoveredByDeclarative()}
	default:
		return field.ErrorList{field.NotSupported(path.Child("type"), r.Type, responseTypes)}
	}
	return nil
}

// validateQueuing checks the queue length and that shuffle sharding can deal hands of
// handSize from queues, within the bits of one hash.
func validateQueuing(q *flowcontrolv1.QueuingConfiguration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if q.QueueLengthLimit <= 0 {
		errs = append(errs, field.Invalid(path.Child("queueLengthLimit"), q.QueueLengthLimit, "must be positive"))
	}
	if q.Queues <= 0 {
		errs = append(errs, field.Invalid(path.Child("queues"), q.Queues, "must be positive"))
	} else if q.Queues > maxQueues {
		errs = append(errs, field.Invalid(path.Child("queues"), q.Queues, fmt.Sprintf("must not be greater than %d", maxQueues)))
	}
	handSize := path.Child("handSize")
	switch {
	case q.HandSize <= 0:
		errs = append(errs, field.Invalid(handSize, q.HandSize, "must be positive"))
	case q.HandSize > q.Queues:
		errs = append(errs, field.Invalid(handSize, q.HandSize, fmt.Sprintf("should not be greater than queues (%d)", q.Queues)))
	case shufflesharding.RequiredEntropyBits(int(q.Queues), int(q.HandSize)) > shufflesharding.MaxHashBits:
		errs = append(errs, field.Invalid(handSize, q.HandSize,
			fmt.Sprintf("required entropy bits of deckSize %d and handSize %d should not be greater than %d", q.Queues, q.HandSize, shufflesharding.MaxHashBits)))
	}
	return errs
}

// declarativeSpecErrors returns the errors of upstream's declarative rules for a
// priority level's spec: the type and limitResponse.type are required, the exempt and
// limited members are required or forbidden by the type, and queuing by
// limitResponse.type. On update (old not nil) it passes over what has not changed, as
// upstream's ratcheting does.
func declarativeSpecErrors(spec, old *flowcontrolv1.PriorityLevelConfigurationSpec) field.ErrorList {
	update := old != nil
	if update && equality.Semantic.DeepEqual(spec, old) {
		return nil
	}
	var errs field.ErrorList
	sameType := update && spec.Type == old.Type
	if !(sameType && equality.Semantic.DeepEqual(spec.Exempt, old.Exempt)) &&
		spec.Type != flowcontrolv1.PriorityLevelEnablementExempt && spec.Exempt != nil {
		errs = append(errs, field.Forbidden(specPath.Child("exempt"), ""))
	}
	if !(sameType && equality.Semantic.DeepEqual(spec.Limited, old.Limited)) {
		switch limited := spec.Type == flowcontrolv1.PriorityLevelEnablementLimited; {
		case limited && spec.Limited == nil:
			errs = append(errs, field.Required(specPath.Child("limited"), ""))
		case !limited && spec.Limited != nil:
			errs = append(errs, field.Forbidden(specPath.Child("limited"), ""))
		}
	}
	if !sameType && spec.Type == "" {
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	}
	if spec.Limited == nil {
		return errs
	}
	var oldResponse *flowcontrolv1.LimitResponse
	if update && old.Limited != nil {
		if equality.Semantic.DeepEqual(spec.Limited, old.Limited) {
			return errs
		}
		oldResponse = &old.Limited.LimitResponse
	}
	r, path := &spec.Limited.LimitResponse, specPath.Child("limited", "limitResponse")
	if oldResponse != nil && equality.Semantic.DeepEqual(r, oldResponse) {
		return errs
	}
	switch queue := r.Type == flowcontrolv1.LimitResponseTypeQueue; {
	case queue && r.Queuing == nil:
		errs = append(errs, field.Required(path.Child("queuing"), ""))
	case !queue && r.Queuing != nil:
		errs = append(errs, field.Forbidden(path.Child("queuing"), ""))
	}
	if !(oldResponse != nil && r.Type == oldResponse.Type) && r.Type == "" {
		errs = append(errs, field.Required(path.Child("type"), ""))
	}
	return errs
}

// mergeDeclarative combines handwritten and declarative errors as upstream's API server
// does with its beta declarative rules enforced: a handwritten error marked as covered
// gives way when a declarative error has its type and field, and the declarative errors
// follow all the handwritten ones.
func mergeDeclarative(handwritten, declarative field.ErrorList) field.ErrorList {
	var errs field.ErrorList
	for _, e := range handwritten {
		replaced := e.CoveredByDeclarative && slices.ContainsFunc(declarative, func(d *field.Error) bool {
			return d.Type == e.Type && d.Field == e.Field
		})
		if !replaced {
			errs = append(errs, e)
		}
	}
	return append(errs, declarative...)
}
