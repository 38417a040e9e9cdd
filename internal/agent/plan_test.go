package agent

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func testPod(policy corev1.RestartPolicy, inits []string, apps ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", UID: "uid-1"},
		Spec: corev1.PodSpec{RestartPolicy: policy}}
	for _, n := range inits {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: n, Image: "busybox"})
	}
	for _, n := range apps {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: n, Image: "busybox"})
	}
	return p
}

func running(name string, attempt uint32) *ContainerState {
	return &ContainerState{ID: name + "-" + string(rune('0'+attempt)), Name: name, Attempt: attempt,
		State: runtimeapi.ContainerState_CONTAINER_RUNNING, Started: t0}
}

func exited(name string, attempt uint32, code int32, finished time.Time) *ContainerState {
	return &ContainerState{ID: name + "-" + string(rune('0'+attempt)), Name: name, Attempt: attempt,
		State: runtimeapi.ContainerState_CONTAINER_EXITED, ExitCode: code, Started: t0, Finished: finished}
}

func ready() *SandboxState { return &SandboxState{ID: "sb", Ready: true, IP: "10.42.0.5"} }

// withSidecar makes the pod's first init container a sidecar (restartPolicy Always).
func withSidecar(p *corev1.Pod) *corev1.Pod {
	always := corev1.ContainerRestartPolicyAlways
	p.Spec.InitContainers[0].RestartPolicy = &always
	return p
}

func unstarted(c *ContainerState) *ContainerState { c.Unstarted = true; return c }

func failedPod(p *corev1.Pod) *corev1.Pod { p.Status.Phase = corev1.PodFailed; return p }

func withDebugger(p *corev1.Pod) *corev1.Pod {
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"}}}
	return p
}

func names(starts []Start) string {
	var out []string
	for _, s := range starts {
		out = append(out, s.Spec.Name+"#"+string(rune('0'+s.Attempt)))
	}
	return strings.Join(out, ",")
}

func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		rp      *RuntimePod
		sandbox bool
		kill    bool
		starts  string
		waiting string
	}{
		{name: "new pod", pod: testPod(corev1.RestartPolicyAlways, nil, "a", "b"), rp: &RuntimePod{}, sandbox: true, starts: "a#0,b#0"},
		{name: "new pod with init containers starts the first", pod: testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"), rp: &RuntimePod{}, sandbox: true, starts: "i1#0"},
		{name: "init running: wait", pod: testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{running("i1", 0)}}},
		{name: "init done: next", pod: testPod(corev1.RestartPolicyAlways, []string{"i1", "i2"}, "a"),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("i1", 0, 0, t0)}}, starts: "i2#0"},
		{name: "inits done: apps", pod: testPod(corev1.RestartPolicyAlways, []string{"i1"}, "a", "b"),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("i1", 0, 0, t0)}}, starts: "a#0,b#0"},
		{name: "init failed under Never: nothing", pod: testPod(corev1.RestartPolicyNever, []string{"i1"}, "a"),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("i1", 0, 1, t0)}}, kill: true},
		{name: "Never: exited stays", pod: testPod(corev1.RestartPolicyNever, nil, "a", "b"),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("a", 0, 1, t0), running("b", 0)}}},
		{name: "finished pod stops its sandbox", pod: testPod(corev1.RestartPolicyNever, nil, "a"),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("a", 0, 0, t0)}}, kill: true},
		{name: "OnFailure: success stays", pod: testPod(corev1.RestartPolicyOnFailure, nil, "a", "b"),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("a", 0, 0, t0), running("b", 0)}}},
		{name: "OnFailure: failure restarts", pod: testPod(corev1.RestartPolicyOnFailure, nil, "a"),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("a", 0, 2, t0)}}, starts: "a#1"},
		{name: "sidecar started: apps start beside it", pod: withSidecar(testPod(corev1.RestartPolicyAlways, []string{"side"}, "a")),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{running("side", 0)}}, starts: "a#0"},
		{name: "sidecar not started yet: apps wait", pod: withSidecar(testPod(corev1.RestartPolicyAlways, []string{"side"}, "a")),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{unstarted(running("side", 0))}}},
		{name: "an ephemeral container starts in the running pod", pod: withDebugger(testPod(corev1.RestartPolicyAlways, nil, "a")),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{running("a", 0)}}, starts: "debug#0"},
		{name: "an ephemeral container that ended stays so", pod: withDebugger(testPod(corev1.RestartPolicyAlways, nil, "a")),
			rp: &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{running("a", 0), exited("debug", 0, 1, t0)}}},
		{name: "a failed pod runs nothing again", pod: failedPod(testPod(corev1.RestartPolicyAlways, nil, "a")),
			rp: &RuntimePod{Sandbox: &SandboxState{ID: "sb"}, Containers: []*ContainerState{exited("a", 0, 137, t0)}}},
		{name: "sandbox died: new one, counts go on", pod: testPod(corev1.RestartPolicyAlways, nil, "a"),
			rp:      &RuntimePod{Sandbox: &SandboxState{ID: "sb", Attempt: 0}, Containers: []*ContainerState{exited("a", 3, 137, t0)}},
			sandbox: true, kill: true, starts: "a#4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pl := NewPlanner(clocktesting.NewFakeClock(t0), 10*time.Second, 300*time.Second)
			plan := pl.Plan(tc.pod, tc.rp)
			if plan.CreateSandbox != tc.sandbox || plan.KillPod != tc.kill || names(plan.Start) != tc.starts {
				t.Fatalf("plan: sandbox %v kill %v starts %q; want %v %v %q", plan.CreateSandbox, plan.KillPod, names(plan.Start), tc.sandbox, tc.kill, tc.starts)
			}
		})
	}
}

// TestRestartBackOff steps a fake clock through upstream's back-off: the first restart
// at once, then 10 s, 20 s, 40 s..., capped at 300 s, and reset after ten minutes of
// running.
// execute plans as a worker does and reports the plan carried out.
func execute(pl *Planner, pod *corev1.Pod, rp *RuntimePod) Plan {
	plan := pl.Plan(pod, rp)
	pl.Executed(plan)
	return plan
}

// TestPlanIsPure: planning changes nothing; the same input gives the same plan until the
// plan is carried out.
func TestPlanIsPure(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	pl := NewPlanner(clk, 10*time.Second, 300*time.Second)
	pod := testPod(corev1.RestartPolicyAlways, []string{"init"}, "app", "crashy")
	rp := &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("init", 0, 0, t0), running("app", 0), exited("crashy", 1, 1, clk.Now())}}
	first := pl.Plan(pod, rp)
	if second := pl.Plan(pod, rp); !reflect.DeepEqual(first, second) {
		t.Fatalf("two plans of the same input differ:\n%+v\n%+v", first, second)
	}
	if names(first.Start) != "crashy#2" || len(first.BackOff) != 1 {
		t.Fatalf("plan: starts %q, back-off steps %v", names(first.Start), first.BackOff)
	}
	pl.Executed(first)
	if again := pl.Plan(pod, rp); len(again.Start) != 0 || again.Waiting["crashy"].Reason != "CrashLoopBackOff" {
		t.Fatalf("after the restart was carried out: starts %q waiting %+v", names(again.Start), again.Waiting)
	}
}

func TestRestartBackOff(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	pl := NewPlanner(clk, 10*time.Second, 300*time.Second)
	pod := testPod(corev1.RestartPolicyAlways, nil, "app")
	attempt := uint32(0)
	crash := func() *RuntimePod {
		return &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("app", attempt, 1, clk.Now())}}
	}
	// First crash: restart at once.
	plan := execute(pl, pod, crash())
	if names(plan.Start) != "app#1" {
		t.Fatalf("first restart: %q", names(plan.Start))
	}
	for _, wantDelay := range []time.Duration{10, 20, 40, 80, 160, 300, 300} {
		attempt++
		rp := crash()
		plan = execute(pl, pod, rp)
		w, ok := plan.Waiting["app"]
		if len(plan.Start) != 0 || !ok || w.Reason != "CrashLoopBackOff" || plan.Retry != wantDelay*time.Second {
			t.Fatalf("attempt %d: starts %q waiting %+v retry %v; want back-off %ds", attempt, names(plan.Start), w, plan.Retry, wantDelay)
		}
		wantMsg := "back-off " + (wantDelay * time.Second).String() + " restarting failed container=app pod=p_default(uid-1)"
		if w.Message != wantMsg {
			t.Fatalf("message %q, want %q", w.Message, wantMsg)
		}
		clk.Step(wantDelay*time.Second - time.Millisecond)
		if plan := execute(pl, pod, rp); len(plan.Start) != 0 {
			t.Fatalf("restarted before the back-off ended")
		}
		clk.Step(time.Millisecond)
		if plan := execute(pl, pod, rp); names(plan.Start) != "app#"+string(rune('0'+attempt+1)) {
			t.Fatalf("attempt %d: no restart when the back-off ended: %q", attempt, names(plan.Start))
		}
	}
	// Ten minutes of running later, a crash restarts at once again.
	attempt++
	clk.Step(RestartBackOffReset + time.Second)
	if plan := execute(pl, pod, crash()); len(plan.Start) != 1 {
		t.Fatalf("back-off did not reset after ten minutes: %+v", plan.Waiting)
	}
}

// TestRestartBackOffNewImage checks that a new image starts the back-off over, as
// upstream keys it by the container's spec: a crashing container whose image changes
// restarts at once instead of after the delay it had reached.
func TestRestartBackOffNewImage(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	pl := NewPlanner(clk, 10*time.Second, 300*time.Second)
	pod := testPod(corev1.RestartPolicyAlways, nil, "app")
	for attempt := uint32(0); attempt < 4; attempt++ {
		rp := &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("app", attempt, 1, clk.Now())}}
		execute(pl, pod, rp)
		clk.Step(time.Second)
	}
	rp := &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{exited("app", 4, 1, clk.Now())}}
	if plan := execute(pl, pod, rp); len(plan.Start) != 0 || plan.Waiting["app"].Reason != "CrashLoopBackOff" {
		t.Fatalf("no back-off before the image changed: %+v", plan)
	}
	pod.Spec.Containers[0].Image = "busybox:1.37"
	if plan := execute(pl, pod, rp); names(plan.Start) != "app#5" {
		t.Fatalf("new image did not restart at once: starts %q waiting %+v", names(plan.Start), plan.Waiting)
	}
}

func TestPlanReplacesChangedContainer(t *testing.T) {
	pl := NewPlanner(clocktesting.NewFakeClock(t0), 10*time.Second, 300*time.Second)
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	cur := running("a", 0)
	cur.Hash = HashContainer(&pod.Spec.Containers[0])
	if plan := pl.Plan(pod, &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{cur}}); len(plan.Kill)+len(plan.Start) != 0 {
		t.Fatalf("unchanged container touched: %+v", plan)
	}
	// A container an older agent made, labelled with the hash of the whole spec, stays.
	old := running("a", 0)
	old.Hash = legacyHash(&pod.Spec.Containers[0])
	if plan := pl.Plan(pod, &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{old}}); len(plan.Kill)+len(plan.Start) != 0 {
		t.Fatalf("a container of an older agent touched: %+v", plan)
	}
	pod.Spec.Containers[0].Image = "busybox:1.37"
	plan := pl.Plan(pod, &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{cur}})
	if len(plan.Kill) != 1 || plan.Kill[0].Message != "Container a definition changed, will be restarted" || names(plan.Start) != "a#1" {
		t.Fatalf("changed container: %+v", plan)
	}
}

func TestDesiredRoutes(t *testing.T) {
	node := func(name, cidr, ip string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.NodeSpec{PodCIDR: cidr},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: name}, {Type: corev1.NodeInternalIP, Address: ip}}}}
	}
	got := desiredRoutes("a", []*corev1.Node{node("a", "10.42.0.0/24", "192.0.2.1"), node("b", "10.42.1.0/24", "192.0.2.2"), node("c", "", "192.0.2.3")})
	if len(got) != 1 || got["10.42.1.0/24"] != "192.0.2.2" {
		t.Fatalf("routes: %v", got)
	}
}

// TestPlanResizesInPlace checks an in-place resize: new resources on a running
// container are applied to it, unless a resource that changed has the resize policy
// RestartContainer, which restarts it; a change of resources alone is not a new spec.
func TestPlanResizesInPlace(t *testing.T) {
	pl := NewPlanner(clocktesting.NewFakeClock(t0), 10*time.Second, 300*time.Second)
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	c := &pod.Spec.Containers[0]
	c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("20m"), corev1.ResourceMemory: resource.MustParse("35Mi")}
	cur := running("a", 0)
	cur.Hash, cur.Resources = HashContainer(c), resources(c)
	rp := &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{cur}}
	if plan := pl.Plan(pod, rp); len(plan.Kill)+len(plan.Start)+len(plan.Resize) != 0 {
		t.Fatalf("unchanged container touched: %+v", plan)
	}

	c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("25m")
	c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("35m")}
	plan := pl.Plan(pod, rp)
	if len(plan.Kill)+len(plan.Start) != 0 || len(plan.Resize) != 1 {
		t.Fatalf("resize: %+v", plan)
	}
	if r := plan.Resize[0].Resources; r.CpuShares != 25 || r.CpuQuota != 3500 || r.MemoryLimitInBytes != 0 {
		t.Errorf("resize to %v, want shares 25, quota 3500, no memory limit", r)
	}

	// A memory change under a RestartContainer memory policy restarts it; a cpu change
	// under the same policies does not.
	c.ResizePolicy = []corev1.ContainerResizePolicy{{ResourceName: corev1.ResourceMemory, RestartPolicy: corev1.RestartContainer}}
	if plan := pl.Plan(pod, rp); len(plan.Resize) != 1 || len(plan.Kill) != 0 {
		t.Fatalf("cpu resize with a memory restart policy: %+v", plan)
	}
	c.Resources.Requests[corev1.ResourceMemory] = resource.MustParse("40Mi")
	c.Resources.Limits[corev1.ResourceMemory] = resource.MustParse("50Mi")
	plan = pl.Plan(pod, rp)
	if len(plan.Kill) != 1 || plan.Kill[0].Message != "Container a resize requires restart" || names(plan.Start) != "a#1" || len(plan.Resize) != 0 {
		t.Fatalf("memory resize with a memory restart policy: %+v", plan)
	}
}

// TestPlanInfeasibleResize: a resize whose requests exceed the node's allocatable
// resources is not carried out, and the plan says why in upstream's words.
func TestPlanInfeasibleResize(t *testing.T) {
	pl := NewPlanner(clocktesting.NewFakeClock(t0), 10*time.Second, 300*time.Second)
	pl.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi")}
	pod := testPod(corev1.RestartPolicyAlways, nil, "a")
	c := &pod.Spec.Containers[0]
	c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
	cur := running("a", 0)
	cur.Hash, cur.Resources = HashContainer(c), resources(c)
	rp := &RuntimePod{Sandbox: ready(), Containers: []*ContainerState{cur}}

	c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("3")
	plan := pl.Plan(pod, rp)
	want := Waiting{Reason: "Infeasible", Message: "Node didn't have enough capacity: cpu, requested: 3000, capacity: 2000"}
	if len(plan.Resize)+len(plan.Kill) != 0 || plan.ResizePending == nil || *plan.ResizePending != want {
		t.Fatalf("infeasible resize: resize %v kill %v pending %+v", plan.Resize, plan.Kill, plan.ResizePending)
	}
	c.Resources.Requests[corev1.ResourceCPU] = resource.MustParse("1500m")
	if plan := pl.Plan(pod, rp); len(plan.Resize) != 1 || plan.ResizePending != nil {
		t.Fatalf("feasible resize: %+v", plan)
	}
}
