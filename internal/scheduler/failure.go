package scheduler

import (
	"context"
	"errors"
	"slices"

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

// nomination is what a failed attempt does to the pod's status.nominatedNodeName:
// nothing, unless set, when it becomes node ("" clears it).
type nomination struct {
	set  bool
	node string
}

// fail puts a pod whose attempt failed back in the queue and records FailedScheduling
// with err's message. It returns the write of PodScheduled=False with that message
// (and of nom), for the caller to run or hand to the binders.
func (s *Scheduler) fail(qpi *queue.QueuedPodInfo, err error, nom nomination) func(context.Context) {
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
	return func(ctx context.Context) { s.setUnscheduled(ctx, pod, reason, msg, nom) }
}

// setUnscheduled writes PodScheduled=False with reason and msg, and nom, unless the
// pod, as the informer has it now, carries them already. A conflict retries once on a
// fresh read.
func (s *Scheduler) setUnscheduled(ctx context.Context, pod *corev1.Pod, reason, msg string, nom nomination) {
	cur, err := s.pods.Pods(pod.Namespace).Get(pod.Name)
	if err != nil || cur.UID != pod.UID || assigned(cur) {
		return
	}
	for attempt := 0; attempt < 2; attempt++ {
		next, ok := withUnscheduled(cur, reason, msg, nom)
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

// withUnscheduled returns a copy of pod with PodScheduled=False, reason and msg, and
// nom applied, or false when pod has them already.
func withUnscheduled(pod *corev1.Pod, reason, msg string, nom nomination) (*corev1.Pod, bool) {
	status, changed := withCondition(pod, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: reason, Message: msg})
	if nom.set && status.NominatedNodeName != nom.node {
		if !changed {
			status = pod.Status.DeepCopy()
		}
		status.NominatedNodeName, changed = nom.node, true
	}
	if !changed {
		return nil, false
	}
	next := pod.DeepCopy()
	next.Status = *status
	return next, true
}

// withCondition returns a copy of pod's status with cond set, or false when the pod has
// that condition already (same status, reason and message). The transition time is now,
// or stays when the condition's status does not change; the observed generation is the
// pod's.
func withCondition(pod *corev1.Pod, cond corev1.PodCondition) (*corev1.PodStatus, bool) {
	cond.LastTransitionTime = metav1.Now()
	if pod.Generation > 0 {
		cond.ObservedGeneration = pod.Generation
	}
	i := slices.IndexFunc(pod.Status.Conditions, func(c corev1.PodCondition) bool { return c.Type == cond.Type })
	if i >= 0 {
		c := pod.Status.Conditions[i]
		if c.Status == cond.Status && c.Reason == cond.Reason && c.Message == cond.Message {
			return &pod.Status, false
		}
		if c.Status == cond.Status {
			cond.LastTransitionTime = c.LastTransitionTime
		}
	}
	next := pod.Status.DeepCopy()
	if i >= 0 {
		next.Conditions[i] = cond
	} else {
		next.Conditions = append(next.Conditions, cond)
	}
	return next, true
}
