package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
	"github.com/podium/podium/internal/registry/pod"
)

// Upstream's limits on a Job spec.
const (
	maxParallelismIndexed     = 100_000 // parallelism of an Indexed Job
	maxFailedIndexes          = 100_000 // maxFailedIndexes of an Indexed Job
	completionsSoftLimit      = 100_000 // above it, backoffLimitPerIndex needs tighter bounds:
	maxParallelismHighCount   = 10_000  // on parallelism
	maxFailedIndexesHighCount = 10_000  // and on maxFailedIndexes
	maxFailurePolicyRules     = 20
	maxOnExitCodesValues      = 255
	maxOnPodConditions        = 20
	maxManagedByLength        = 63
	maxSucceededIndexesLen    = 64 * 1024
	maxSuccessPolicyRules     = 20
)

// The accepted values of the enumerations, in the order upstream lists them in messages.
var (
	failurePolicyActions = []batchv1.PodFailurePolicyAction{
		batchv1.PodFailurePolicyActionCount, batchv1.PodFailurePolicyActionFailIndex,
		batchv1.PodFailurePolicyActionFailJob, batchv1.PodFailurePolicyActionIgnore,
	}
	exitCodeOperators = []batchv1.PodFailurePolicyOnExitCodesOperator{
		batchv1.PodFailurePolicyOnExitCodesOpIn, batchv1.PodFailurePolicyOnExitCodesOpNotIn,
	}
	conditionStatuses   = []corev1.ConditionStatus{corev1.ConditionFalse, corev1.ConditionTrue, corev1.ConditionUnknown}
	replacementPolicies = []batchv1.PodReplacementPolicy{batchv1.Failed, batchv1.TerminatingOrFailed}
	jobRestartPolicies  = []corev1.RestartPolicy{corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever}
	completionModes     = []batchv1.CompletionMode{batchv1.NonIndexedCompletion, batchv1.IndexedCompletion}
)

// validateCreate checks a new Job: the generated selector and labels, the spec, and that
// an Indexed Job's name leaves room for its pods' hostnames.
func validateCreate(job *batchv1.Job) field.ErrorList {
	errs := validateGeneratedSelector(job)
	errs = append(errs, validateSpec(&job.Spec, field.NewPath("spec"), false)...)
	return append(errs, validateNameAllowsCompletions(job)...)
}

// validateGeneratedSelector checks, unless the Job has a manual selector, that its pod
// template carries the generated labels with its name and UID, and that its selector
// selects them.
func validateGeneratedSelector(job *batchv1.Job) field.ErrorList {
	if ptr.Deref(job.Spec.ManualSelector, false) || job.Spec.Selector == nil {
		return nil
	}
	var errs field.ErrorList
	if job.UID == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "uid"), ""))
	}
	meta := field.NewPath("spec", "template", "metadata")
	expected := map[string]string{}
	for _, l := range []struct{ key, value string }{
		{legacyControllerUIDLabel, string(job.UID)},
		{legacyJobNameLabel, job.Name},
		{batchv1.ControllerUidLabel, string(job.UID)},
		{batchv1.JobNameLabel, job.Name},
	} {
		errs = append(errs, validateHasLabel(job.Spec.Template.Labels, meta, l.key, l.value)...)
		expected[l.key] = l.value
	}
	if selector, err := metav1.LabelSelectorAsSelector(job.Spec.Selector); err == nil && !selector.Matches(labels.Set(expected)) {
		errs = append(errs, field.Invalid(field.NewPath("spec", "selector"), job.Spec.Selector, "`selector` not auto-generated"))
	}
	return errs
}

func validateHasLabel(l map[string]string, meta *field.Path, key, want string) field.ErrorList {
	path := meta.Child("labels").Key(key)
	got, ok := l[key]
	switch {
	case !ok:
		return field.ErrorList{field.Required(path, fmt.Sprintf("must be '%s'", want))}
	case got != want:
		return field.ErrorList{field.Invalid(path, l, fmt.Sprintf("must be '%s'", want))}
	}
	return nil
}

func validateNameAllowsCompletions(job *batchv1.Job) field.ErrorList {
	if ptr.Deref(job.Spec.CompletionMode, "") != batchv1.IndexedCompletion || ptr.Deref(job.Spec.Completions, 0) <= 0 {
		return nil
	}
	hostname := fmt.Sprintf("%s-%d", job.Name, *job.Spec.Completions-1)
	if len(validation.IsDNS1123Label(hostname)) == 0 {
		return nil
	}
	return field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), job.Name,
		fmt.Sprintf("will not able to create pod with invalid DNS label: %s", hostname))}
}

// validateSpec checks a Job's spec, its selector included: the selector is required,
// must be valid and must select the template's labels. allowInvalidLabelValue
// tolerates label values in the selector that are no longer accepted, for Jobs stored
// with them.
func validateSpec(spec *batchv1.JobSpec, fldPath *field.Path, allowInvalidLabelValue bool) field.ErrorList {
	errs := validateJobSpec(spec, fldPath)
	if spec.Selector == nil {
		errs = append(errs, field.Required(fldPath.Child("selector"), ""))
	} else {
		opts := metav1validation.LabelSelectorValidationOptions{AllowInvalidLabelValueInSelector: allowInvalidLabelValue}
		errs = append(errs, metav1validation.ValidateLabelSelector(spec.Selector, opts, fldPath.Child("selector"))...)
	}
	if selector, err := metav1.LabelSelectorAsSelector(spec.Selector); err == nil {
		errs = append(errs, registry.ValidateSelectorMatchesTemplate(selector, spec.Template.Labels, fldPath.Child("template"))...)
	}
	return errs
}

// ValidateTemplate checks a CronJob's job template as upstream does: its spec as a
// Job's, except that the selector must be left to the server.
func ValidateTemplate(t *batchv1.JobTemplateSpec, fldPath *field.Path) field.ErrorList {
	specPath := fldPath.Child("spec")
	errs := validateJobSpec(&t.Spec, specPath)
	if t.Spec.Selector != nil {
		errs = append(errs, field.Invalid(specPath.Child("selector"), t.Spec.Selector, "`selector` will be auto-generated"))
	}
	if ptr.Deref(t.Spec.ManualSelector, false) {
		errs = append(errs, field.NotSupported(specPath.Child("manualSelector"), t.Spec.ManualSelector, []string{"nil", "false"}))
	}
	return errs
}

// validateJobSpec checks everything in a Job spec but the selector.
func validateJobSpec(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		name  string
		value *int64
	}{
		{"parallelism", widen(spec.Parallelism)},
		{"completions", widen(spec.Completions)},
		{"activeDeadlineSeconds", spec.ActiveDeadlineSeconds},
		{"backoffLimit", widen(spec.BackoffLimit)},
		{"ttlSecondsAfterFinished", widen(spec.TTLSecondsAfterFinished)},
		{"backoffLimitPerIndex", widen(spec.BackoffLimitPerIndex)},
		{"maxFailedIndexes", widen(spec.MaxFailedIndexes)},
	} {
		if f.value != nil {
			errs = append(errs, apivalidation.ValidateNonnegativeField(*f.value, fldPath.Child(f.name))...)
		}
	}
	if spec.MaxFailedIndexes != nil && spec.BackoffLimitPerIndex == nil {
		errs = append(errs, field.Required(fldPath.Child("backoffLimitPerIndex"), "when maxFailedIndexes is specified"))
	}
	if spec.ManagedBy != nil {
		errs = append(errs, validation.IsDomainPrefixedPath(fldPath.Child("managedBy"), *spec.ManagedBy)...)
		if len(*spec.ManagedBy) > maxManagedByLength {
			errs = append(errs, field.TooLong(fldPath.Child("managedBy"), "", maxManagedByLength))
		}
	}
	errs = append(errs, validateCompletionMode(spec, fldPath)...)
	if spec.PodFailurePolicy != nil {
		errs = append(errs, validatePodFailurePolicy(spec, fldPath.Child("podFailurePolicy"))...)
	}
	if spec.SuccessPolicy != nil {
		if !indexed(spec) {
			errs = append(errs, field.Invalid(fldPath.Child("successPolicy"), *spec.SuccessPolicy, "requires indexed completion mode"))
		} else {
			errs = append(errs, validateSuccessPolicy(spec, fldPath.Child("successPolicy"))...)
		}
	}
	errs = append(errs, validatePodReplacementPolicy(spec, fldPath.Child("podReplacementPolicy"))...)
	errs = append(errs, pod.ValidateTemplate(&spec.Template, fldPath.Child("template"))...)
	return append(errs, validateRestartPolicy(spec, fldPath.Child("template", "spec", "restartPolicy"))...)
}

func widen(v *int32) *int64 {
	if v == nil {
		return nil
	}
	return ptr.To(int64(*v))
}

func indexed(spec *batchv1.JobSpec) bool {
	return ptr.Deref(spec.CompletionMode, batchv1.NonIndexedCompletion) == batchv1.IndexedCompletion
}

// validateCompletionMode checks the mode and the fields that depend on it: an Indexed
// Job needs completions and bounded parallelism and failed indexes; the per-index
// backoff fields need Indexed mode.
func validateCompletionMode(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	mode := spec.CompletionMode
	if mode != nil && !slices.Contains(completionModes, *mode) {
		errs = append(errs, field.NotSupported(fldPath.Child("completionMode"), *mode, completionModes))
	}
	if mode != nil && *mode == batchv1.IndexedCompletion {
		errs = append(errs, validateIndexedLimits(spec, fldPath)...)
	}
	if mode == nil || *mode == batchv1.NonIndexedCompletion {
		if spec.BackoffLimitPerIndex != nil {
			errs = append(errs, field.Invalid(fldPath.Child("backoffLimitPerIndex"), *spec.BackoffLimitPerIndex, "requires indexed completion mode"))
		}
		if spec.MaxFailedIndexes != nil {
			errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), *spec.MaxFailedIndexes, "requires indexed completion mode"))
		}
	}
	return errs
}

func validateIndexedLimits(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	parallelism, completions, maxFailed := spec.Parallelism, spec.Completions, spec.MaxFailedIndexes
	if completions == nil {
		errs = append(errs, field.Required(fldPath.Child("completions"), fmt.Sprintf("when completion mode is %s", batchv1.IndexedCompletion)))
	}
	if parallelism != nil && *parallelism > maxParallelismIndexed {
		errs = append(errs, field.Invalid(fldPath.Child("parallelism"), *parallelism,
			fmt.Sprintf("must be less than or equal to %d when completion mode is %s", maxParallelismIndexed, batchv1.IndexedCompletion)))
	}
	if completions != nil && maxFailed != nil && *maxFailed > *completions {
		errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), *maxFailed, "must be less than or equal to completions"))
	}
	if maxFailed != nil && *maxFailed > maxFailedIndexes {
		errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), *maxFailed, fmt.Sprintf("must be less than or equal to %d", maxFailedIndexes)))
	}
	if completions == nil || *completions <= completionsSoftLimit || spec.BackoffLimitPerIndex == nil {
		return errs
	}
	if maxFailed == nil {
		errs = append(errs, field.Required(fldPath.Child("maxFailedIndexes"), fmt.Sprintf("must be specified when completions is above %d", completionsSoftLimit)))
	}
	const tail = "when completions are above %d and used with backoff limit per index"
	if parallelism != nil && *parallelism > maxParallelismHighCount {
		errs = append(errs, field.Invalid(fldPath.Child("parallelism"), *parallelism,
			fmt.Sprintf("must be less than or equal to %d "+tail, maxParallelismHighCount, completionsSoftLimit)))
	}
	if maxFailed != nil && *maxFailed > maxFailedIndexesHighCount {
		errs = append(errs, field.Invalid(fldPath.Child("maxFailedIndexes"), *maxFailed,
			fmt.Sprintf("must be less than or equal to %d "+tail, maxFailedIndexesHighCount, completionsSoftLimit)))
	}
	return errs
}

// validateRestartPolicy requires the template's pods to restart OnFailure or Never,
// and Never under a pod failure policy. The pod defaults turn an unset policy into
// Always, which is reported as missing.
func validateRestartPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	switch policy := spec.Template.Spec.RestartPolicy; {
	case policy == corev1.RestartPolicyAlways || policy == "":
		return field.ErrorList{field.Required(fldPath, fmt.Sprintf("valid values: %q, %q", corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever))}
	case !slices.Contains(jobRestartPolicies, policy):
		return field.ErrorList{field.NotSupported(fldPath, policy, jobRestartPolicies)}
	case spec.PodFailurePolicy != nil && policy != corev1.RestartPolicyNever:
		return field.ErrorList{field.Invalid(fldPath, policy, fmt.Sprintf("only %q is supported when podFailurePolicy is specified", corev1.RestartPolicyNever))}
	}
	return nil
}

func validatePodReplacementPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	policy := spec.PodReplacementPolicy
	switch {
	case policy == nil:
	case spec.PodFailurePolicy != nil && *policy != batchv1.Failed:
		return field.ErrorList{field.NotSupported(fldPath, *policy, []batchv1.PodReplacementPolicy{batchv1.Failed})}
	case spec.PodFailurePolicy == nil && !slices.Contains(replacementPolicies, *policy):
		return field.ErrorList{field.NotSupported(fldPath, *policy, replacementPolicies)}
	}
	return nil
}

func validatePodFailurePolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := spec.PodFailurePolicy.Rules
	rulesPath := fldPath.Child("rules")
	if len(rules) > maxFailurePolicyRules {
		errs = append(errs, field.TooMany(rulesPath, len(rules), maxFailurePolicyRules))
	}
	containers := map[string]bool{}
	for _, c := range spec.Template.Spec.Containers {
		containers[c.Name] = true
	}
	for _, c := range spec.Template.Spec.InitContainers {
		containers[c.Name] = true
	}
	for i := range rules {
		errs = append(errs, validateFailurePolicyRule(spec, &rules[i], rulesPath.Index(i), containers)...)
	}
	return errs
}

func validateFailurePolicyRule(spec *batchv1.JobSpec, rule *batchv1.PodFailurePolicyRule, fldPath *field.Path, containers map[string]bool) field.ErrorList {
	var errs field.ErrorList
	actionPath := fldPath.Child("action")
	switch {
	case rule.Action == "":
		errs = append(errs, field.Required(actionPath, fmt.Sprintf("valid values: %q", failurePolicyActions)))
	case rule.Action == batchv1.PodFailurePolicyActionFailIndex:
		if spec.BackoffLimitPerIndex == nil {
			errs = append(errs, field.Invalid(actionPath, rule.Action, "requires the backoffLimitPerIndex to be set"))
		}
	case !slices.Contains(failurePolicyActions, rule.Action):
		errs = append(errs, field.NotSupported(actionPath, rule.Action, failurePolicyActions))
	}
	if rule.OnExitCodes != nil {
		errs = append(errs, validateOnExitCodes(rule.OnExitCodes, fldPath.Child("onExitCodes"), containers)...)
	}
	if len(rule.OnPodConditions) > 0 {
		errs = append(errs, validateOnPodConditions(rule.OnPodConditions, fldPath.Child("onPodConditions"))...)
	}
	switch {
	case rule.OnExitCodes != nil && len(rule.OnPodConditions) > 0:
		errs = append(errs, field.Invalid(fldPath, field.OmitValueType{}, "specifying both OnExitCodes and OnPodConditions is not supported"))
	case rule.OnExitCodes == nil && len(rule.OnPodConditions) == 0:
		errs = append(errs, field.Invalid(fldPath, field.OmitValueType{}, "specifying one of OnExitCodes and OnPodConditions is required"))
	}
	return errs
}

func validateOnPodConditions(patterns []batchv1.PodFailurePolicyOnPodConditionsPattern, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(patterns) > maxOnPodConditions {
		errs = append(errs, field.TooMany(fldPath, len(patterns), maxOnPodConditions))
	}
	for i, p := range patterns {
		path := fldPath.Index(i)
		for _, msg := range validation.IsQualifiedName(string(p.Type)) {
			errs = append(errs, field.Invalid(path.Child("type"), p.Type, msg))
		}
		switch {
		case p.Status == "":
			errs = append(errs, field.Required(path.Child("status"), fmt.Sprintf("valid values: %q", conditionStatuses)))
		case !slices.Contains(conditionStatuses, p.Status):
			errs = append(errs, field.NotSupported(path.Child("status"), p.Status, conditionStatuses))
		}
	}
	return errs
}

func validateOnExitCodes(req *batchv1.PodFailurePolicyOnExitCodesRequirement, fldPath *field.Path, containers map[string]bool) field.ErrorList {
	var errs field.ErrorList
	opPath := fldPath.Child("operator")
	switch {
	case req.Operator == "":
		errs = append(errs, field.Required(opPath, fmt.Sprintf("valid values: %q", exitCodeOperators)))
	case !slices.Contains(exitCodeOperators, req.Operator):
		errs = append(errs, field.NotSupported(opPath, req.Operator, exitCodeOperators))
	}
	if req.ContainerName != nil && !containers[*req.ContainerName] {
		errs = append(errs, field.Invalid(fldPath.Child("containerName"), *req.ContainerName, "must be one of the container or initContainer names in the pod template"))
	}
	valuesPath := fldPath.Child("values")
	switch {
	case len(req.Values) == 0:
		errs = append(errs, field.Invalid(valuesPath, req.Values, "at least one value is required"))
	case len(req.Values) > maxOnExitCodesValues:
		errs = append(errs, field.TooMany(valuesPath, len(req.Values), maxOnExitCodesValues))
	}
	seen := map[int32]bool{}
	ordered := true
	for i, v := range req.Values {
		path := valuesPath.Index(i)
		if req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && v == 0 {
			errs = append(errs, field.Invalid(path, v, "must not be 0 for the In operator"))
		}
		if seen[v] {
			errs = append(errs, field.Duplicate(path, v))
		}
		seen[v] = true
		if i > 0 && req.Values[i-1] > v {
			ordered = false
		}
	}
	if !ordered {
		errs = append(errs, field.Invalid(valuesPath, req.Values, "must be ordered"))
	}
	return errs
}

// validateSuccessPolicy checks an Indexed Job's success policy: 1 to 20 rules, each
// naming a count or indexes within the completions.
func validateSuccessPolicy(spec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	rules := spec.SuccessPolicy.Rules
	rulesPath := fldPath.Child("rules")
	if len(rules) == 0 {
		errs = append(errs, field.Required(rulesPath, "at least one rules must be specified when the successPolicy is specified"))
	}
	if len(rules) > maxSuccessPolicyRules {
		errs = append(errs, field.TooMany(rulesPath, len(rules), maxSuccessPolicyRules))
	}
	completions := ptr.Deref(spec.Completions, 0)
	for i, rule := range rules {
		path := rulesPath.Index(i)
		if rule.SucceededCount == nil && rule.SucceededIndexes == nil {
			errs = append(errs, field.Required(path, "at least one of succeededCount or succeededIndexes must be specified"))
		}
		var total int32
		if rule.SucceededIndexes != nil {
			indexesPath := path.Child("succeededIndexes")
			if len(*rule.SucceededIndexes) > maxSucceededIndexesLen {
				errs = append(errs, field.TooLong(indexesPath, "", maxSucceededIndexesLen))
			}
			var err error
			if total, err = countIndexes(*rule.SucceededIndexes, completions); err != nil {
				errs = append(errs, field.Invalid(indexesPath, *rule.SucceededIndexes, fmt.Sprintf("error parsing succeededIndexes: %s", err)))
			}
		}
		if count := rule.SucceededCount; count != nil {
			countPath := path.Child("succeededCount")
			errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*count), countPath)...)
			if *count > completions {
				errs = append(errs, field.Invalid(countPath, *count, fmt.Sprintf("must be less than or equal to %d (the number of specified completions)", completions)))
			}
			if rule.SucceededIndexes != nil && *count > total {
				errs = append(errs, field.Invalid(countPath, *count, fmt.Sprintf("must be less than or equal to %d (the number of indexes in the specified succeededIndexes field)", total)))
			}
		}
	}
	return errs
}

// validateUpdate checks a Job update: the new spec as on create (the selector's old
// invalid label values tolerated), and what may not change. The pod template may
// change only while the Job is suspended and has no active pods, and then only in its
// scheduling directives, labels, annotations and container resources.
func validateUpdate(job, old *batchv1.Job) field.ErrorList {
	spec, oldSpec := &job.Spec, &old.Spec
	fldPath := field.NewPath("spec")
	errs := validateSpec(spec, fldPath, metav1validation.LabelSelectorHasInvalidLabelValue(oldSpec.Selector))
	errs = append(errs, validateCompletionsUpdate(spec, oldSpec, fldPath.Child("completions"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.Selector, oldSpec.Selector, fldPath.Child("selector"))...)
	errs = append(errs, validateTemplateUpdate(&spec.Template, &oldSpec.Template, templateMutable(old), fldPath)...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.CompletionMode, oldSpec.CompletionMode, fldPath.Child("completionMode"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.PodFailurePolicy, oldSpec.PodFailurePolicy, fldPath.Child("podFailurePolicy"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.BackoffLimitPerIndex, oldSpec.BackoffLimitPerIndex, fldPath.Child("backoffLimitPerIndex"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.ManagedBy, oldSpec.ManagedBy, fldPath.Child("managedBy"))...)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.SuccessPolicy, oldSpec.SuccessPolicy, fldPath.Child("successPolicy"))...)
	return append(errs, validateNameAllowsCompletions(job)...)
}

// templateMutable reports whether a stored Job's pod template may change: it is
// suspended, has never started or was suspended after starting, and has no active pods.
func templateMutable(job *batchv1.Job) bool {
	suspended := ptr.Deref(job.Spec.Suspend, false)
	notStarted := job.Status.StartTime == nil
	return suspended && (notStarted || conditionTrue(job.Status.Conditions, batchv1.JobSuspended)) && job.Status.Active == 0
}

// validateCompletionsUpdate keeps a NonIndexed Job's completions fixed; an Indexed Job's
// may change together with parallelism (to the same value).
func validateCompletionsUpdate(spec, oldSpec *batchv1.JobSpec, fldPath *field.Path) field.ErrorList {
	if !indexed(spec) {
		return apivalidation.ValidateImmutableField(spec.Completions, oldSpec.Completions, fldPath)
	}
	if equality.Semantic.DeepEqual(spec.Completions, oldSpec.Completions) || spec.Completions == nil {
		return nil
	}
	if *spec.Completions != ptr.Deref(spec.Parallelism, 0) {
		return field.ErrorList{field.Invalid(fldPath, spec.Completions,
			fmt.Sprintf("can only be modified in tandem with %s", fldPath.Root().Child("parallelism")))}
	}
	return nil
}

func validateTemplateUpdate(t, old *corev1.PodTemplateSpec, mutable bool, fldPath *field.Path) field.ErrorList {
	if !mutable {
		return apivalidation.ValidateImmutableField(t, old, fldPath.Child("template"))
	}
	// What may change is taken from the new template into a copy of the old one; any
	// other difference is then a change to something fixed.
	relaxed := old.DeepCopy()
	switch {
	case t.Spec.Affinity == nil && relaxed.Spec.Affinity != nil:
		relaxed.Spec.Affinity.NodeAffinity = nil
		if *relaxed.Spec.Affinity == (corev1.Affinity{}) {
			relaxed.Spec.Affinity = nil
		}
	case t.Spec.Affinity != nil && relaxed.Spec.Affinity == nil:
		relaxed.Spec.Affinity = &corev1.Affinity{NodeAffinity: t.Spec.Affinity.NodeAffinity}
	case t.Spec.Affinity != nil:
		relaxed.Spec.Affinity.NodeAffinity = t.Spec.Affinity.NodeAffinity
	}
	relaxed.Spec.NodeSelector = t.Spec.NodeSelector
	relaxed.Spec.Tolerations = t.Spec.Tolerations
	relaxed.Spec.SchedulingGates = t.Spec.SchedulingGates
	relaxed.Annotations = t.Annotations
	relaxed.Labels = t.Labels
	takeResources(relaxed.Spec.Containers, t.Spec.Containers)
	takeResources(relaxed.Spec.InitContainers, t.Spec.InitContainers)
	return apivalidation.ValidateImmutableField(t.Spec, relaxed.Spec, fldPath.Child("template", "spec"))
}

// takeResources copies each container's resources from src into dst when both list
// the same containers in the same places.
func takeResources(dst, src []corev1.Container) {
	if len(dst) != len(src) {
		return
	}
	for i := range dst {
		if dst[i].Name == src[i].Name {
			dst[i].Resources = src[i].Resources
		}
	}
}
