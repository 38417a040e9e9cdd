package statefulset

import (
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// op is one thing a sync does to one pod.
type op int

const (
	opCreate      op = iota // create a missing pod, its claims first
	opReplace               // delete a failed or succeeded pod; it is created afresh once gone
	opClaims                // create the missing claims of a pending pod
	opConform               // restore a pod's identity labels, claim volumes and claim owners
	opClaimOwners           // give a pod beyond the ordinal range's claims their owners
	opScaleDown             // delete a pod beyond the ordinal range
	opUpdate                // delete a pod of an older revision; it comes back at the update revision
)

func (o op) String() string {
	return [...]string{"create", "replace", "claims", "conform", "claim-owners", "scale-down", "update"}[o]
}

// step is an op on a pod; the pod of an opCreate is the one to create.
type step struct {
	op  op
	pod *corev1.Pod
}

// task is the steps for one pod, done in order until one fails.
type task []step

// plan is what one sync does. Its phases run in order and a phase that fails ends it.
// Under OrderedReady a phase's tasks run one after another and stop at the first
// failure; under Parallel they run in slow-start batches (1, 2, 4, ...) and a batch with
// a failure is the last.
type plan struct {
	parallel bool
	phases   [][]task
}

// decide plans a sync of set, whose pods are pods, at now. Under OrderedReady the plan
// ends where upstream's sync waits: at a missing pod (after creating it), at a pod that
// is being deleted, not running and ready or not yet available, and after a scale-down
// deletion. Pods below the partition keep the current revision; the rolling update
// deletes, from the highest ordinal down, pods of older revisions while no more than
// maxUnavailable pods are unavailable.
func decide(set *appsv1.StatefulSet, pods []*corev1.Pod, rv revisions, now time.Time) plan {
	monotonic := set.Spec.PodManagementPolicy != appsv1.ParallelPodManagement
	p := plan{parallel: !monotonic}
	start, n := startOrdinal(set), int(replicas(set))
	minReady := set.Spec.MinReadySeconds

	members := make([]*corev1.Pod, n) // by ordinal - start
	var condemned []*corev1.Pod
	for _, pod := range pods {
		o := ordinalOf(pod)
		switch {
		case o >= start && o < start+n:
			members[o-start] = pod
		case o >= 0:
			condemned = append(condemned, pod)
		}
	}
	sort.Slice(condemned, func(i, j int) bool { return ordinalOf(condemned[i]) > ordinalOf(condemned[j]) })
	missing := make([]bool, n)
	for i := range members {
		if members[i] == nil {
			members[i] = newVersionedPod(set, rv, start+i)
			missing[i] = true
		}
	}
	// The first unavailable pod, members first and then the condemned from the lowest
	// ordinal: under OrderedReady the only unavailable pod a scale-down may delete.
	var firstUnavailable *corev1.Pod
	for i := range members {
		if missing[i] || unavailable(members[i], minReady, now) {
			firstUnavailable = members[i]
			break
		}
	}
	for i := len(condemned) - 1; i >= 0 && firstUnavailable == nil; i-- {
		if unavailable(condemned[i], minReady, now) {
			firstUnavailable = condemned[i]
		}
	}

	var tasks []task
	for i, pod := range members {
		t, wait := memberTask(set, pod, missing[i], monotonic, now)
		if len(t) > 0 {
			tasks = append(tasks, t)
		}
		if wait && monotonic {
			p.phases = append(p.phases, tasks)
			return p
		}
	}
	p.phases = append(p.phases, tasks)

	if len(set.Spec.VolumeClaimTemplates) > 0 && len(condemned) > 0 {
		tasks = nil
		for _, pod := range condemned {
			tasks = append(tasks, task{{opClaimOwners, pod}})
		}
		p.phases = append(p.phases, tasks)
	}

	tasks = nil
	for _, pod := range condemned {
		switch {
		case terminating(pod) && monotonic:
			p.phases = append(p.phases, tasks)
			return p
		case terminating(pod):
		case monotonic && pod != firstUnavailable && unavailable(pod, minReady, now):
			p.phases = append(p.phases, tasks)
			return p
		default:
			tasks = append(tasks, task{{opScaleDown, pod}})
			if monotonic {
				p.phases = append(p.phases, tasks)
				return p
			}
		}
	}
	p.phases = append(p.phases, tasks)

	if set.Spec.UpdateStrategy.Type == appsv1.OnDeleteStatefulSetStrategyType {
		return p
	}
	partition, maxUnavailable := rollingParams(set)
	down := 0
	for i := range members {
		if missing[i] || unavailable(members[i], minReady, now) {
			down++
		}
	}
	tasks = nil
	for i := n - 1; i >= partition && down < maxUnavailable; i-- {
		pod := members[i]
		if missing[i] || terminating(pod) || revisionOf(pod) == rv.update.Name {
			continue
		}
		tasks = append(tasks, task{{opUpdate, pod}})
		down++
	}
	p.phases = append(p.phases, tasks)
	return p
}

// memberTask is what a sync does to the member pod, and whether OrderedReady waits
// after it.
func memberTask(set *appsv1.StatefulSet, pod *corev1.Pod, missing, monotonic bool, now time.Time) (task, bool) {
	if missing {
		return task{{opCreate, pod}}, true
	}
	if finished(pod) {
		if terminating(pod) {
			return nil, true
		}
		return task{{opReplace, pod}}, true
	}
	var t task
	if pod.Status.Phase == corev1.PodPending && len(set.Spec.VolumeClaimTemplates) > 0 {
		t = append(t, step{opClaims, pod}) // claims deleted since the pod was created
	}
	if monotonic && (terminating(pod) || !available(pod, set.Spec.MinReadySeconds, now)) {
		return t, true
	}
	if !identityMatches(set, pod) || !storageMatches(set, pod) || len(set.Spec.VolumeClaimTemplates) > 0 {
		t = append(t, step{opConform, pod})
	}
	return t, false
}

// newVersionedPod is set's missing pod of ordinal: at the current revision below the
// partition, at the update revision otherwise (always under OnDelete).
func newVersionedPod(set *appsv1.StatefulSet, rv revisions, ordinal int) *corev1.Pod {
	if set.Spec.UpdateStrategy.Type != appsv1.OnDeleteStatefulSetStrategyType {
		below := false
		if ru := set.Spec.UpdateStrategy.RollingUpdate; ru == nil {
			below = ordinal < startOrdinal(set)+int(set.Status.CurrentReplicas)
		} else if ru.Partition != nil {
			below = ordinal < startOrdinal(set)+int(*ru.Partition)
		}
		if below {
			return newPod(set, rv.currentTemplate, rv.current.Name, ordinal)
		}
	}
	return newPod(set, rv.updateTemplate, rv.update.Name, ordinal)
}

// rollingParams returns the partition and maxUnavailable of set's rolling update:
// maxUnavailable defaults to 1, a percentage of the replicas rounds down, and it is at
// least 1.
func rollingParams(set *appsv1.StatefulSet) (partition, maxUnavailable int) {
	maxUnavailable = 1
	ru := set.Spec.UpdateStrategy.RollingUpdate
	if ru == nil {
		return 0, 1
	}
	if ru.Partition != nil {
		partition = int(*ru.Partition)
	}
	if ru.MaxUnavailable != nil {
		if v, err := intstr.GetScaledValueFromIntOrPercent(ru.MaxUnavailable, int(replicas(set)), false); err == nil {
			maxUnavailable = max(v, 1)
		}
	}
	return partition, maxUnavailable
}
