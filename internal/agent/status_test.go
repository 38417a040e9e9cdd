package agent

import (
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/podium/podium/internal/registry/pod"
)

func status(p *corev1.Pod, rp *RuntimePod, waiting map[string]Waiting) corev1.PodStatus {
	return ComputeStatus(StatusInput{Pod: p, RP: rp, Waiting: waiting, HostIP: "192.0.2.1", Now: t0})
}

// kubectlStatus is the STATUS column kubectl get pods shows.
func kubectlStatus(p *corev1.Pod) string {
	return pod.New().Row(p, t0)[2].(string)
}

func condition(st corev1.PodStatus, t corev1.PodConditionType) corev1.PodCondition {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c
		}
	}
	return corev1.PodCondition{}
}

func TestComputeStatus(t *testing.T) {
	p := testPod(corev1.RestartPolicyAlways, nil, "app")
	st := status(p, &RuntimePod{}, nil)
	if st.Phase != corev1.PodPending || st.ContainerStatuses[0].State.Waiting.Reason != "ContainerCreating" ||
		condition(st, corev1.PodReady).Reason != "ContainersNotReady" || condition(st, corev1.PodReadyToStartContainers).Status != corev1.ConditionFalse {
		t.Fatalf("creating: %+v", st)
	}
	st = status(p, &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{running("app", 0)}}, nil)
	cs := st.ContainerStatuses[0]
	if st.Phase != corev1.PodRunning || cs.State.Running == nil || !cs.Ready || !*cs.Started || cs.ContainerID != "runc://app-0" ||
		condition(st, corev1.PodReady).Status != corev1.ConditionTrue || st.PodIP != "10.42.0.5" || st.HostIP != "192.0.2.1" {
		t.Fatalf("running: %+v", st)
	}
	// Crash-looping: waiting with the back-off, the last run as lastState.
	rp := &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("app", 3, 1, t0), exited("app", 2, 1, t0)}}
	st = status(p, rp, map[string]Waiting{"app": {Reason: "CrashLoopBackOff", Message: "back-off 40s restarting failed container=app pod=p_default(uid-1)"}})
	cs = st.ContainerStatuses[0]
	if st.Phase != corev1.PodRunning || cs.State.Waiting == nil || cs.State.Waiting.Reason != "CrashLoopBackOff" || cs.RestartCount != 3 ||
		cs.LastTerminationState.Terminated == nil || cs.LastTerminationState.Terminated.Reason != "Error" {
		t.Fatalf("crash loop: %+v", cs)
	}
	if got := kubectlStatus(&corev1.Pod{Spec: p.Spec, Status: st}); got != "CrashLoopBackOff" {
		t.Fatalf("kubectl STATUS: %s", got)
	}
	// Never: success and failure.
	never := testPod(corev1.RestartPolicyNever, nil, "app")
	if st := status(never, &RuntimePod{Containers: []*ContainerState{exited("app", 0, 0, t0)}}, nil); st.Phase != corev1.PodSucceeded ||
		condition(st, corev1.PodReady).Reason != "PodCompleted" {
		t.Fatalf("succeeded: %+v", st)
	}
	oom := exited("app", 0, 137, t0)
	oom.Reason = "OOMKilled"
	if st := status(never, &RuntimePod{Containers: []*ContainerState{oom}}, nil); st.Phase != corev1.PodFailed ||
		st.ContainerStatuses[0].State.Terminated.Reason != "OOMKilled" {
		t.Fatalf("failed: %+v", st)
	}
	// Init containers: app containers wait in PodInitializing.
	withInit := testPod(corev1.RestartPolicyAlways, []string{"init"}, "app")
	st = status(withInit, &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{running("init", 0)}}, nil)
	if st.Phase != corev1.PodPending || st.ContainerStatuses[0].State.Waiting.Reason != "PodInitializing" ||
		condition(st, corev1.PodInitialized).Message != "containers with incomplete status: [init]" {
		t.Fatalf("initializing: %+v", st)
	}
	if got := kubectlStatus(&corev1.Pod{Spec: withInit.Spec, Status: st}); got != "Init:0/1" {
		t.Fatalf("kubectl STATUS while initializing: %s", got)
	}
}

// TestInitContainerStatus: a completed init container is ready; containers that have
// not run wait in PodInitializing, the init containers after the running one included.
func TestInitContainerStatus(t *testing.T) {
	p := testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "app")
	st := status(p, &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("i1", 0, 0, t0)}}, nil)
	if ics := st.InitContainerStatuses; !ics[0].Ready || ics[1].Ready || ics[1].State.Waiting == nil ||
		ics[1].State.Waiting.Reason != "PodInitializing" || st.ContainerStatuses[0].State.Waiting.Reason != "PodInitializing" {
		t.Fatalf("init statuses: %+v", st)
	}
	st = status(p, &RuntimePod{}, nil)
	if st.InitContainerStatuses[0].State.Waiting.Reason != "PodInitializing" {
		t.Fatalf("before the sandbox: %+v", st.InitContainerStatuses[0])
	}
	failed := exited("i1", 0, 1, t0)
	st = status(p, &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{failed}}, nil)
	if st.InitContainerStatuses[0].Ready {
		t.Fatal("a failed init container is ready")
	}
}

// TestReadinessGates: the pod is ready only when the conditions its gates name are True.
func TestReadinessGates(t *testing.T) {
	p := testPod(corev1.RestartPolicyAlways, nil, "app")
	p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/feature-1"}}
	rp := &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{running("app", 0)}}
	st := status(p, rp, nil)
	if c := condition(st, corev1.PodReady); c.Status != corev1.ConditionFalse || c.Reason != "ReadinessGatesNotReady" ||
		c.Message != `corresponding condition of pod readiness gate "example.com/feature-1" does not exist.` ||
		condition(st, corev1.ContainersReady).Status != corev1.ConditionTrue {
		t.Fatalf("no gate condition: %+v", st.Conditions)
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: "example.com/feature-1", Status: corev1.ConditionFalse}}
	if c := condition(status(p, rp, nil), corev1.PodReady); c.Message != `the status of pod readiness gate "example.com/feature-1" is not "True", but False` {
		t.Fatalf("gate false: %+v", c)
	}
	p.Status.Conditions[0].Status = corev1.ConditionTrue
	st = status(p, rp, nil)
	if condition(st, corev1.PodReady).Status != corev1.ConditionTrue || condition(st, "example.com/feature-1").Status != corev1.ConditionTrue {
		t.Fatalf("gate true: %+v", st.Conditions)
	}
}

// TestTerminalStatus: a deleted pod whose containers stopped ends Succeeded or Failed
// whatever its restart policy; a pod failed by the agent carries its reason.
func TestTerminalStatus(t *testing.T) {
	p := testPod(corev1.RestartPolicyAlways, nil, "app")
	rp := &RuntimePod{Containers: []*ContainerState{exited("app", 0, 137, t0)}}
	st := ComputeStatus(StatusInput{Pod: p, RP: rp, Now: t0, Terminal: true})
	if st.Phase != corev1.PodFailed || condition(st, corev1.PodReady).Reason != "PodFailed" {
		t.Fatalf("killed at deletion: %+v", st)
	}
	rp.Containers[0].ExitCode = 0
	st = ComputeStatus(StatusInput{Pod: p, RP: rp, Now: t0, Terminal: true})
	if st.Phase != corev1.PodSucceeded {
		t.Fatalf("stopped cleanly at deletion: %s", st.Phase)
	}
	// Once the stopped pod's containers are removed, the statuses they ended with stay.
	p.Status = st
	if again := ComputeStatus(StatusInput{Pod: p, RP: &RuntimePod{}, Now: t0, Terminal: true}); again.ContainerStatuses[0].State.Terminated == nil ||
		again.Phase != corev1.PodSucceeded {
		t.Fatalf("after clean-up: %+v", again)
	}
	deadline := &Waiting{Reason: "DeadlineExceeded", Message: "Pod was active on the node longer than the specified deadline"}
	st = ComputeStatus(StatusInput{Pod: p, RP: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{running("app", 0)}}, Now: t0, Failure: deadline})
	if st.Phase != corev1.PodFailed || st.Reason != "DeadlineExceeded" || st.Message != deadline.Message {
		t.Fatalf("deadline: %+v", st)
	}
}

// TestObservedGeneration: the status and the agent's conditions carry the generation of
// the pod they were computed from; the scheduler's PodScheduled stays as it set it.
func TestObservedGeneration(t *testing.T) {
	p := testPod(corev1.RestartPolicyAlways, nil, "app")
	p.Generation = 3
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, ObservedGeneration: 1}}
	st := status(p, &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{running("app", 0)}}, nil)
	if st.ObservedGeneration != 3 || condition(st, corev1.PodReady).ObservedGeneration != 3 ||
		condition(st, corev1.PodInitialized).ObservedGeneration != 3 || condition(st, corev1.PodScheduled).ObservedGeneration != 1 {
		t.Fatalf("generations: %d %+v", st.ObservedGeneration, st.Conditions)
	}
}

func TestLogTail(t *testing.T) {
	path := t.TempDir() + "/0.log"
	content := "2026-01-01T00:00:00.000000000Z stdout F one\n" +
		"2026-01-01T00:00:00.000000001Z stderr P par\n" +
		"2026-01-01T00:00:00.000000002Z stderr F tial\n" +
		"2026-01-01T00:00:00.000000003Z stderr F last words\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := logTail(path, 80, 2048); got != "one\npartial\nlast words\n" {
		t.Fatalf("tail: %q", got)
	}
	if got := logTail(path, 1, 2048); got != "last words\n" {
		t.Fatalf("one line: %q", got)
	}
	if got := logTail(path, 80, 6); got != "words\n" {
		t.Fatalf("cut: %q", got)
	}
}

// TestStatusResources checks what a container's status says of its resources: the
// requests allocated, the requests and limits in force while it runs (the old ones
// while a resize is not applied yet), and a failed resize in PodResizeInProgress.
func TestStatusResources(t *testing.T) {
	p := testPod(corev1.RestartPolicyAlways, nil, "app")
	c := &p.Spec.Containers[0]
	c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2m")}
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}
	cur := running("app", 0)
	cur.Resources = resources(c)
	rp := &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{cur}}
	st := ComputeStatus(StatusInput{Pod: p, RP: rp, Now: t0})
	cs := st.ContainerStatuses[0]
	if cs.AllocatedResources.Cpu().String() != "2m" || cs.Resources == nil ||
		cs.Resources.Requests.Cpu().String() != "2m" || cs.Resources.Limits.Cpu().String() != "10m" || cs.Resources.Limits.Memory().Value() != 0 {
		t.Fatalf("status resources: allocated %v, resources %v", cs.AllocatedResources, cs.Resources)
	}

	// Resized in the spec, not yet in the cgroup: allocated moves, in force does not.
	p.Status = st
	c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("50m")
	c.Resources.Limits[corev1.ResourceCPU] = resource.MustParse("100m")
	st = ComputeStatus(StatusInput{Pod: p, RP: rp, Now: t0, ResizeError: "container app: runc update failed"})
	cs = st.ContainerStatuses[0]
	if cs.AllocatedResources.Cpu().String() != "50m" || cs.Resources.Limits.Cpu().String() != "10m" {
		t.Errorf("pending resize: allocated %v, resources %v", cs.AllocatedResources, cs.Resources)
	}
	if c := condition(st, corev1.PodResizeInProgress); c.Status != corev1.ConditionTrue || c.Reason != "Error" || c.Message != "container app: runc update failed" {
		t.Errorf("PodResizeInProgress = %+v", c)
	}

	// Applied: the new values.
	cur.Resources = resources(c)
	cs = ComputeStatus(StatusInput{Pod: p, RP: rp, Now: t0}).ContainerStatuses[0]
	if cs.Resources.Requests.Cpu().String() != "50m" || cs.Resources.Limits.Cpu().String() != "100m" {
		t.Errorf("applied resize: resources %v", cs.Resources)
	}

	// Equivalent values (2m/10m and 1m/5m make the same cgroup limits: shares 2, the
	// minimum quota) are in force at once and given as the spec gives them.
	c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("2m")
	c.Resources.Limits[corev1.ResourceCPU] = resource.MustParse("10m")
	cur.Resources = resources(c)
	c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("1m")
	c.Resources.Limits[corev1.ResourceCPU] = resource.MustParse("5m")
	cs = ComputeStatus(StatusInput{Pod: p, RP: rp, Now: t0}).ContainerStatuses[0]
	if cs.Resources.Requests.Cpu().String() != "1m" || cs.Resources.Limits.Cpu().String() != "5m" {
		t.Errorf("equivalent resize: resources %v", cs.Resources)
	}

	// A resize the node cannot fit: PodResizePending, and the allocation stays.
	p.Status = ComputeStatus(StatusInput{Pod: p, RP: rp, Now: t0})
	c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("64")
	st = ComputeStatus(StatusInput{Pod: p, RP: rp, Now: t0, ResizePending: &Waiting{Reason: "Infeasible", Message: "no room"}})
	if got := st.ContainerStatuses[0].AllocatedResources.Cpu().String(); got != "1m" {
		t.Errorf("pending resize: allocated cpu %s, want the 1m allocated before", got)
	}
	if c := condition(st, corev1.PodResizePending); c.Status != corev1.ConditionTrue || c.Reason != "Infeasible" || c.Message != "no room" {
		t.Errorf("PodResizePending = %+v", c)
	}
}
