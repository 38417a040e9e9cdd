package job

import (
	"fmt"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func conditionTrue(list []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	for _, c := range list {
		if c.Type == t && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func conditionFalse(list []batchv1.JobCondition, t batchv1.JobConditionType) bool {
	for _, c := range list {
		if c.Type == t && c.Status == corev1.ConditionFalse {
			return true
		}
	}
	return false
}

func complete(job *batchv1.Job) bool {
	return conditionTrue(job.Status.Conditions, batchv1.JobComplete)
}
func failed(job *batchv1.Job) bool   { return conditionTrue(job.Status.Conditions, batchv1.JobFailed) }
func finished(job *batchv1.Job) bool { return complete(job) || failed(job) }

// statusChecks says which of upstream's status rules apply to one status write. Most
// apply only when the fields they read change, so that a status that became
// inconsistent through a spec change (completions scaled down, say) does not block
// unrelated writes.
type statusChecks struct {
	decreasingSucceeded            bool
	invalidCompletedIndexes        bool
	invalidFailedIndexes           bool
	completedIndexesNonIndexed     bool
	failedIndexesNoBackoffPerIndex bool
	failedIndexesOverlapCompleted  bool
	failedWithoutFailureTarget     bool
	completeWithoutSuccessCriteria bool
	finishedWithActivePods         bool
	finishedWithoutStartTime       bool
	finishedWithUncountedPods      bool
	startTimeUpdateUnsuspended     bool
	completionBeforeStartTime      bool
	notCompleteWithCompletionTime  bool
	completeWithoutCompletionTime  bool
	completeWithFailed             bool
	completeWithFailureTarget      bool
	moreReadyThanActive            bool
	finishedWithTerminatingPods    bool
}

// checksFor decides which status rules a write from old to job is held to.
func checksFor(job, old *batchv1.Job) statusChecks {
	st, oldSt := &job.Status, &old.Status
	changed := func(t batchv1.JobConditionType) bool {
		return conditionTrue(oldSt.Conditions, t) != conditionTrue(st.Conditions, t)
	}
	finishedChanged := finished(old) != finished(job)
	completeChanged := changed(batchv1.JobComplete)
	failedChanged := changed(batchv1.JobFailed)
	completedIndexesChanged := oldSt.CompletedIndexes != st.CompletedIndexes
	failedIndexesChanged := !ptr.Equal(oldSt.FailedIndexes, st.FailedIndexes)
	activeChanged := oldSt.Active != st.Active
	startChanged := !ptr.Equal(oldSt.StartTime, st.StartTime)
	completionChanged := !ptr.Equal(oldSt.CompletionTime, st.CompletionTime)
	suspendedWithNoCompletions := ptr.Deref(job.Spec.Suspend, false) && ptr.Equal(job.Spec.Completions, ptr.To[int32](0))
	resuming := conditionTrue(oldSt.Conditions, batchv1.JobSuspended) && conditionFalse(st.Conditions, batchv1.JobSuspended)
	return statusChecks{
		// An Indexed Job whose completions equal its parallelism may be scaled down.
		decreasingSucceeded:            !indexed(&job.Spec) || !ptr.Equal(job.Spec.Completions, job.Spec.Parallelism),
		invalidCompletedIndexes:        completedIndexesChanged,
		invalidFailedIndexes:           failedIndexesChanged,
		completedIndexesNonIndexed:     completedIndexesChanged,
		failedIndexesNoBackoffPerIndex: failedIndexesChanged,
		failedIndexesOverlapCompleted:  failedIndexesChanged || completedIndexesChanged,
		failedWithoutFailureTarget:     failedChanged || failedIndexesChanged,
		completeWithoutSuccessCriteria: completeChanged || changed(batchv1.JobSuccessCriteriaMet),
		finishedWithActivePods:         finishedChanged || activeChanged,
		finishedWithoutStartTime:       (finishedChanged || startChanged) && !suspendedWithNoCompletions,
		finishedWithUncountedPods:      finishedChanged || !equality.Semantic.DeepEqual(oldSt.UncountedTerminatedPods, st.UncountedTerminatedPods),
		startTimeUpdateUnsuspended:     startChanged && !resuming,
		completionBeforeStartTime:      startChanged || completionChanged,
		notCompleteWithCompletionTime:  completeChanged || completionChanged,
		completeWithoutCompletionTime:  completeChanged || completionChanged,
		completeWithFailed:             completeChanged || failedChanged,
		completeWithFailureTarget:      completeChanged || changed(batchv1.JobFailureTarget),
		moreReadyThanActive:            !ptr.Equal(oldSt.Ready, st.Ready) || activeChanged,
		finishedWithTerminatingPods:    finishedChanged || !ptr.Equal(oldSt.Terminating, st.Terminating),
	}
}

// validateStatusUpdate checks a write through the status subresource as upstream does
// now that a Job may be managed by another controller: counters do not go down,
// terminal conditions stay, and the status stays consistent with itself.
func validateStatusUpdate(job, old *batchv1.Job) field.ErrorList {
	checks := checksFor(job, old)
	fldPath := field.NewPath("status")
	st, oldSt := &job.Status, &old.Status
	errs := validateStatus(job, checks, fldPath)
	for _, t := range []batchv1.JobConditionType{batchv1.JobFailed, batchv1.JobComplete, batchv1.JobFailureTarget} {
		if conditionTrue(oldSt.Conditions, t) && !conditionTrue(st.Conditions, t) {
			errs = append(errs, field.Invalid(fldPath.Child("conditions"), field.OmitValueType{}, fmt.Sprintf("cannot disable the terminal %s=True condition", t)))
		}
	}
	if st.Failed < oldSt.Failed {
		errs = append(errs, field.Invalid(fldPath.Child("failed"), st.Failed, "cannot decrease the failed counter"))
	}
	if checks.decreasingSucceeded && st.Succeeded < oldSt.Succeeded {
		errs = append(errs, field.Invalid(fldPath.Child("succeeded"), st.Succeeded, "cannot decrease the succeeded counter"))
	}
	// completionTime may be cleared while the Job is not complete; once complete it is
	// required (checked above), so only a change between two set values is refused here.
	if st.CompletionTime != nil && oldSt.CompletionTime != nil && !ptr.Equal(st.CompletionTime, oldSt.CompletionTime) {
		errs = append(errs, field.Invalid(fldPath.Child("completionTime"), st.CompletionTime, "field is immutable"))
	}
	if checks.startTimeUpdateUnsuspended && oldSt.StartTime != nil && !ptr.Equal(oldSt.StartTime, st.StartTime) && !ptr.Deref(job.Spec.Suspend, false) {
		errs = append(errs, field.Invalid(fldPath.Child("startTime"), st.StartTime, "field is immutable for unsuspended job once set"))
	}
	successCriteriaMet := conditionTrue(st.Conditions, batchv1.JobSuccessCriteriaMet)
	oldSuccessCriteriaMet := conditionTrue(oldSt.Conditions, batchv1.JobSuccessCriteriaMet)
	if oldSuccessCriteriaMet && !successCriteriaMet {
		errs = append(errs, field.Invalid(fldPath.Child("conditions"), field.OmitValueType{}, "cannot disable the SuccessCriteriaMet=True condition"))
	}
	if complete(old) && !oldSuccessCriteriaMet && successCriteriaMet {
		errs = append(errs, field.Invalid(fldPath.Child("conditions"), field.OmitValueType{}, "cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions"))
	}
	return errs
}

// validateStatus checks the status on its own, under the rules checks enables.
func validateStatus(job *batchv1.Job, checks statusChecks, fldPath *field.Path) field.ErrorList {
	st := &job.Status
	conditions := fldPath.Child("conditions")
	var errs field.ErrorList
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(st.Active), fldPath.Child("active"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(st.Succeeded), fldPath.Child("succeeded"))...)
	errs = append(errs, apivalidation.ValidateNonnegativeField(int64(st.Failed), fldPath.Child("failed"))...)
	if st.Ready != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*st.Ready), fldPath.Child("ready"))...)
	}
	if st.Terminating != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(*st.Terminating), fldPath.Child("terminating"))...)
	}
	if st.UncountedTerminatedPods != nil {
		errs = append(errs, validateUncounted(st.UncountedTerminatedPods, fldPath.Child("uncountedTerminatedPods"))...)
	}
	isComplete, isFailed, isFinished := complete(job), failed(job), finished(job)
	failureTarget := conditionTrue(st.Conditions, batchv1.JobFailureTarget)
	successCriteriaMet := conditionTrue(st.Conditions, batchv1.JobSuccessCriteriaMet)
	if checks.completeWithFailed && isComplete && isFailed {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set Complete=True and Failed=true conditions"))
	}
	if checks.completeWithFailureTarget && isComplete && failureTarget {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set Complete=True and FailureTarget=true conditions"))
	}
	if checks.notCompleteWithCompletionTime && st.CompletionTime != nil && !isComplete {
		errs = append(errs, field.Invalid(fldPath.Child("completionTime"), st.CompletionTime, "cannot set completionTime when there is no Complete=True condition"))
	}
	if checks.completeWithoutCompletionTime && st.CompletionTime == nil && isComplete {
		errs = append(errs, field.Required(fldPath.Child("completionTime"), "completionTime is required for Complete jobs"))
	}
	if checks.completionBeforeStartTime && st.StartTime != nil && st.CompletionTime != nil && st.CompletionTime.Before(st.StartTime) {
		errs = append(errs, field.Invalid(fldPath.Child("completionTime"), st.CompletionTime, "must be equal to or after `startTime`"))
	}
	if checks.failedWithoutFailureTarget && isFailed && !failureTarget {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set Failed=True condition without the FailureTarget=true condition"))
	}
	if checks.completeWithoutSuccessCriteria && isComplete && !successCriteriaMet {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set Complete=True condition without the SuccessCriteriaMet=true condition"))
	}
	if checks.finishedWithActivePods && st.Active > 0 && isFinished {
		errs = append(errs, field.Invalid(fldPath.Child("active"), st.Active, "active>0 is invalid for finished job"))
	}
	if checks.finishedWithoutStartTime && st.StartTime == nil && isFinished {
		errs = append(errs, field.Required(fldPath.Child("startTime"), "startTime is required for finished job"))
	}
	if u := st.UncountedTerminatedPods; checks.finishedWithUncountedPods && isFinished && u != nil && len(u.Failed)+len(u.Succeeded) > 0 {
		errs = append(errs, field.Invalid(fldPath.Child("uncountedTerminatedPods"), u, "must be empty for finished job"))
	}
	errs = append(errs, validateStatusIndexes(job, checks, fldPath)...)
	if checks.finishedWithTerminatingPods && ptr.Deref(st.Terminating, 0) > 0 && isFinished {
		errs = append(errs, field.Invalid(fldPath.Child("terminating"), st.Terminating, "terminating>0 is invalid for finished job"))
	}
	if checks.moreReadyThanActive && st.Ready != nil && *st.Ready > st.Active {
		errs = append(errs, field.Invalid(fldPath.Child("ready"), *st.Ready, "cannot set more ready pods than active"))
	}
	if successCriteriaMet && isFailed {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and Failed=true conditions"))
	}
	if successCriteriaMet && failureTarget {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set SuccessCriteriaMet=True and FailureTarget=true conditions"))
	}
	if job.Spec.SuccessPolicy != nil && !successCriteriaMet && isComplete {
		errs = append(errs, field.Invalid(conditions, field.OmitValueType{}, "cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True"))
	}
	return errs
}

// validateUncounted requires every uncounted pod UID to be set and listed once.
func validateUncounted(u *batchv1.UncountedTerminatedPods, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[types.UID]bool{}
	for _, list := range []struct {
		name string
		uids []types.UID
	}{{"succeeded", u.Succeeded}, {"failed", u.Failed}} {
		for i, uid := range list.uids {
			path := fldPath.Child(list.name).Index(i)
			switch {
			case uid == "":
				errs = append(errs, field.Invalid(path, uid, "must not be empty"))
			case seen[uid]:
				errs = append(errs, field.Duplicate(path, uid))
			default:
				seen[uid] = true
			}
		}
	}
	return errs
}

// validateStatusIndexes checks completedIndexes and failedIndexes: well formed and
// within the completions, used only by the Jobs they apply to, and disjoint.
func validateStatusIndexes(job *batchv1.Job, checks statusChecks, fldPath *field.Path) field.ErrorList {
	st, spec := &job.Status, &job.Spec
	var errs field.ErrorList
	if checks.invalidCompletedIndexes && spec.Completions != nil {
		if _, err := countIndexes(st.CompletedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(fldPath.Child("completedIndexes"), st.CompletedIndexes, fmt.Sprintf("error parsing completedIndexes: %s", err)))
		}
	}
	if checks.invalidFailedIndexes && spec.Completions != nil && spec.BackoffLimitPerIndex != nil && st.FailedIndexes != nil {
		if _, err := countIndexes(*st.FailedIndexes, *spec.Completions); err != nil {
			errs = append(errs, field.Invalid(fldPath.Child("failedIndexes"), st.FailedIndexes, fmt.Sprintf("error parsing failedIndexes: %s", err)))
		}
	}
	if checks.completedIndexesNonIndexed && st.CompletedIndexes != "" && !indexed(spec) {
		errs = append(errs, field.Invalid(fldPath.Child("completedIndexes"), st.CompletedIndexes, "cannot set non-empty completedIndexes when non-indexed completion mode"))
	}
	if checks.failedIndexesNoBackoffPerIndex && spec.BackoffLimitPerIndex == nil && st.FailedIndexes != nil {
		errs = append(errs, field.Invalid(fldPath.Child("failedIndexes"), *st.FailedIndexes, "cannot set non-null failedIndexes when backoffLimitPerIndex is null"))
	}
	if checks.failedIndexesOverlapCompleted && spec.Completions != nil && st.FailedIndexes != nil {
		if i, ok := firstOverlap(st.CompletedIndexes, *st.FailedIndexes, *spec.Completions); ok {
			errs = append(errs, field.Invalid(fldPath.Child("failedIndexes"), *st.FailedIndexes, fmt.Sprintf("failedIndexes and completedIndexes overlap at index: %d", i)))
		}
	}
	return errs
}

// interval is an inclusive range of indexes.
type interval struct{ first, last int32 }

// parseInterval reads "x" or "x-y" (x < y), each below completions.
func parseInterval(s string, completions int32) (interval, error) {
	parts := strings.Split(s, "-")
	if len(parts) > 2 {
		return interval{}, fmt.Errorf("the fragment %q violates the requirement that an index interval can have at most two parts separated by '-'", s)
	}
	var bounds [2]int32
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return interval{}, fmt.Errorf("cannot convert string to integer for index: %q", p)
		}
		if n >= int(completions) {
			return interval{}, fmt.Errorf("too large index: %q", p)
		}
		bounds[i] = int32(n)
	}
	if len(parts) == 1 {
		return interval{bounds[0], bounds[0]}, nil
	}
	if bounds[0] >= bounds[1] {
		return interval{}, fmt.Errorf("non-increasing order, previous: %d, current: %d", bounds[0], bounds[1])
	}
	return interval{bounds[0], bounds[1]}, nil
}

// countIndexes parses a comma-separated list of increasing intervals ("1,3-5") and
// returns how many indexes it names.
func countIndexes(s string, completions int32) (int32, error) {
	if s == "" {
		return 0, nil
	}
	var total int32
	var prev *interval
	for _, part := range strings.Split(s, ",") {
		iv, err := parseInterval(part, completions)
		if err != nil {
			return 0, err
		}
		if prev != nil && prev.last >= iv.first {
			return 0, fmt.Errorf("non-increasing order, previous: %d, current: %d", prev.last, iv.first)
		}
		total += iv.last - iv.first + 1
		prev = &iv
	}
	return total, nil
}

// firstOverlap walks the well-formed intervals of two index lists in step and returns
// the first index both name. Malformed intervals are skipped; their format is reported
// elsewhere.
func firstOverlap(completed, failed string, completions int32) (int32, bool) {
	if completed == "" || failed == "" {
		return 0, false
	}
	a, b := parsedIntervals(completed, completions), parsedIntervals(failed, completions)
	for i, j := 0, 0; i < len(a) && j < len(b); {
		if a[i].first <= b[j].last && b[j].first <= a[i].last {
			return max(a[i].first, b[j].first), true
		}
		if a[i].first <= b[j].first {
			i++
		} else {
			j++
		}
	}
	return 0, false
}

func parsedIntervals(s string, completions int32) []interval {
	var list []interval
	for _, part := range strings.Split(s, ",") {
		if iv, err := parseInterval(part, completions); err == nil {
			list = append(list, iv)
		}
	}
	return list
}
