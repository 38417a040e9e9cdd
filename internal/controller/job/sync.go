package job

import (
	"context"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kubectl/pkg/util/podutils"
	"k8s.io/utils/ptr"
)

// Upstream's messages for the conditions that end a Job.
const (
	msgBackoffLimit     = "Job has reached the specified backoff limit"
	msgDeadline         = "Job was active longer than specified deadline"
	msgMaxFailedIndexes = "Job has exceeded the specified maximal number of failed indexes"
	msgFailedIndexes    = "Job has failed indexes"
	msgCompletions      = "Reached expected number of succeeded pods"
)

// state is what one sync of a Job knows and decides.
type state struct {
	key    string
	job    *batchv1.Job  // a copy; its status is what the sync writes
	pods   []*corev1.Pod // the Job's pods, in any phase
	active []*corev1.Pod // pods neither finished nor being deleted

	// uncounted is status.uncountedTerminatedPods as the sync found it.
	uncountedSucceeded, uncountedFailed sets.Set[types.UID]
	// removing holds pods whose finalizer removal the watch has not shown yet.
	removing sets.Set[types.UID]

	succeeded, failed  int32
	ready, terminating int32

	prevSucceededIdx, succeededIdx intervals // Indexed Jobs
	failedIdx                      intervals // Indexed Jobs with backoffLimitPerIndex
	delayed                        map[int]*corev1.Pod

	backoff backoffRecord
	// finish is the condition the Job ends with once its pods are accounted for: at
	// first FailureTarget or SuccessCriteriaMet, then Failed or Complete.
	finish *batchv1.JobCondition
	// requeue is the soonest the Job must be synced again though nothing changes.
	requeue time.Duration
}

func (s *state) after(d time.Duration) {
	d = max(d, batchPeriod)
	if s.requeue == 0 || d < s.requeue {
		s.requeue = d
	}
}

// uncountedPods are the pods not yet in the Job's counters: they carry the finalizer,
// are not being released by this controller, and (Indexed Jobs) have a valid index.
func (s *state) uncountedPods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range s.pods {
		if !hasTrackingFinalizer(p) || s.removing.Has(p.UID) {
			continue
		}
		if _, ok := validIndex(s.job, p); isIndexed(s.job) && !ok {
			continue
		}
		out = append(out, p)
	}
	return out
}

// sync brings one Job's pods and status forward; see the package documentation.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	shared, err := c.jobs.Jobs(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		c.finalizers.forget(key)
		c.backoff.forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if managedElsewhere(shared) {
		return 0, nil
	}
	if finished(shared) {
		c.backoff.forget(key)
		return 0, nil
	}
	job := shared.DeepCopy()
	if mode := job.Spec.CompletionMode; mode != nil && *mode != batchv1.NonIndexedCompletion && *mode != batchv1.IndexedCompletion {
		c.recorder.Event(job, corev1.EventTypeWarning, "UnknownCompletionMode", "Skipped Job sync because completion mode is unknown")
		return 0, nil
	}
	if job.Status.UncountedTerminatedPods == nil {
		job.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{}
	}
	// Expectations are read before the pods: a pod created after this read is at
	// worst seen by the next sync, never counted as missing.
	satisfied := c.exp.Satisfied(key)
	pods, err := c.claim(ctx, job)
	if err != nil {
		return 0, err
	}
	s := &state{key: key, job: job, pods: pods, removing: c.finalizers.pending(key),
		uncountedSucceeded: sets.New(job.Status.UncountedTerminatedPods.Succeeded...),
		uncountedFailed:    sets.New(job.Status.UncountedTerminatedPods.Failed...)}
	for _, p := range pods {
		switch {
		case p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		case p.DeletionTimestamp != nil:
			s.terminating++
		default:
			s.active = append(s.active, p)
			if podutils.IsPodReady(p) {
				s.ready++
			}
		}
	}
	newSucceeded, newFailed := s.newlyFinished()
	s.succeeded = job.Status.Succeeded + int32(len(newSucceeded)+s.uncountedSucceeded.Len())
	s.failed = job.Status.Failed + countedFailures(job, newFailed) + int32(s.uncountedFailed.Len())
	now := c.clock.Now()
	if job.Status.StartTime == nil && !suspended(job) {
		job.Status.StartTime = ptr.To(metav1.NewTime(now))
	}
	s.backoff = c.backoff.next(key, newSucceeded, newFailed)

	c.decideEnd(s, now)
	active := int32(len(s.active))
	var manageErr error
	suspendChanged := false
	if s.finish != nil {
		ready, deleted, err := c.deleteActive(ctx, job, s.active)
		if deleted != active || !satisfied {
			// Pods may remain, or be missing from the cache: the end waits.
			s.finish = nil
		}
		active -= deleted
		s.terminating += deleted
		s.ready -= ready
		manageErr = err
	} else {
		managed := false
		if satisfied && job.DeletionTimestamp == nil {
			active, manageErr = c.manage(ctx, s)
			managed = true
		}
		var complete bool
		if job.Spec.Completions == nil {
			// A work queue: done once any pod succeeded and the rest have ended.
			complete = s.succeeded > 0 && active == 0
		} else {
			complete = s.succeeded >= *job.Spec.Completions && active == 0
		}
		switch {
		case complete:
			s.finish = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonCompletionsReached, msgCompletions, now)
		case managed && suspended(job):
			if c.setCondition(job, batchv1.JobSuspended, corev1.ConditionTrue, "JobSuspended", "Job suspended", now) {
				suspendChanged = true
				c.recorder.Event(job, corev1.EventTypeNormal, "Suspended", "Job suspended")
			}
		case managed:
			if c.setCondition(job, batchv1.JobSuspended, corev1.ConditionFalse, "JobResumed", "Job resumed", now) {
				suspendChanged = true
				c.recorder.Event(job, corev1.EventTypeNormal, "Resumed", "Job resumed")
				// activeDeadlineSeconds counts the time a Job runs unsuspended.
				job.Status.StartTime = ptr.To(metav1.NewTime(now))
			}
		}
	}

	needsWrite := suspendChanged || active != job.Status.Active ||
		!ptr.Equal(job.Status.Ready, &s.ready) || !ptr.Equal(job.Status.Terminating, &s.terminating)
	job.Status.Active = active
	job.Status.Ready = ptr.To(s.ready)
	job.Status.Terminating = ptr.To(s.terminating)
	if err := c.track(ctx, s, needsWrite); err != nil {
		return 0, fmt.Errorf("job %s: tracking status: %w", key, err)
	}
	return s.requeue, manageErr
}

// newlyFinished returns the pods that succeeded or failed and are neither counted
// nor recorded as uncounted yet.
func (s *state) newlyFinished() (succeeded, failed []*corev1.Pod) {
	for _, p := range s.uncountedPods() {
		switch {
		case p.Status.Phase == corev1.PodSucceeded && !s.uncountedSucceeded.Has(p.UID):
			succeeded = append(succeeded, p)
		case podFailed(p, s.job) && !s.uncountedFailed.Has(p.UID):
			failed = append(failed, p)
		}
	}
	return succeeded, failed
}

// decideEnd sets s.finish when the Job must end: a success criterion met earlier, a
// failure target recorded earlier, a FailJob rule, the backoff limit, the deadline,
// failed indexes, or its success policy.
func (c *Controller) decideEnd(s *state, now time.Time) {
	job := s.job
	if cond := trueCondition(job, batchv1.JobSuccessCriteriaMet); cond != nil {
		s.finish = cond.DeepCopy()
	} else if cond := trueCondition(job, batchv1.JobFailureTarget); cond != nil {
		s.finish = newCondition(batchv1.JobFailed, cond.Reason, cond.Message, now)
	} else if msg, ok := failJobMessage(job, s.pods); ok {
		s.finish = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonPodFailurePolicy, msg, now)
	}
	if s.finish == nil {
		switch {
		case s.failed > ptr.Deref(job.Spec.BackoffLimit, 6) || pastBackoffLimitOnFailure(job, s.pods):
			s.finish = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonBackoffLimitExceeded, msgBackoffLimit, now)
		case pastDeadline(job, now):
			s.finish = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonDeadlineExceeded, msgDeadline, now)
		case job.Spec.ActiveDeadlineSeconds != nil && !suspended(job):
			s.after(secs(*job.Spec.ActiveDeadlineSeconds) - now.Sub(job.Status.StartTime.Time))
		}
	}
	if !isIndexed(job) {
		return
	}
	s.prevSucceededIdx, s.succeededIdx = succeededIndexes(job, s.pods)
	s.succeeded = int32(s.succeededIdx.total())
	if perIndexBackoff(job) {
		s.failedIdx = failedIndexes(job, s.pods)
		if s.finish == nil {
			failed := s.failedIdx.total()
			switch {
			case job.Spec.MaxFailedIndexes != nil && failed > int(*job.Spec.MaxFailedIndexes):
				s.finish = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonMaxFailedIndexesExceeded, msgMaxFailedIndexes, now)
			case failed > 0 && failed+s.succeededIdx.total() >= int(completions(job)):
				s.finish = newCondition(batchv1.JobFailureTarget, batchv1.JobReasonFailedIndexes, msgFailedIndexes, now)
			}
		}
		s.delayed = delayedDeletions(s)
	}
	if s.finish == nil {
		if msg, ok := matchSuccessPolicy(job.Spec.SuccessPolicy, completions(job), s.succeededIdx); ok {
			s.finish = newCondition(batchv1.JobSuccessCriteriaMet, batchv1.JobReasonSuccessPolicy, msg, now)
		}
	}
}

// manage creates or deletes pods so that the Job runs as many as it should; it
// returns the number of active pods after that. One sync either deletes or creates.
func (c *Controller) manage(ctx context.Context, s *state) (int32, error) {
	job, key := s.job, s.key
	active := int32(len(s.active))
	if suspended(job) {
		ready, deleted, err := c.deleteSurplus(ctx, key, job, forRemoval(job, s.active, len(s.active)))
		s.terminating += deleted
		s.ready -= ready
		return active - deleted, err
	}
	parallelism := ptr.Deref(job.Spec.Parallelism, 1)
	var want int32
	switch {
	case job.Spec.Completions == nil && s.succeeded > 0:
		want = active // a work queue with a success: let the rest finish
	case job.Spec.Completions == nil:
		want = parallelism
	default:
		want = max(min(*job.Spec.Completions-s.succeeded, parallelism), 0)
	}
	victims := forRemoval(job, s.active, int(max(active-want, 0)))
	if len(victims) > burst {
		victims = victims[:burst]
	}
	if len(victims) > 0 {
		ready, deleted, err := c.deleteSurplus(ctx, key, job, victims)
		s.terminating += deleted
		s.ready -= ready
		return active - deleted, err
	}

	var terminating int32
	if onlyReplaceFailed(job) {
		terminating = s.terminating
	}
	diff := int(want - terminating - active)
	if diff <= 0 {
		return active, nil
	}
	now := c.clock.Now()
	if !perIndexBackoff(job) {
		if left := s.backoff.remaining(now); left > 0 {
			s.after(left)
			return active, nil
		}
	}
	diff = min(diff, burst)
	var indexes []int
	if isIndexed(job) {
		indexes = pendingIndexes(s, diff)
		if perIndexBackoff(job) {
			var wait time.Duration
			if indexes, wait = readyIndexes(indexes, s.delayed, now); len(indexes) == 0 {
				if wait > 0 {
					s.after(wait)
				}
				return active, nil
			}
		}
		diff = len(indexes)
	}
	if diff == 0 {
		return active, nil
	}
	t := podTemplate(job)
	c.exp.ExpectCreates(key, diff)
	created, err := slowStart(diff, func(i int) error {
		ix := noIndex
		if indexes != nil {
			ix = indexes[i]
		}
		return c.createPod(ctx, job, newPod(job, t, ix, s.delayed[ix]))
	})
	for range diff - created {
		c.exp.Created(key) // not created: nothing to wait for
	}
	return active + int32(created), err
}

// readyIndexes keeps the indexes whose per-index back-off has passed; when none has,
// it returns the shortest wait.
func readyIndexes(indexes []int, delayed map[int]*corev1.Pod, now time.Time) ([]int, time.Duration) {
	var out []int
	var wait time.Duration
	for _, ix := range indexes {
		left := indexBackoffLeft(delayed[ix], now)
		if left == 0 {
			out = append(out, ix)
		} else if wait == 0 || left < wait {
			wait = left
		}
	}
	if len(out) > 0 {
		return out, 0
	}
	return nil, wait
}

// pastBackoffLimitOnFailure reports whether the restarts of a restartPolicy
// OnFailure Job's running and pending pods reach its backoff limit.
func pastBackoffLimitOnFailure(job *batchv1.Job, pods []*corev1.Pod) bool {
	if job.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyOnFailure {
		return false
	}
	var n int32
	for _, p := range pods {
		if p.Status.Phase != corev1.PodRunning && p.Status.Phase != corev1.PodPending {
			continue
		}
		for _, cs := range p.Status.InitContainerStatuses {
			n += cs.RestartCount
		}
		for _, cs := range p.Status.ContainerStatuses {
			n += cs.RestartCount
		}
	}
	limit := ptr.Deref(job.Spec.BackoffLimit, 6)
	if limit == 0 {
		return n > 0
	}
	return n >= limit
}

// pastDeadline reports whether an unsuspended Job has run activeDeadlineSeconds.
func pastDeadline(job *batchv1.Job, now time.Time) bool {
	if job.Spec.ActiveDeadlineSeconds == nil || job.Status.StartTime == nil || suspended(job) {
		return false
	}
	return now.Sub(job.Status.StartTime.Time) >= secs(*job.Spec.ActiveDeadlineSeconds)
}

func suspended(job *batchv1.Job) bool { return ptr.Deref(job.Spec.Suspend, false) }

func completions(job *batchv1.Job) int32 { return ptr.Deref(job.Spec.Completions, 0) }

// onlyReplaceFailed reports whether a pod being deleted is replaced only once it has
// ended (podReplacementPolicy Failed, implied by a pod failure policy).
func onlyReplaceFailed(job *batchv1.Job) bool {
	return job.Spec.PodFailurePolicy != nil ||
		ptr.Deref(job.Spec.PodReplacementPolicy, batchv1.TerminatingOrFailed) == batchv1.Failed
}

// podFailed reports whether p counts as failed: it failed, or (unless only failed
// pods are replaced) it is being deleted without having succeeded.
func podFailed(p *corev1.Pod, job *batchv1.Job) bool {
	if p.Status.Phase == corev1.PodFailed {
		return true
	}
	return !onlyReplaceFailed(job) && p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded
}

func terminatingPods(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp != nil && p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

func secs(n int64) time.Duration { return time.Duration(n) * time.Second }
