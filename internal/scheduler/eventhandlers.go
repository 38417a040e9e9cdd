package scheduler

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/scheduler/framework"
)

// assigned reports whether pod is bound to a node.
func assigned(pod *corev1.Pod) bool { return pod.Spec.NodeName != "" }

// terminal reports whether pod has finished; it holds no resources on its node.
func terminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// pending reports whether pod waits for this scheduler.
func pending(pod *corev1.Pod) bool {
	return !assigned(pod) && pod.DeletionTimestamp == nil && !terminal(pod) &&
		(pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == Name) &&
		len(pod.Spec.SchedulingGates) == 0
}

func asPod(obj any) (*corev1.Pod, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	p, ok := obj.(*corev1.Pod)
	return p, ok
}

func asNode(obj any) (*corev1.Node, bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	n, ok := obj.(*corev1.Node)
	return n, ok
}

// podHandler keeps bound pods in the cache, pending pods in the queue and their
// nominations in the nominator. The cache and the nominator are updated before the
// queue hears of the event, so pods the event moves see it.
func (s *Scheduler) podHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			pod, ok := asPod(obj)
			switch {
			case !ok:
			case assigned(pod):
				s.nominator.forget(pod)
				if !terminal(pod) {
					s.addAssigned(pod)
				}
			case pending(pod):
				s.nominator.observe(nil, pod)
				s.queue.Add(pod)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := asPod(oldObj)
			pod, ok2 := asPod(newObj)
			switch {
			case !ok1 || !ok2:
			case assigned(pod) && !assigned(old):
				s.queue.Delete(pod)
				s.nominator.forget(pod)
				if !terminal(pod) {
					s.addAssigned(pod)
				}
			case assigned(pod):
				if terminal(pod) {
					if s.cache.Has(pod) {
						s.removeAssigned(pod)
					}
					return
				}
				s.cache.UpdatePod(pod)
				if !labels.Equals(old.Labels, pod.Labels) {
					s.queue.MoveAll(framework.ClusterEvent{Kind: framework.AssignedPodUpdate, OldPod: old, Pod: pod})
				}
			case pending(pod):
				s.nominator.observe(old, pod)
				s.queue.Update(old, pod)
			default:
				s.queue.Delete(pod)
				s.nominator.forget(pod)
			}
		},
		DeleteFunc: func(obj any) {
			pod, ok := asPod(obj)
			if !ok {
				return
			}
			s.queue.Delete(pod)
			s.nominator.forget(pod)
			if s.cache.Has(pod) {
				s.removeAssigned(pod)
			}
		},
	}
}

func (s *Scheduler) addAssigned(pod *corev1.Pod) {
	moved := s.cache.AddPod(pod)
	s.queue.MoveAll(framework.ClusterEvent{Kind: framework.AssignedPodAdd, Pod: pod})
	if moved != nil {
		s.queue.MoveAll(framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: moved})
	}
}

func (s *Scheduler) removeAssigned(pod *corev1.Pod) {
	s.cache.RemovePod(pod)
	s.queue.MoveAll(framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: pod})
}

// nodeHandler keeps nodes in the cache and retries pods a node change may help.
func (s *Scheduler) nodeHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if n, ok := asNode(obj); ok {
				s.cache.AddNode(n)
				s.queue.MoveAll(framework.ClusterEvent{Kind: framework.NodeAdd, Node: n})
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, ok1 := asNode(oldObj)
			n, ok2 := asNode(newObj)
			if !ok1 || !ok2 {
				return
			}
			s.cache.UpdateNode(n)
			if schedulingChanged(old, n) {
				s.queue.MoveAll(framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: old, Node: n})
			}
		},
		DeleteFunc: func(obj any) {
			if n, ok := asNode(obj); ok {
				s.cache.RemoveNode(n)
			}
		},
	}
}

// schedulingChanged reports whether a node changed in a way that may let more pods
// on: readiness, spec.unschedulable, taints, labels or allocatable.
func schedulingChanged(old, n *corev1.Node) bool {
	return readyStatus(old) != readyStatus(n) ||
		old.Spec.Unschedulable != n.Spec.Unschedulable ||
		!equality.Semantic.DeepEqual(old.Spec.Taints, n.Spec.Taints) ||
		!labels.Equals(old.Labels, n.Labels) ||
		!equality.Semantic.DeepEqual(old.Status.Allocatable, n.Status.Allocatable)
}

func readyStatus(n *corev1.Node) corev1.ConditionStatus {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status
		}
	}
	return corev1.ConditionUnknown
}
