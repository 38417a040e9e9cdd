package agent

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RuntimeName prefixes container IDs in pod status ("runc://ID").
const RuntimeName = "runc"

// StatusInput is what a pod's status is computed from.
type StatusInput struct {
	Pod *corev1.Pod
	RP  *RuntimePod
	// Waiting overrides a container's waiting reason (CrashLoopBackOff, ErrImagePull,
	// ImagePullBackOff, CreateContainerError...), by container name.
	Waiting map[string]Waiting
	// Ready says, by container name, what the readiness probe found; a running
	// container without a readiness probe is ready.
	Ready map[string]bool
	// Started says, by container name, whether the startup probe has succeeded; a
	// running container without one has started.
	Started map[string]bool
	HostIP  string
	Now     time.Time
	// Failure, when set, is why the agent failed the pod (DeadlineExceeded): the
	// phase is Failed with this reason and message.
	Failure *Waiting
	// Terminal says the pod was deleted and its containers stopped: none restarts, so
	// the phase is Succeeded or Failed whatever the restart policy.
	Terminal bool
	// ResizeError, when set, is why an in-place resize could not be applied: the pod
	// has a PodResizeInProgress condition with reason Error saying so.
	ResizeError string
	// ResizePending, when set, is why a resize is not carried out: the pod has a
	// PodResizePending condition saying so, and keeps its allocated resources.
	ResizePending *Waiting
}

// ComputeStatus returns the status a pod should have, as upstream's kubelet computes it:
// container statuses, phase, conditions, IPs and start time.
func ComputeStatus(in StatusInput) corev1.PodStatus {
	pod := in.Pod
	old := pod.Status
	st := corev1.PodStatus{
		QOSClass:          old.QOSClass,
		NominatedNodeName: old.NominatedNodeName,
		StartTime:         old.StartTime,
		HostIP:            in.HostIP,
	}
	if in.HostIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: in.HostIP}}
	}
	if st.StartTime == nil {
		t := metav1.NewTime(in.Now)
		st.StartTime = &t
	}
	if ip := sandboxIP(pod, in.RP.Sandbox, in.HostIP); ip != "" {
		st.PodIP = ip
		st.PodIPs = []corev1.PodIP{{IP: ip}}
	}

	initDone := true
	var notInitialized []string
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cs := containerStatus(in, c)
		setResources(&cs, in, c)
		if !isSidecar(c) && cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0 {
			cs.Ready = true // a regular init container that completed is ready
		}
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		done := (cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0) ||
			(isSidecar(c) && cs.Started != nil && *cs.Started)
		if !done {
			initDone = false
			notInitialized = append(notInitialized, c.Name)
		}
	}
	var unready []string
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cs := containerStatus(in, c)
		setResources(&cs, in, c)
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
		if !cs.Ready {
			unready = append(unready, c.Name)
		}
	}
	// Ephemeral containers are reported apart; they are never ready and have no
	// startup state, and do not count toward the pod's readiness or phase.
	for i := range pod.Spec.EphemeralContainers {
		cs := containerStatus(in, (*corev1.Container)(&pod.Spec.EphemeralContainers[i].EphemeralContainerCommon))
		cs.Ready, cs.Started = false, nil
		st.EphemeralContainerStatuses = append(st.EphemeralContainerStatuses, cs)
	}
	for i := range pod.Spec.InitContainers {
		if isSidecar(&pod.Spec.InitContainers[i]) && !st.InitContainerStatuses[i].Ready {
			unready = append(unready, pod.Spec.InitContainers[i].Name)
		}
	}
	st.Phase = phase(pod, st, in.Terminal)
	if in.Failure != nil {
		st.Phase, st.Reason, st.Message = corev1.PodFailed, in.Failure.Reason, in.Failure.Message
	}

	completed := st.Phase == corev1.PodSucceeded || st.Phase == corev1.PodFailed
	sandboxReady := in.RP.Sandbox != nil && in.RP.Sandbox.Ready
	conds := []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, sandboxReady, "", ""),
	}
	switch {
	case completed && initDone:
		conds = append(conds, cond(corev1.PodInitialized, true, "PodCompleted", ""))
	case initDone:
		conds = append(conds, cond(corev1.PodInitialized, true, "", ""))
	default:
		conds = append(conds, cond(corev1.PodInitialized, false, "ContainersNotInitialized",
			fmt.Sprintf("containers with incomplete status: [%s]", strings.Join(notInitialized, " "))))
	}
	switch {
	case st.Phase == corev1.PodFailed:
		conds = append(conds, cond(corev1.ContainersReady, false, "PodFailed", ""), cond(corev1.PodReady, false, "PodFailed", ""))
	case completed:
		conds = append(conds, cond(corev1.ContainersReady, false, "PodCompleted", ""), cond(corev1.PodReady, false, "PodCompleted", ""))
	case len(unready) == 0:
		conds = append(conds, cond(corev1.ContainersReady, true, "", ""), readinessGates(pod, old.Conditions))
	default:
		msg := fmt.Sprintf("containers with unready status: [%s]", strings.Join(unready, " "))
		conds = append(conds, cond(corev1.ContainersReady, false, "ContainersNotReady", msg), cond(corev1.PodReady, false, "ContainersNotReady", msg))
	}
	conds = append(conds, cond(corev1.PodScheduled, true, "", ""))
	if p := in.ResizePending; p != nil && !completed {
		conds = append(conds, cond(corev1.PodResizePending, true, p.Reason, p.Message))
	}
	if in.ResizeError != "" && !completed {
		conds = append(conds, cond(corev1.PodResizeInProgress, true, corev1.PodReasonError, in.ResizeError))
	}
	// The status and the conditions the agent owns say which generation of the pod
	// they describe, as upstream's kubelet does.
	st.ObservedGeneration = pod.Generation
	for i := range conds {
		conds[i].ObservedGeneration = pod.Generation
	}
	st.Conditions = keepTransitionTimes(conds, old.Conditions, in.Now)
	return st
}

// readinessGates returns the Ready condition of a pod whose containers are ready: true
// when every condition its readiness gates name is True in conds.
func readinessGates(pod *corev1.Pod, conds []corev1.PodCondition) corev1.PodCondition {
	var msgs []string
	for _, g := range pod.Spec.ReadinessGates {
		var found *corev1.PodCondition
		for i := range conds {
			if conds[i].Type == g.ConditionType {
				found = &conds[i]
				break
			}
		}
		switch {
		case found == nil:
			msgs = append(msgs, fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", g.ConditionType))
		case found.Status != corev1.ConditionTrue:
			msgs = append(msgs, fmt.Sprintf("the status of pod readiness gate %q is not \"True\", but %v", g.ConditionType, found.Status))
		}
	}
	if len(msgs) > 0 {
		return cond(corev1.PodReady, false, "ReadinessGatesNotReady", strings.Join(msgs, ", "))
	}
	return cond(corev1.PodReady, true, "", "")
}

func cond(t corev1.PodConditionType, ok bool, reason, message string) corev1.PodCondition {
	s := corev1.ConditionFalse
	if ok {
		s = corev1.ConditionTrue
	}
	return corev1.PodCondition{Type: t, Status: s, Reason: reason, Message: message}
}

// keepTransitionTimes keeps a condition's lastTransitionTime while its status stays, and
// keeps conditions others set (PodScheduled's own, readiness gates) that this list lacks.
func keepTransitionTimes(conds, old []corev1.PodCondition, now time.Time) []corev1.PodCondition {
	byType := map[corev1.PodConditionType]corev1.PodCondition{}
	for _, c := range old {
		byType[c.Type] = c
	}
	var out []corev1.PodCondition
	seen := map[corev1.PodConditionType]bool{}
	for _, c := range conds {
		seen[c.Type] = true
		if prev, ok := byType[c.Type]; ok && prev.Status == c.Status {
			c.LastTransitionTime = prev.LastTransitionTime
			if c.Type == corev1.PodScheduled {
				c = prev
			}
		} else {
			c.LastTransitionTime = metav1.NewTime(now)
		}
		c.LastProbeTime = metav1.Time{}
		out = append(out, c)
	}
	for _, c := range old {
		if !seen[c.Type] {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return condOrder(out[i].Type) < condOrder(out[j].Type) })
	return out
}

func condOrder(t corev1.PodConditionType) int {
	for i, o := range []corev1.PodConditionType{corev1.PodReadyToStartContainers, corev1.PodInitialized, corev1.PodReady, corev1.ContainersReady, corev1.PodScheduled} {
		if o == t {
			return i
		}
	}
	return 99
}

// setResources reports a container's resources as upstream's kubelet does: the
// requests allocated to it, and, once the runtime knows it, its requests and limits.
// For a running container those are the ones in force: the spec's once the runtime's
// cgroup limits match them; during a resize that has not been applied, the ones
// reported before.
func setResources(cs *corev1.ContainerStatus, in StatusInput, c *corev1.Container) {
	cs.AllocatedResources = copyResourceList(c.Resources.Requests)
	old := oldStatus(in.Pod, c.Name)
	if in.ResizePending != nil && old != nil && old.ContainerID == cs.ContainerID {
		cs.AllocatedResources = copyResourceList(old.AllocatedResources) // not admitted
	}
	cur := in.RP.latest(c.Name)
	if cur == nil {
		return
	}
	spec := &corev1.ResourceRequirements{Requests: copyResourceList(c.Resources.Requests), Limits: copyResourceList(c.Resources.Limits)}
	if !cur.Running() || cs.State.Running == nil {
		cs.Resources = spec // what it ran, or will run, with
		return
	}
	if have := cur.Resources; have != nil {
		want := resources(c)
		if have.CpuShares != want.CpuShares || have.CpuQuota != want.CpuQuota || have.MemoryLimitInBytes != want.MemoryLimitInBytes {
			if old != nil && old.ContainerID == cs.ContainerID && old.Resources != nil {
				cs.Resources = old.Resources.DeepCopy()
				return
			}
		}
	}
	cs.Resources = spec
}

// oldStatus returns the status a container had in pod's stored status, or nil.
func oldStatus(pod *corev1.Pod, name string) *corev1.ContainerStatus {
	for _, list := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses} {
		for i := range list {
			if list[i].Name == name {
				return &list[i]
			}
		}
	}
	return nil
}

func copyResourceList(l corev1.ResourceList) corev1.ResourceList {
	if len(l) == 0 {
		return nil
	}
	return l.DeepCopy()
}

// containerStatus reports one container. A container that has not run waits in
// PodInitializing when its pod has init containers, in ContainerCreating otherwise.
func containerStatus(in StatusInput, c *corev1.Container) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
	falseV := false
	cs.Started = &falseV
	cur, prev := in.RP.latest(c.Name), in.RP.previous(c.Name)
	if cur == nil {
		// A run that ended and is gone from the runtime (its pod was stopped and
		// cleaned up) keeps the status it ended with, as upstream.
		olds := append(append([]corev1.ContainerStatus{}, in.Pod.Status.InitContainerStatuses...), in.Pod.Status.ContainerStatuses...)
		for _, old := range append(olds, in.Pod.Status.EphemeralContainerStatuses...) {
			if old.Name == c.Name && old.State.Terminated != nil {
				return *old.DeepCopy()
			}
		}
	}
	if cur != nil {
		cs.RestartCount = int32(cur.Attempt)
		cs.ImageID = cur.ImageRef
		cs.ContainerID = RuntimeName + "://" + cur.ID
	}
	w, overridden := in.Waiting[c.Name]
	switch {
	case cur == nil && overridden:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
	case cur == nil && len(in.Pod.Spec.InitContainers) > 0:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "PodInitializing"}
	case cur == nil:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	case overridden && !cur.Running():
		// Waiting to run again: the last run is the last state.
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: w.Reason, Message: w.Message}
		cs.LastTerminationState.Terminated = terminated(cur)
		return cs
	case cur.Running():
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(cur.Started)}
		started := true
		if s, ok := in.Started[c.Name]; ok {
			started = s
		}
		cs.Started = &started
		cs.Ready = started
		if r, ok := in.Ready[c.Name]; ok {
			cs.Ready = started && r
		}
	case cur.Exited():
		cs.State.Terminated = terminated(cur)
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
	}
	if prev != nil && prev.Exited() {
		cs.LastTerminationState.Terminated = terminated(prev)
	}
	return cs
}

func terminated(c *ContainerState) *corev1.ContainerStateTerminated {
	t := &corev1.ContainerStateTerminated{
		ExitCode: c.ExitCode, Reason: c.Reason, Message: c.Message,
		StartedAt: metav1.NewTime(c.Started), FinishedAt: metav1.NewTime(c.Finished),
		ContainerID: RuntimeName + "://" + c.ID,
	}
	if t.Reason == "" {
		t.Reason = "Completed"
		if c.ExitCode != 0 {
			t.Reason = "Error"
		}
	}
	return t
}

// phase computes the pod phase from its container statuses, as upstream's getPhase.
func phase(pod *corev1.Pod, st corev1.PodStatus, terminal bool) corev1.PodPhase {
	never := pod.Spec.RestartPolicy == corev1.RestartPolicyNever
	pendingInit := 0
	for i, cs := range st.InitContainerStatuses {
		c := &pod.Spec.InitContainers[i]
		switch {
		case isSidecar(c):
			if cs.Started == nil || !*cs.Started {
				pendingInit++
			}
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0:
		case cs.State.Terminated != nil || (cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil && cs.LastTerminationState.Terminated.ExitCode != 0):
			if never {
				return corev1.PodFailed
			}
			pendingInit++
		default:
			pendingInit++
		}
	}
	if pendingInit > 0 {
		return corev1.PodPending
	}
	var running, waiting, stopped, succeeded int
	for _, cs := range st.ContainerStatuses {
		switch {
		case cs.State.Running != nil:
			running++
		case cs.State.Terminated != nil:
			stopped++
			if cs.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case cs.State.Waiting != nil && cs.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	switch {
	case waiting > 0:
		return corev1.PodPending
	case running > 0:
		return corev1.PodRunning
	case stopped > 0 && terminal:
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	case stopped > 0:
		switch pod.Spec.RestartPolicy {
		case corev1.RestartPolicyAlways:
			return corev1.PodRunning // restarting
		case corev1.RestartPolicyOnFailure:
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodRunning
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	}
	return corev1.PodPending
}
