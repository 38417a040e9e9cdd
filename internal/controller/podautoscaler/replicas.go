package podautoscaler

import (
	"errors"
	"fmt"
	"math"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	resourcehelper "k8s.io/component-helpers/resource"
)

// tolerances bound the usage ratio (usage over target) within which the replica
// count stays: from 1-down to 1+up.
type tolerances struct {
	down, up float64
}

func (t tolerances) within(ratio float64) bool {
	return 1-t.down <= ratio && ratio <= 1+t.up
}

func (t tolerances) String() string {
	return fmt.Sprintf("[down:%.1f%%, up:%.1f%%]", t.down*100, t.up*100)
}

// readiness says when a pod's CPU sample counts.
type readiness struct {
	// cpuInitialization is how long after a pod starts its CPU sample is taken only
	// if the pod is ready and the sample was taken a full window after it became so.
	cpuInitialization time.Duration
	// initialDelay is how long after starting a pod that has never been ready may
	// still become ready: past the initialization period, a pod that turned unready
	// within it after starting is ignored.
	initialDelay time.Duration
}

// usage is what one resource metric's recommendation is computed from: the pods the
// target's selector selects and their samples, at now. The samples are the
// calculation's to change.
type usage struct {
	pods      []*corev1.Pod
	samples   samples
	resource  corev1.ResourceName
	container string // "" for the whole pod
	now       time.Time
	readiness readiness
	tol       tolerances
}

// podGroups sorts the pods a metric covers.
type podGroups struct {
	ready   int              // pods whose sample counts as it is
	unready sets.Set[string] // pending, or (for CPU) not ready or sampled too soon
	missing sets.Set[string] // running but without a sample
	ignored sets.Set[string] // being deleted, or failed
}

// group sorts u's pods.
func (u *usage) group() podGroups {
	g := podGroups{unready: sets.New[string](), missing: sets.New[string](), ignored: sets.New[string]()}
	for _, pod := range u.pods {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodFailed {
			g.ignored.Insert(pod.Name)
			continue
		}
		if pod.Status.Phase == corev1.PodPending {
			g.unready.Insert(pod.Name)
			continue
		}
		s, ok := u.samples[pod.Name]
		if !ok {
			g.missing.Insert(pod.Name)
			continue
		}
		if u.resource == corev1.ResourceCPU && u.cpuUnready(pod, s) {
			g.unready.Insert(pod.Name)
			continue
		}
		g.ready++
	}
	return g
}

// cpuUnready reports whether pod's CPU sample s is to be left out: the pod has no
// Ready condition or start time; or it is within its initialization period and is
// not ready, or s began before it became ready; or, past that period, it is not
// ready and has not been ready since shortly after it started.
func (u *usage) cpuUnready(pod *corev1.Pod, s sample) bool {
	cond := podCondition(pod, corev1.PodReady)
	if cond == nil || pod.Status.StartTime == nil {
		return true
	}
	start := pod.Status.StartTime.Time
	if start.Add(u.readiness.cpuInitialization).After(u.now) {
		return cond.Status == corev1.ConditionFalse || s.timestamp.Before(cond.LastTransitionTime.Add(s.window))
	}
	return cond.Status == corev1.ConditionFalse && start.Add(u.readiness.initialDelay).After(cond.LastTransitionTime.Time)
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

var (
	errNoPods    = errors.New("no pods returned by selector while calculating replica count")
	errNoSamples = errors.New("did not receive metrics for targeted pods (pods might be unready)")
)

// utilizationReplicas proposes a replica count for a target utilization (percent of
// the pods' requests), from current replicas. It also returns the utilization and the
// average usage (milli-units) of the pods whose samples count.
func (u *usage) utilizationReplicas(current, target int32) (replicas, utilization int32, average int64, err error) {
	if len(u.pods) == 0 {
		return 0, 0, 0, errNoPods
	}
	g := u.group()
	u.drop(g.ignored)
	u.drop(g.unready)
	if len(u.samples) == 0 {
		return 0, 0, 0, errNoSamples
	}
	requests, err := podRequests(u.pods, u.container, u.resource)
	if err != nil {
		return 0, 0, 0, err
	}
	ratio, utilization, average, err := utilizationRatio(u.samples, requests, target)
	if err != nil {
		return 0, 0, 0, err
	}
	upWithUnready := len(g.unready) > 0 && ratio > 1
	if !upWithUnready && len(g.missing) == 0 {
		if u.tol.within(ratio) {
			return current, utilization, average, nil
		}
		return int32(math.Ceil(ratio * float64(g.ready))), utilization, average, nil
	}
	// Assume the worst for the pods without a usable sample: nothing used on a scale
	// up, the full request (or the target, above 100%) on a scale down.
	for name := range g.missing {
		switch {
		case ratio < 1:
			u.samples[name] = sample{value: requests[name] * int64(max(100, target)) / 100}
		case ratio > 1:
			u.samples[name] = sample{}
		}
	}
	if upWithUnready {
		for name := range g.unready {
			u.samples[name] = sample{}
		}
	}
	newRatio, _, _, err := utilizationRatio(u.samples, requests, target)
	if err != nil {
		return 0, utilization, average, err
	}
	return u.settle(current, ratio, newRatio), utilization, average, nil
}

// averageReplicas proposes a replica count for a target average usage (milli-units
// per pod), from current replicas. It also returns the average usage of the pods whose
// samples count.
func (u *usage) averageReplicas(current int32, target int64) (replicas int32, average int64, err error) {
	if len(u.pods) == 0 {
		return 0, 0, errNoPods
	}
	g := u.group()
	u.drop(g.ignored)
	u.drop(g.unready)
	if len(u.samples) == 0 {
		return 0, 0, errNoSamples
	}
	ratio, average := averageRatio(u.samples, target)
	upWithUnready := len(g.unready) > 0 && ratio > 1
	if !upWithUnready && len(g.missing) == 0 {
		if u.tol.within(ratio) {
			return current, average, nil
		}
		return int32(math.Ceil(ratio * float64(g.ready))), average, nil
	}
	// Pods without a usable sample use nothing on a scale up, the target on a scale
	// down.
	for name := range g.missing {
		switch {
		case ratio < 1:
			u.samples[name] = sample{value: target}
		case ratio > 1:
			u.samples[name] = sample{}
		}
	}
	if upWithUnready {
		for name := range g.unready {
			u.samples[name] = sample{}
		}
	}
	newRatio, _ := averageRatio(u.samples, target)
	return u.settle(current, ratio, newRatio), average, nil
}

// settle turns the usage ratio recomputed with assumed samples into a replica count:
// current when the new ratio is within tolerance or would scale the other way than the
// measured ratio, otherwise enough replicas for the pods now counted.
func (u *usage) settle(current int32, ratio, newRatio float64) int32 {
	if u.tol.within(newRatio) || (ratio < 1 && newRatio > 1) || (ratio > 1 && newRatio < 1) {
		return current
	}
	replicas := int32(math.Ceil(newRatio * float64(len(u.samples))))
	if (newRatio < 1 && replicas > current) || (newRatio > 1 && replicas < current) {
		return current
	}
	return replicas
}

func (u *usage) drop(names sets.Set[string]) {
	for name := range names {
		delete(u.samples, name)
	}
}

// utilizationRatio compares the samples with the pods' requests: it returns the
// utilization (percent of the requests, counting the pods that have both) over the
// target, the utilization, and the average sample.
func utilizationRatio(s samples, requests map[string]int64, target int32) (ratio float64, utilization int32, average int64, err error) {
	var used, requested int64
	n := 0
	for name, v := range s {
		req, ok := requests[name]
		if !ok {
			continue
		}
		used += v.value
		requested += req
		n++
	}
	if requested == 0 {
		return 0, 0, 0, errors.New("no metrics returned matched known pods")
	}
	utilization = int32(used * 100 / requested)
	return float64(utilization) / float64(target), utilization, used / int64(n), nil
}

// averageRatio returns the average sample over target, and the average.
func averageRatio(s samples, target int64) (ratio float64, average int64) {
	var total int64
	for _, v := range s {
		total += v.value
	}
	average = total / int64(len(s))
	return float64(average) / float64(target), average
}

// podRequests returns each pod's request of resource in milli-units: container's alone
// when it is set; otherwise the pod-level request when the pod has one, else the sum
// over its containers and restartable (sidecar) init containers. A missing request is
// an error.
func podRequests(pods []*corev1.Pod, container string, resource corev1.ResourceName) (map[string]int64, error) {
	out := make(map[string]int64, len(pods))
	for _, pod := range pods {
		if container == "" && resourcehelper.IsPodLevelRequestsSet(pod) {
			q, ok := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})[resource]
			if !ok {
				return nil, fmt.Errorf("missing pod-level request for %s in Pod %s", resource, pod.Name)
			}
			out[pod.Name] = q.MilliValue()
			continue
		}
		req, err := containerRequests(pod, container, resource)
		if err != nil {
			return nil, err
		}
		out[pod.Name] = req
	}
	return out, nil
}

func containerRequests(pod *corev1.Pod, container string, resource corev1.ResourceName) (int64, error) {
	containers := append([]corev1.Container{}, pod.Spec.Containers...)
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			containers = append(containers, c)
		}
	}
	var total int64
	for _, c := range containers {
		if container != "" && c.Name != container {
			continue
		}
		q, ok := c.Resources.Requests[resource]
		if !ok {
			return 0, fmt.Errorf("missing request for %s in container %s of Pod %s", resource, c.Name, pod.Name)
		}
		total += q.MilliValue()
		if container != "" {
			return total, nil
		}
	}
	if container != "" {
		return 0, fmt.Errorf("container %s not found in Pod %s", container, pod.Name)
	}
	return total, nil
}
