package job

import (
	"context"
	"errors"
	"sort"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/utils/ptr"
)

// maxUncounted bounds status.uncountedTerminatedPods (about 20 KB of UIDs); more
// finished pods wait for the next sync.
const maxUncounted = 500

// track accounts for the Job's finished pods and writes its status, in this order,
// so that no pod is counted twice or lost whatever step fails:
//
//  1. the UIDs of newly finished pods go into status.uncountedTerminatedPods (with
//     FailureTarget or SuccessCriteriaMet when the Job is ending), and the status is
//     written;
//  2. the tracking finalizers of those pods are removed;
//  3. the UIDs of the pods that lost their finalizer move from the uncounted lists
//     into status.succeeded and status.failed;
//  4. once nothing is uncounted and no pod is terminating, Complete or Failed is set,
//     and the status is written again.
//
// needsWrite says the status changed already.
func (c *Controller) track(ctx context.Context, s *state, needsWrite bool) error {
	job := s.job
	indexed := isIndexed(job)
	if indexed {
		sort.SliceStable(s.pods, func(i, j int) bool { return completionIndex(s.pods[i]) < completionIndex(s.pods[j]) })
	}
	withFinalizer := sets.New[types.UID]()
	for _, p := range s.pods {
		if hasTrackingFinalizer(p) && !s.removing.Has(p.UID) {
			withFinalizer.Insert(p.UID)
		}
	}
	// Step 3 of an earlier sync that did not get to write it.
	if countReleased(&job.Status, withFinalizer) {
		needsWrite = true
	}
	uncounted := job.Status.UncountedTerminatedPods
	ending := s.finish != nil && s.finish.Type != batchv1.JobSuccessCriteriaMet
	var release []*corev1.Pod
	var newIndexes []int
	full := false
	for _, p := range s.pods {
		if !hasTrackingFinalizer(p) || s.removing.Has(p.UID) {
			continue // counted by an earlier sync
		}
		failed := podFailed(p, job)
		if !s.mayRelease(p, failed) {
			continue
		}
		release = append(release, p)
		ix, validIx := validIndex(job, p)
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !s.uncountedFailed.Has(p.UID):
			if indexed {
				if validIx && !s.prevSucceededIdx.has(ix) {
					newIndexes = append(newIndexes, ix)
					needsWrite = true
				}
			} else if !s.uncountedSucceeded.Has(p.UID) {
				uncounted.Succeeded = append(uncounted.Succeeded, p.UID)
				needsWrite = true
			}
		case failed || ending:
			// A Job that fails fails its unfinished pods too.
			if !s.uncountedFailed.Has(p.UID) && (!indexed || validIx) && matchFailurePolicy(job.Spec.PodFailurePolicy, p).count {
				uncounted.Failed = append(uncounted.Failed, p.UID)
				needsWrite = true
			}
		}
		if len(newIndexes)+len(uncounted.Succeeded)+len(uncounted.Failed) >= maxUncounted {
			full = true
			break
		}
	}
	if indexed {
		s.succeededIdx = s.succeededIdx.with(newIndexes...)
		if done := s.succeededIdx.String(); done != job.Status.CompletedIndexes {
			job.Status.CompletedIndexes = done
			needsWrite = true
		}
		job.Status.Succeeded = int32(s.succeededIdx.total())
		var failedIdx *string
		if perIndexBackoff(job) {
			failedIdx = ptr.To(s.failedIdx.String())
		}
		if !ptr.Equal(job.Status.FailedIndexes, failedIdx) {
			job.Status.FailedIndexes = failedIdx
			needsWrite = true
		}
	}
	now := c.clock.Now()
	switch {
	case s.finish != nil && s.finish.Type == batchv1.JobFailureTarget:
		job.Status.Conditions = append(job.Status.Conditions, *s.finish)
		needsWrite = true
		s.finish = newCondition(batchv1.JobFailed, s.finish.Reason, s.finish.Message, now)
	case s.finish != nil && s.finish.Type == batchv1.JobSuccessCriteriaMet:
		if trueCondition(job, batchv1.JobSuccessCriteriaMet) == nil {
			job.Status.Conditions = append(job.Status.Conditions, *s.finish)
			needsWrite = true
		}
		s.finish = newCondition(batchv1.JobComplete, s.finish.Reason, s.finish.Message, now)
	}

	needsWrite, err := c.flush(ctx, s, release, withFinalizer, needsWrite)
	if err != nil {
		return err
	}
	ended := !full && c.end(s)
	if !needsWrite && !ended {
		return nil
	}
	out, err := c.writeStatus(ctx, s.job)
	if err != nil {
		return err
	}
	s.job = out
	if ended {
		c.recordEnd(s.job, s.finish)
	}
	return nil
}

// mayRelease reports whether p's finalizer may go now: the Job is being deleted or is
// ending, p succeeded, or p failed and is not the pod a per-index back-off keeps until
// its replacement exists.
func (s *state) mayRelease(p *corev1.Pod, failed bool) bool {
	if s.job.DeletionTimestamp != nil || s.finish != nil || p.Status.Phase == corev1.PodSucceeded {
		return true
	}
	if !failed {
		return false
	}
	if perIndexBackoff(s.job) {
		if kept, ok := s.delayed[completionIndex(p)]; ok && kept.UID == p.UID {
			return false
		}
	}
	return true
}

// flush performs steps 1 to 3 of track. It returns whether the status has changes
// still to write.
func (c *Controller) flush(ctx context.Context, s *state, release []*corev1.Pod, withFinalizer sets.Set[types.UID], needsWrite bool) (bool, error) {
	if needsWrite {
		out, err := c.writeStatus(ctx, s.job)
		if err != nil {
			return true, err
		}
		s.job = out
		if s.job.Status.UncountedTerminatedPods == nil {
			s.job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
		}
		c.backoff.set(s.key, s.backoff)
		needsWrite = false
	}
	var releaseErr error
	if len(release) > 0 {
		var done []bool
		done, releaseErr = c.removeFinalizers(ctx, s.key, release)
		for i, p := range release {
			if done[i] {
				withFinalizer.Delete(p.UID)
			}
		}
	}
	if countReleased(&s.job.Status, withFinalizer) {
		needsWrite = true
	}
	if releaseErr != nil && needsWrite {
		// Save what was counted before retrying the rest.
		out, err := c.writeStatus(ctx, s.job)
		if err != nil {
			return true, errors.Join(releaseErr, err)
		}
		s.job = out
		return false, releaseErr
	}
	return needsWrite, releaseErr
}

// countReleased moves the uncounted pods that no longer carry the finalizer into the
// counters; it reports whether anything moved.
func countReleased(st *batchv1.JobStatus, withFinalizer sets.Set[types.UID]) bool {
	u := st.UncountedTerminatedPods
	keep := func(uids []types.UID) []types.UID {
		var out []types.UID
		for _, uid := range uids {
			if withFinalizer.Has(uid) {
				out = append(out, uid)
			}
		}
		return out
	}
	succeeded, failed := keep(u.Succeeded), keep(u.Failed)
	moved := len(succeeded) != len(u.Succeeded) || len(failed) != len(u.Failed)
	st.Succeeded += int32(len(u.Succeeded) - len(succeeded))
	st.Failed += int32(len(u.Failed) - len(failed))
	u.Succeeded, u.Failed = succeeded, failed
	return moved
}

// end sets the Complete or Failed condition once every pod is counted and none is
// terminating; it reports whether it did.
func (c *Controller) end(s *state) bool {
	if s.finish == nil {
		return false
	}
	st := &s.job.Status
	if u := st.UncountedTerminatedPods; u != nil && len(u.Succeeded)+len(u.Failed) > 0 {
		return false
	}
	if s.terminating > 0 {
		return false
	}
	c.setCondition(s.job, s.finish.Type, s.finish.Status, s.finish.Reason, s.finish.Message, c.clock.Now())
	if s.finish.Type == batchv1.JobComplete {
		st.CompletionTime = ptr.To(trueCondition(s.job, batchv1.JobComplete).LastTransitionTime)
	}
	return true
}

func (c *Controller) recordEnd(job *batchv1.Job, cond *batchv1.JobCondition) {
	if cond.Type != batchv1.JobComplete {
		c.recorder.Event(job, corev1.EventTypeWarning, cond.Reason, cond.Message)
		return
	}
	if job.Spec.Completions != nil && job.Status.Succeeded > *job.Spec.Completions {
		c.recorder.Event(job, corev1.EventTypeWarning, "TooManySucceededPods", "Too many succeeded pods running after completion count reached")
	}
	c.recorder.Event(job, corev1.EventTypeNormal, "Completed", "Job completed")
}

func (c *Controller) writeStatus(ctx context.Context, job *batchv1.Job) (*batchv1.Job, error) {
	return c.client.BatchV1().Jobs(job.Namespace).UpdateStatus(ctx, job, metav1.UpdateOptions{})
}

func newCondition(t batchv1.JobConditionType, reason, message string, now time.Time) *batchv1.JobCondition {
	return &batchv1.JobCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: message,
		LastProbeTime: metav1.NewTime(now), LastTransitionTime: metav1.NewTime(now)}
}

// setCondition gives job the condition t with status, reason and message; a missing
// condition is not added as False. It reports whether anything changed.
func (c *Controller) setCondition(job *batchv1.Job, t batchv1.JobConditionType, status corev1.ConditionStatus, reason, message string, now time.Time) bool {
	cond := newCondition(t, reason, message, now)
	cond.Status = status
	for i := range job.Status.Conditions {
		old := &job.Status.Conditions[i]
		if old.Type != t {
			continue
		}
		if old.Status == status && old.Reason == reason && old.Message == message {
			return false
		}
		*old = *cond
		return true
	}
	if status == corev1.ConditionFalse {
		return false
	}
	job.Status.Conditions = append(job.Status.Conditions, *cond)
	return true
}

func trueCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if c := &job.Status.Conditions[i]; c.Type == t && c.Status == corev1.ConditionTrue {
			return c
		}
	}
	return nil
}

// finished reports whether job has ended (Complete or Failed).
func finished(job *batchv1.Job) bool {
	return trueCondition(job, batchv1.JobComplete) != nil || trueCondition(job, batchv1.JobFailed) != nil
}
