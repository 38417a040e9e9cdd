package scheduler

import (
	"context"
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"

	"github.com/podium/podium/internal/scheduler/framework"
	"github.com/podium/podium/internal/scheduler/preemption"
)

// preemptionInFlight is a preemption the binders are carrying out.
type preemptionInFlight struct {
	// retried: the preemptor was popped meanwhile and put back to wait.
	retried bool
}

// preempt runs preemption (upstream's DefaultPreemption PostFilter) for a pod that fit
// no node in this cycle, on the cycle's state and snapshot. It records what preemption
// said in fit's message and returns the decision, which failed carries out.
func (s *Scheduler) preempt(state *framework.CycleState, pi *framework.PodInfo, fit *framework.FitError) preemption.Result {
	res := s.decidePreemption(state, pi, fit)
	fit.Diagnosis.PostFilterMsg = res.Status.Message()
	if res.Status.Code() == framework.Error {
		s.log.Info("preemption failed", "pod", pi.Key(), "err", res.Status.AsError())
	}
	return res
}

func (s *Scheduler) decidePreemption(state *framework.CycleState, pi *framework.PodInfo, fit *framework.FitError) preemption.Result {
	failed := func(err error) preemption.Result {
		return preemption.Result{Status: framework.AsStatus(fmt.Errorf("preemption: %w", err)).WithPlugin(preemption.Name)}
	}
	// The latest copy says whether the pod is nominated already.
	cur, err := s.pods.Pods(pi.Pod.Namespace).Get(pi.Pod.Name)
	if err != nil {
		return failed(err)
	}
	node := s.nominator.nominatedNode(cur)
	if node == "" {
		node = cur.Status.NominatedNodeName
	}
	pdbs, err := s.pdbs.List(labels.Everything())
	if err != nil {
		return failed(err)
	}
	return s.preemption.Preempt(preemption.Input{
		Pod:           pi,
		NominatedNode: node,
		State:         state,
		Nodes:         s.snapshot,
		Diagnosis:     fit.Diagnosis,
		PDBs:          pdbs,
		Offset:        s.rand.IntN(1 << 30),
	})
}

// nominationOf returns what res does to the preemptor's nomination.
func nominationOf(res *preemption.Result) nomination {
	switch {
	case res == nil:
		return nomination{}
	case res.Node != "":
		return nomination{set: true, node: res.Node}
	case res.ClearNomination:
		return nomination{set: true}
	}
	return nomination{}
}

// startPreemption records that pod's preemption is being carried out.
func (s *Scheduler) startPreemption(pod *corev1.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.preempting[pod.UID] = &preemptionInFlight{}
}

// waitingForPreemption reports whether pod's preemption is still being carried out,
// and if so remembers to retry it when it is done.
func (s *Scheduler) waitingForPreemption(pod *corev1.Pod) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.preempting[pod.UID]
	if ok {
		f.retried = true
	}
	return ok
}

// endPreemption records that pod's preemption was carried out. A preemptor popped and
// put back meanwhile, or whose preemption failed, is retried: the events it waits for
// may have come already.
func (s *Scheduler) endPreemption(pod *corev1.Pod, ok bool) {
	s.mu.Lock()
	f := s.preempting[pod.UID]
	delete(s.preempting, pod.UID)
	s.mu.Unlock()
	if !ok || (f != nil && f.retried) {
		s.queue.Activate(pod)
	}
}

// evict carries out the IO of a preemption decided for preemptor: the pods of lower
// priority nominated to the node lose their nomination, and each victim not already
// being deleted is marked DisruptionTarget, deleted (gracefully) and given a Preempted
// event. It reports whether every step succeeded.
func (s *Scheduler) evict(ctx context.Context, preemptor *corev1.Pod, res *preemption.Result) bool {
	ok := true
	for _, p := range res.LowerNominated {
		if p.Status.NominatedNodeName == "" {
			continue
		}
		next := p.Status.DeepCopy()
		next.NominatedNodeName = ""
		if err := s.patchPodStatus(ctx, p, next); err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil {
			s.log.Warn("clearing the nomination of a pod of lower priority", "pod", framework.PodKey(p), "node", res.Node, "err", err)
		}
	}
	for _, v := range res.Victims {
		if v.DeletionTimestamp != nil {
			continue
		}
		if err := s.preemptVictim(ctx, preemptor, v, res.Node); err != nil {
			ok = false
			if ctx.Err() == nil {
				s.log.Warn("preempting a pod", "pod", framework.PodKey(v), "preemptor", framework.PodKey(preemptor), "node", res.Node, "err", err)
			}
		}
	}
	return ok
}

// preemptVictim marks victim DisruptionTarget=True/PreemptionByScheduler, deletes it
// and records Preempted on it, as upstream does. A victim already gone is no error.
func (s *Scheduler) preemptVictim(ctx context.Context, preemptor, victim *corev1.Pod, node string) error {
	scheduler := preemptor.Spec.SchedulerName
	if scheduler == "" {
		scheduler = Name
	}
	status, changed := withCondition(victim, corev1.PodCondition{
		Type:    corev1.DisruptionTarget,
		Status:  corev1.ConditionTrue,
		Reason:  corev1.PodReasonPreemptionByScheduler,
		Message: scheduler + ": preempting to accommodate a higher priority pod",
	})
	if changed {
		if err := s.patchPodStatus(ctx, victim, status); err != nil {
			if apierrors.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("marking pod %s DisruptionTarget: %w", framework.PodKey(victim), err)
		}
	}
	uid := victim.UID
	err := s.client.CoreV1().Pods(victim.Namespace).Delete(ctx, victim.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting pod %s: %w", framework.PodKey(victim), err)
	}
	s.recorder.Eventf(victim, corev1.EventTypeNormal, "Preempted", "Preempted by pod %v on node %v", preemptor.UID, node)
	return nil
}

// patchPodStatus patches pod's status into next with a strategic merge patch of the
// difference, as upstream's scheduler does; nothing is sent when there is none.
func (s *Scheduler) patchPodStatus(ctx context.Context, pod *corev1.Pod, next *corev1.PodStatus) error {
	before, err := json.Marshal(corev1.Pod{Status: pod.Status})
	if err != nil {
		return err
	}
	after, err := json.Marshal(corev1.Pod{Status: *next})
	if err != nil {
		return err
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(before, after, corev1.Pod{})
	if err != nil {
		return err
	}
	if string(patch) == "{}" {
		return nil
	}
	_, err = s.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	return err
}
