package agent

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/flowcontrol"
	resourcehelper "k8s.io/component-helpers/resource"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/utils/clock"
)

// Plan is what a pod needs done next. A worker carries it out in order: KillPod, Kill,
// Resize, CreateSandbox, then Start, one after another, and then tells the Planner
// (Executed), which moves the restart back-off on. Planning reads the back-off and
// changes nothing: the same pod, runtime state and time give the same plan.
type Plan struct {
	// KillPod stops every container and the sandbox: the sandbox is to be made anew,
	// or the pod has finished.
	KillPod bool
	// KillNow makes KillPod kill without a grace period (an eviction).
	KillNow bool
	// CreateSandbox makes a sandbox with SandboxAttempt.
	CreateSandbox  bool
	SandboxAttempt uint32
	// Kill stops containers that are to be replaced.
	Kill []Kill
	// Resize changes running containers' cgroup limits in place.
	Resize []Resize
	// ResizePending, when set, is why a resize of the pod's resources is not carried
	// out (Infeasible: the node could never fit the new requests).
	ResizePending *Waiting
	// Start starts containers, in order.
	Start []Start
	// Waiting says, by container name, why a container that should run does not run
	// now (CrashLoopBackOff with its message).
	Waiting map[string]Waiting
	// Retry, when not zero, is how soon the pod should be looked at again although
	// nothing changes: when a back-off ends.
	Retry time.Duration
	// BackOff lists the restarts among Start, which count against their containers'
	// back-off once carried out.
	BackOff []BackOffStep
}

// BackOffStep is a restart of the container with back-off key Key, whose last run
// finished at Finished.
type BackOffStep struct {
	Key      string
	Finished time.Time
}

// Kill is a container to stop, and the message of its Killing event.
type Kill struct {
	Container *ContainerState
	Message   string
}

// Resize is a running container whose cgroup limits become Resources, in place.
type Resize struct {
	Container *ContainerState
	Resources *runtimeapi.LinuxContainerResources
}

// Start is a container to create and start.
type Start struct {
	Spec    *corev1.Container
	Init    bool
	Attempt uint32
}

// Waiting is a container's waiting reason and message.
type Waiting struct {
	Reason, Message string
}

// Planner decides what pods need. It keeps the restart back-off of every container.
type Planner struct {
	clock   clock.Clock
	backOff *flowcontrol.Backoff
	// Allocatable is the node's allocatable resources; a resize whose requests exceed
	// them is Infeasible. Nil lets every resize through.
	Allocatable corev1.ResourceList
}

// RestartBackOffReset is how long a container must run before its back-off starts over.
const RestartBackOffReset = 10 * time.Minute

// NewPlanner returns a planner whose restart back-off starts at base and doubles up to
// max (upstream: 10 s and 300 s), measured on clk.
func NewPlanner(clk clock.Clock, base, max time.Duration) *Planner {
	b := flowcontrol.NewFakeBackOff(base, max, clk)
	// A container that ran long enough starts its back-off over.
	b.HasExpiredFunc = func(eventTime, lastUpdate time.Time, _ time.Duration) bool {
		return eventTime.Sub(lastUpdate) > RestartBackOffReset
	}
	return &Planner{clock: clk, backOff: b}
}

// HashContainer returns the hash of a container spec that the agent records on the
// container it makes; a different hash means the spec changed and the container is
// made anew. Resources and the resize policy are left out, as upstream leaves them:
// a resize changes a running container in place (see checkResized).
func HashContainer(c *corev1.Container) string {
	view := *c
	view.Resources, view.ResizePolicy = corev1.ResourceRequirements{}, nil
	return hashJSON(&view)
}

// hashJSON is the FNV-32a hash of v's JSON, in hex.
func hashJSON(v any) string {
	data, _ := json.Marshal(v)
	h := fnv.New32a()
	_, _ = h.Write(data)
	return strconv.FormatUint(uint64(h.Sum32()), 16)
}

// legacyHash is the hash agents before in-place resize recorded (of the whole spec):
// their containers are not made anew when the agent is upgraded.
func legacyHash(c *corev1.Container) string { return hashJSON(c) }

// Plan computes what pod needs next, given what the runtime holds of it.
func (pl *Planner) Plan(pod *corev1.Pod, rp *RuntimePod) Plan {
	plan := Plan{Waiting: map[string]Waiting{}}
	terminal := podTerminal(pod) || podFinished(pod, rp)
	if rp.Sandbox == nil || !rp.Sandbox.Ready {
		if terminal {
			return plan
		}
		plan.KillPod = rp.Sandbox != nil
		plan.CreateSandbox = true
		if rp.Sandbox != nil {
			plan.SandboxAttempt = rp.Sandbox.Attempt + 1
		}
		// In a new sandbox the first init container starts, or else every app
		// container; restart counts go on from the old sandbox's.
		if next := firstStep(pod); next != nil {
			plan.Start = append(plan.Start, pl.startAfter(next, pod, rp))
		} else {
			for i := range pod.Spec.Containers {
				plan.Start = append(plan.Start, pl.startAfter(&pod.Spec.Containers[i], pod, rp))
			}
		}
		return plan
	}
	if terminal {
		// The pod is done: sidecars and the sandbox stop; containers stay for logs.
		plan.KillPod = anyRunning(rp)
		return plan
	}

	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cur := rp.latest(c.Name)
		sidecar := isSidecar(c)
		switch {
		case cur == nil:
			plan.Start = append(plan.Start, Start{Spec: c, Init: !sidecar})
			return plan
		case cur.Running():
			if !sidecar {
				pl.checkResized(&plan, pod, c, cur, true)
				return plan // wait for it to finish
			}
			pl.checkChanged(&plan, pod, c, cur, false)
			if cur.Unstarted {
				return plan // what follows a sidecar waits until it has started
			}
		case cur.Exited() && !sidecar && cur.ExitCode == 0:
			continue
		case cur.Exited():
			if !sidecar && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
				return plan // the pod failed; podFinished says so next time
			}
			pl.restartOrWait(&plan, pod, c, cur, !sidecar)
			if !sidecar {
				return plan // the next init container waits for this one
			}
		default: // created but not started: start it
			plan.Start = append(plan.Start, Start{Spec: c, Init: !sidecar, Attempt: cur.Attempt})
			return plan
		}
	}

	// Ephemeral containers start once each, in a running pod, and never restart.
	for i := range pod.Spec.EphemeralContainers {
		if ec := &pod.Spec.EphemeralContainers[i]; rp.latest(ec.Name) == nil {
			plan.Start = append(plan.Start, Start{Spec: (*corev1.Container)(&ec.EphemeralContainerCommon)})
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cur := rp.latest(c.Name)
		switch {
		case cur == nil:
			plan.Start = append(plan.Start, Start{Spec: c})
		case cur.Running():
			pl.checkChanged(&plan, pod, c, cur, false)
		case cur.Exited():
			if shouldRestart(pod.Spec.RestartPolicy, cur.ExitCode) {
				pl.restartOrWait(&plan, pod, c, cur, false)
			}
		default:
			plan.Start = append(plan.Start, Start{Spec: c, Attempt: cur.Attempt})
		}
	}
	return plan
}

// checkChanged replaces a running container whose spec changed, and resizes one whose
// resources changed.
func (pl *Planner) checkChanged(plan *Plan, pod *corev1.Pod, c *corev1.Container, cur *ContainerState, init bool) {
	if cur.Hash == "" || cur.Hash == HashContainer(c) || cur.Hash == legacyHash(c) {
		pl.checkResized(plan, pod, c, cur, init)
		return
	}
	plan.Kill = append(plan.Kill, Kill{Container: cur, Message: fmt.Sprintf("Container %s definition changed, will be restarted", c.Name)})
	plan.Start = append(plan.Start, Start{Spec: c, Init: init, Attempt: cur.Attempt + 1})
}

// checkResized compares a running container's cgroup limits with what its resources
// ask for now (an in-place resize). A change is applied in place, unless the resize
// policy of a resource that changed is RestartContainer: then the container restarts
// with the new limits, as upstream's kubelet does. A resize the node cannot fit is not
// carried out: the plan says why in ResizePending.
func (pl *Planner) checkResized(plan *Plan, pod *corev1.Pod, c *corev1.Container, cur *ContainerState, init bool) {
	have := cur.Resources
	if have == nil {
		return
	}
	want := resources(c)
	cpu := want.CpuShares != have.CpuShares || want.CpuQuota != have.CpuQuota || want.CpuPeriod != have.CpuPeriod
	mem := want.MemoryLimitInBytes != have.MemoryLimitInBytes
	if !cpu && !mem {
		return
	}
	if plan.ResizePending == nil {
		plan.ResizePending = pl.infeasible(pod)
	}
	if plan.ResizePending != nil {
		return
	}
	if (cpu && resizeRestarts(c, corev1.ResourceCPU)) || (mem && resizeRestarts(c, corev1.ResourceMemory)) {
		plan.Kill = append(plan.Kill, Kill{Container: cur, Message: fmt.Sprintf("Container %s resize requires restart", c.Name)})
		plan.Start = append(plan.Start, Start{Spec: c, Init: init, Attempt: cur.Attempt + 1})
		return
	}
	plan.Resize = append(plan.Resize, Resize{Container: cur, Resources: want})
}

// infeasible says why the node can never run pod with its current requests (cpu in
// millicores, memory in bytes, as upstream's message gives them), or nil.
func (pl *Planner) infeasible(pod *corev1.Pod) *Waiting {
	if pl.Allocatable == nil {
		return nil
	}
	reqs := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		want, have := reqs[name], pl.Allocatable[name]
		w, h := want.Value(), have.Value()
		if name == corev1.ResourceCPU {
			w, h = want.MilliValue(), have.MilliValue()
		}
		if w > h {
			return &Waiting{Reason: corev1.PodReasonInfeasible, Message: fmt.Sprintf("Node didn't have enough capacity: %s, requested: %d, capacity: %d", name, w, h)}
		}
	}
	return nil
}

// resizeRestarts reports whether c's resize policy restarts it when resource changes
// (the default is NotRequired).
func resizeRestarts(c *corev1.Container, resource corev1.ResourceName) bool {
	for _, p := range c.ResizePolicy {
		if p.ResourceName == resource {
			return p.RestartPolicy == corev1.RestartContainer
		}
	}
	return false
}

// restartOrWait restarts an exited container unless it is in back-off, in which case
// it records CrashLoopBackOff and when to look again. It reports whether it restarts.
func (pl *Planner) restartOrWait(plan *Plan, pod *corev1.Pod, c *corev1.Container, cur *ContainerState, init bool) bool {
	key := backOffKey(pod, c)
	if pl.backOff.IsInBackOffSince(key, cur.Finished) {
		delay := pl.backOff.Get(key)
		plan.Waiting[c.Name] = Waiting{
			Reason:  "CrashLoopBackOff",
			Message: fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, c.Name, pod.Name, pod.Namespace, pod.UID),
		}
		if left := delay - pl.clock.Since(cur.Finished); left > 0 && (plan.Retry == 0 || left < plan.Retry) {
			plan.Retry = left
		}
		return false
	}
	plan.BackOff = append(plan.BackOff, BackOffStep{Key: key, Finished: cur.Finished})
	plan.Start = append(plan.Start, Start{Spec: c, Init: init, Attempt: cur.Attempt + 1})
	return true
}

// Executed records that a plan was carried out: its restarts move their containers'
// back-off on.
func (pl *Planner) Executed(plan Plan) {
	for _, s := range plan.BackOff {
		pl.backOff.Next(s.Key, s.Finished)
	}
}

// Forget drops the back-off of a pod that is gone.
func (pl *Planner) Forget(pod *corev1.Pod) {
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for i := range cs {
			pl.backOff.DeleteEntry(backOffKey(pod, &cs[i]))
		}
	}
}

// backOffKey names a container's back-off by its spec too, as upstream does: a new
// image (or any change of the spec) starts the back-off over.
func backOffKey(pod *corev1.Pod, c *corev1.Container) string {
	return string(pod.UID) + "/" + c.Name + "/" + HashContainer(c)
}

// startAfter starts c in a new sandbox with the restart count after its last run.
func (pl *Planner) startAfter(c *corev1.Container, pod *corev1.Pod, rp *RuntimePod) Start {
	s := Start{Spec: c, Init: isInit(pod, c) && !isSidecar(c)}
	if cur := rp.latest(c.Name); cur != nil {
		s.Attempt = cur.Attempt + 1
	}
	return s
}

// firstStep returns the first init container, which a new sandbox starts with.
func firstStep(pod *corev1.Pod) *corev1.Container {
	if len(pod.Spec.InitContainers) == 0 {
		return nil
	}
	return &pod.Spec.InitContainers[0]
}

func isInit(pod *corev1.Pod, c *corev1.Container) bool {
	for i := range pod.Spec.InitContainers {
		if &pod.Spec.InitContainers[i] == c || pod.Spec.InitContainers[i].Name == c.Name {
			return true
		}
	}
	return false
}

// isSidecar reports an init container that runs beside the app containers.
func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func shouldRestart(policy corev1.RestartPolicy, exitCode int32) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	}
	return true
}

func anyRunning(rp *RuntimePod) bool {
	for _, c := range rp.Containers {
		if c.Running() {
			return true
		}
	}
	return rp.Sandbox != nil && rp.Sandbox.Ready
}

// podTerminal reports a pod whose status says it has ended: it never runs again.
func podTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// podFinished reports whether a pod has run to its end: a regular init container failed
// under restartPolicy Never, or every app container exited and none will restart.
func podFinished(pod *corev1.Pod, rp *RuntimePod) bool {
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if isSidecar(c) {
			continue
		}
		if cur := rp.latest(c.Name); cur != nil && cur.Exited() && cur.ExitCode != 0 && pod.Spec.RestartPolicy == corev1.RestartPolicyNever {
			return true
		}
	}
	if len(pod.Spec.Containers) == 0 {
		return false
	}
	for i := range pod.Spec.Containers {
		cur := rp.latest(pod.Spec.Containers[i].Name)
		if cur == nil || !cur.Exited() || shouldRestart(pod.Spec.RestartPolicy, cur.ExitCode) {
			return false
		}
	}
	return true
}
