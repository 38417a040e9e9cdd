package scheduler

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/podium/podium/internal/scheduler/framework"
	"github.com/podium/podium/internal/scheduler/queue"
)

// reasonSchedulerError is upstream's PodScheduled reason for a failure other than
// "fits nowhere".
const reasonSchedulerError = "SchedulerError"

// fail puts a pod whose attempt failed back in the queue and records FailedScheduling
// with err's message. It returns the write of PodScheduled=False with that message,
// for the caller to run or hand to the binders.
func (s *Scheduler) fail(qpi *queue.QueuedPodInfo, err error) func(context.Context) {
	var fit *framework.FitError
	unschedulable := errors.As(err, &fit) || errors.Is(err, errNoNodes)
	var rejectedBy []string
	if fit != nil {
		rejectedBy = sets.List(fit.Diagnosis.UnschedulablePlugins)
	}
	s.queue.Requeue(qpi, rejectedBy, unschedulable)
	msg := err.Error()
	s.recorder.Event(qpi.Pod, corev1.EventTypeWarning, "FailedScheduling", msg)
	reason := corev1.PodReasonUnschedulable
	if !unschedulable {
		reason = reasonSchedulerError
		s.log.Info("scheduling failed", "pod", qpi.Key(), "err", err)
	}
	pod := qpi.Pod
	return func(ctx context.Context) { s.setUnscheduled(ctx, pod, reason, msg) }
}

// setUnscheduled writes PodScheduled=False with reason and msg unless the pod, as the
// informer has it now, carries that already. A conflict retries once on a fresh read.
func (s *Scheduler) setUnscheduled(ctx context.Context, pod *corev1.Pod, reason, msg string) {
	cur, err := s.pods.Pods(pod.Namespace).Get(pod.Name)
	if err != nil || cur.UID != pod.UID || assigned(cur) {
		return
	}
	for attempt := 0; attempt < 2; attempt++ {
		next, ok := withCondition(cur, reason, msg)
		if !ok {
			return
		}
		_, err = s.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, next, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) {
			break
		}
		if cur, err = s.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{}); err != nil || cur.UID != pod.UID || assigned(cur) {
			return
		}
	}
	if err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		s.log.Warn("recording an unschedulable pod", "pod", framework.PodKey(pod), "err", err)
	}
}

// withCondition returns a copy of pod with PodScheduled=False, reason and msg, or false
// when pod has that condition already. The transition time moves only when the status
// changes.
func withCondition(pod *corev1.Pod, reason, msg string) (*corev1.Pod, bool) {
	cond := corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg,
		LastTransitionTime: metav1.Now()}
	if pod.Generation > 0 {
		cond.ObservedGeneration = pod.Generation
	}
	for _, c := range pod.Status.Conditions {
		if c.Type != corev1.PodScheduled {
			continue
		}
		if c.Status == cond.Status && c.Reason == reason && c.Message == msg {
			return nil, false
		}
		if c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
	}
	next := pod.DeepCopy()
	replaced := false
	for i := range next.Status.Conditions {
		if next.Status.Conditions[i].Type == corev1.PodScheduled {
			next.Status.Conditions[i], replaced = cond, true
		}
	}
	if !replaced {
		next.Status.Conditions = append(next.Status.Conditions, cond)
	}
	return next, true
}
