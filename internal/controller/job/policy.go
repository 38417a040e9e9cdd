package job

import (
	"fmt"
	"slices"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

// failureMatch is what a pod failure policy makes of one failed pod.
type failureMatch struct {
	action batchv1.PodFailurePolicyAction // "" when no rule matched
	// count says whether the failure counts against backoffLimit (and
	// backoffLimitPerIndex): false only for Ignore.
	count bool
	// failJob is the Job's failure message when a FailJob rule matched.
	failJob string
}

// matchFailurePolicy applies the first rule of policy that matches the failed pod p;
// rules are tried in order. A nil policy counts every failure.
func matchFailurePolicy(policy *batchv1.PodFailurePolicy, p *corev1.Pod) failureMatch {
	if policy == nil {
		return failureMatch{count: true}
	}
	for i, rule := range policy.Rules {
		var failJob string
		switch {
		case rule.OnExitCodes != nil:
			cs := matchExitCodes(&p.Status, rule.OnExitCodes)
			if cs == nil {
				continue
			}
			failJob = fmt.Sprintf("Container %s for pod %s/%s failed with exit code %v matching %v rule at index %d",
				cs.Name, p.Namespace, p.Name, cs.State.Terminated.ExitCode, rule.Action, i)
		case rule.OnPodConditions != nil:
			cond := matchPodConditions(&p.Status, rule.OnPodConditions)
			if cond == nil {
				continue
			}
			failJob = fmt.Sprintf("Pod %s/%s has condition %v matching %v rule at index %d",
				p.Namespace, p.Name, cond.Type, rule.Action, i)
		default:
			continue
		}
		switch rule.Action {
		case batchv1.PodFailurePolicyActionIgnore:
			return failureMatch{action: rule.Action}
		case batchv1.PodFailurePolicyActionFailJob:
			return failureMatch{action: rule.Action, count: true, failJob: failJob}
		case batchv1.PodFailurePolicyActionFailIndex, batchv1.PodFailurePolicyActionCount:
			return failureMatch{action: rule.Action, count: true}
		}
	}
	return failureMatch{count: true}
}

// matchExitCodes returns the first terminated container (then init container) whose
// non-zero exit code req matches.
func matchExitCodes(st *corev1.PodStatus, req *batchv1.PodFailurePolicyOnExitCodesRequirement) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{st.ContainerStatuses, st.InitContainerStatuses} {
		for i := range list {
			cs := &list[i]
			t := cs.State.Terminated
			if t == nil || t.ExitCode == 0 || (req.ContainerName != nil && *req.ContainerName != cs.Name) {
				continue
			}
			in := slices.Contains(req.Values, t.ExitCode)
			if (req.Operator == batchv1.PodFailurePolicyOnExitCodesOpIn && in) ||
				(req.Operator == batchv1.PodFailurePolicyOnExitCodesOpNotIn && !in) {
				return cs
			}
		}
	}
	return nil
}

func matchPodConditions(st *corev1.PodStatus, patterns []batchv1.PodFailurePolicyOnPodConditionsPattern) *corev1.PodCondition {
	for i := range st.Conditions {
		for _, pat := range patterns {
			if st.Conditions[i].Type == pat.Type && st.Conditions[i].Status == pat.Status {
				return &st.Conditions[i]
			}
		}
	}
	return nil
}

// failJobMessage is the failure message of the first failed pod that matches a
// FailJob rule, if any.
func failJobMessage(job *batchv1.Job, pods []*corev1.Pod) (string, bool) {
	if job.Spec.PodFailurePolicy == nil {
		return "", false
	}
	for _, p := range pods {
		if !podFailed(p, job) {
			continue
		}
		if m := matchFailurePolicy(job.Spec.PodFailurePolicy, p); m.failJob != "" {
			return m.failJob, true
		}
	}
	return "", false
}

// countedFailures is how many of the failed pods count against backoffLimit.
func countedFailures(job *batchv1.Job, failed []*corev1.Pod) int32 {
	n := int32(0)
	for _, p := range failed {
		if matchFailurePolicy(job.Spec.PodFailurePolicy, p).count {
			n++
		}
	}
	return n
}

// matchSuccessPolicy returns the message of the first rule of policy the succeeded
// indexes satisfy: a rule with succeededIndexes needs all of them (or, with
// succeededCount, that many of them); a rule with only succeededCount needs that
// many indexes.
func matchSuccessPolicy(policy *batchv1.SuccessPolicy, completions int32, succeeded intervals) (string, bool) {
	if policy == nil || len(succeeded) == 0 {
		return "", false
	}
	for i, rule := range policy.Rules {
		ok := false
		switch {
		case rule.SucceededIndexes != nil:
			want := parseIntervals(*rule.SucceededIndexes, int(completions))
			if len(want) == 0 {
				continue
			}
			got := overlap(want, succeeded)
			ok = got == want.total() || (rule.SucceededCount != nil && got >= int(*rule.SucceededCount))
		case rule.SucceededCount != nil:
			ok = succeeded.total() >= int(*rule.SucceededCount)
		}
		if ok {
			return fmt.Sprintf("Matched rules at index %d", i), true
		}
	}
	return "", false
}

// overlap is how many indexes a and b share.
func overlap(a, b intervals) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		if o := min(a[i].last, b[j].last) - max(a[i].first, b[j].first) + 1; o > 0 {
			n += o
		}
		if a[i].last < b[j].last {
			i++
		} else {
			j++
		}
	}
	return n
}
