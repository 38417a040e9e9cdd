package pod

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

// Container states, as the kubelet reports them.
func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func runningState() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Minute)}}
}

func terminatedState(reason string, code, signal int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, Signal: signal}}
}

// exitedAgo is a last termination state that ended d before now.
func exitedAgo(d time.Duration) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1, FinishedAt: ago(d)}}
}

// tablePod builds a pod with the named app containers and optional init containers
// (a name ending in "+" is a sidecar).
func tablePod(phase corev1.PodPhase, inits []string, apps ...string) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", CreationTimestamp: ago(5 * time.Minute)},
		Status:     corev1.PodStatus{Phase: phase},
	}
	for _, name := range inits {
		c := corev1.Container{Name: name}
		if name[len(name)-1] == '+' {
			c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
		}
		pod.Spec.InitContainers = append(pod.Spec.InitContainers, c)
	}
	for _, name := range apps {
		pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Name: name})
	}
	return pod
}

func TestRowStatus(t *testing.T) {
	tests := []struct {
		name     string
		pod      func() *corev1.Pod
		ready    string
		state    string
		restarts string
	}{
		{"pending", func() *corev1.Pod { return tablePod(corev1.PodPending, nil, "app") }, "0/1", "Pending", "0"},
		{"scheduling gated", func() *corev1.Pod {
			p := tablePod(corev1.PodPending, nil, "app")
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
			return p
		}, "0/1", "SchedulingGated", "0"},
		{"container creating", func() *corev1.Pod {
			p := tablePod(corev1.PodPending, nil, "app")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("ContainerCreating")}}
			return p
		}, "0/1", "ContainerCreating", "0"},
		{"running", func() *corev1.Pod {
			p := tablePod(corev1.PodRunning, nil, "app")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, State: runningState()}}
			return p
		}, "1/1", "Running", "0"},
		{"running, one of two ready", func() *corev1.Pod {
			p := tablePod(corev1.PodRunning, nil, "app", "log")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				{Name: "app", Ready: true, State: runningState()},
				{Name: "log", State: runningState()},
			}
			return p
		}, "1/2", "Running", "0"},
		{"completed", func() *corev1.Pod {
			p := tablePod(corev1.PodSucceeded, nil, "job")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", State: terminatedState("Completed", 0, 0)}}
			return p
		}, "0/1", "Completed", "0"},
		{"error", func() *corev1.Pod {
			p := tablePod(corev1.PodFailed, nil, "job")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", State: terminatedState("Error", 1, 0)}}
			return p
		}, "0/1", "Error", "0"},
		{"crash loop", func() *corev1.Pod {
			p := tablePod(corev1.PodRunning, nil, "app")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{
				Name: "app", RestartCount: 3, State: waiting("CrashLoopBackOff"), LastTerminationState: exitedAgo(25 * time.Second),
			}}
			return p
		}, "0/1", "CrashLoopBackOff", "3 (25s ago)"},
		{"oom killed", func() *corev1.Pod {
			p := tablePod(corev1.PodRunning, nil, "app")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 1, State: terminatedState("OOMKilled", 137, 0), LastTerminationState: exitedAgo(3 * time.Minute)}}
			return p
		}, "0/1", "OOMKilled", "1 (3m ago)"},
		{"image pull back-off", func() *corev1.Pod {
			p := tablePod(corev1.PodPending, nil, "app")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("ImagePullBackOff")}}
			return p
		}, "0/1", "ImagePullBackOff", "0"},
		{"killed by a signal", func() *corev1.Pod {
			p := tablePod(corev1.PodFailed, nil, "app", "b")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				{Name: "app", State: terminatedState("", 137, 0)},
				{Name: "b", State: terminatedState("", 0, 9)},
			}
			return p
		}, "0/2", "ExitCode:137", "0"},
		{"terminating", func() *corev1.Pod {
			p := tablePod(corev1.PodRunning, nil, "app")
			p.DeletionTimestamp = ptr.To(ago(0))
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, State: runningState()}}
			return p
		}, "1/1", "Terminating", "0"},
		{"terminating after success", func() *corev1.Pod {
			p := tablePod(corev1.PodSucceeded, nil, "job")
			p.DeletionTimestamp = ptr.To(ago(0))
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "job", State: terminatedState("Completed", 0, 0)}}
			return p
		}, "0/1", "Completed", "0"},
		{"node lost", func() *corev1.Pod {
			p := tablePod(corev1.PodRunning, nil, "app")
			p.DeletionTimestamp = ptr.To(ago(0))
			p.Status.Reason = "NodeLost"
			return p
		}, "0/1", "Unknown", "0"},
		{"evicted", func() *corev1.Pod {
			p := tablePod(corev1.PodFailed, nil, "app")
			p.Status.Reason = "Evicted"
			return p
		}, "0/1", "Evicted", "0"},
		{"first init container running", func() *corev1.Pod {
			p := tablePod(corev1.PodPending, []string{"setup"}, "app")
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "setup", State: runningState()}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}}
			return p
		}, "0/1", "Init:0/1", "0"},
		{"second init container waiting", func() *corev1.Pod {
			p := tablePod(corev1.PodPending, []string{"one", "two"}, "app")
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{
				{Name: "one", State: terminatedState("Completed", 0, 0)},
				{Name: "two", State: waiting("PodInitializing")},
			}
			return p
		}, "0/1", "Init:1/2", "0"},
		{"init error", func() *corev1.Pod {
			p := tablePod(corev1.PodPending, []string{"setup"}, "app")
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "setup", State: terminatedState("Error", 1, 0)}}
			return p
		}, "0/1", "Init:Error", "0"},
		{"init crash loop", func() *corev1.Pod {
			p := tablePod(corev1.PodPending, []string{"setup"}, "app")
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{
				Name: "setup", RestartCount: 2, State: waiting("CrashLoopBackOff"), LastTerminationState: exitedAgo(90 * time.Second),
			}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}}
			return p
		}, "0/1", "Init:CrashLoopBackOff", "2 (90s ago)"},
		{"pod initializing", func() *corev1.Pod {
			p := tablePod(corev1.PodPending, []string{"setup"}, "app")
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "setup", RestartCount: 1, State: terminatedState("Completed", 0, 0)}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: waiting("PodInitializing")}}
			return p
		}, "0/1", "PodInitializing", "0"},
		{"completed container beside a running one, not ready", func() *corev1.Pod {
			p := tablePod(corev1.PodRunning, nil, "app", "once")
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				{Name: "app", Ready: true, State: runningState()},
				{Name: "once", State: terminatedState("Completed", 0, 0)},
			}
			return p
		}, "1/2", "NotReady", "0"},
		{"completed container beside a running one, ready", func() *corev1.Pod {
			p := tablePod(corev1.PodRunning, nil, "app", "once")
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{
				{Name: "app", Ready: true, State: runningState()},
				{Name: "once", State: terminatedState("Completed", 0, 0)},
			}
			return p
		}, "1/2", "Running", "0"},
		{"sidecar starting", func() *corev1.Pod {
			p := tablePod(corev1.PodPending, []string{"proxy+"}, "app")
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "proxy+", Started: ptr.To(false), State: runningState()}}
			return p
		}, "0/2", "Init:0/1", "0"},
		{"sidecar and app running", func() *corev1.Pod {
			p := tablePod(corev1.PodRunning, []string{"setup", "proxy+"}, "app")
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionTrue}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{
				{Name: "setup", RestartCount: 4, State: terminatedState("Completed", 0, 0), LastTerminationState: exitedAgo(time.Hour)},
				{Name: "proxy+", Ready: true, Started: ptr.To(true), RestartCount: 1, State: runningState(), LastTerminationState: exitedAgo(2 * time.Minute)},
			}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Ready: true, State: runningState()}}
			return p
		}, "2/2", "Running", "1 (2m ago)"},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := s.Row(tt.pod(), now)
			got := []interface{}{row[1], row[2], row[3]}
			want := []interface{}{tt.ready, tt.state, tt.restarts}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("READY/STATUS/RESTARTS (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRowWideColumns(t *testing.T) {
	pod := tablePod(corev1.PodRunning, nil, "app")
	pod.Spec.NodeName = "node-1"
	pod.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "example.com/lb"}, {ConditionType: "example.com/dns"}}
	pod.Status.PodIPs = []corev1.PodIP{{IP: "10.1.0.4"}}
	pod.Status.Conditions = []corev1.PodCondition{{Type: "example.com/lb", Status: corev1.ConditionTrue}, {Type: "example.com/dns", Status: corev1.ConditionFalse}}

	s := New()
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []interface{}
	}{
		{"bound", pod, []interface{}{"web", "0/1", "Running", "0", "5m", "10.1.0.4", "node-1", "<none>", "1/2"}},
		{"new", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "new"}, Status: corev1.PodStatus{Phase: corev1.PodPending, NominatedNodeName: "node-2"}},
			[]interface{}{"new", "0/0", "Pending", "0", "<unknown>", "<none>", "<none>", "node-2", "<none>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := s.Row(tt.pod, now)
			if diff := cmp.Diff(tt.want, row); diff != "" {
				t.Errorf("row (-want +got):\n%s", diff)
			}
			if len(row) != len(s.Columns()) {
				t.Errorf("row has %d cells for %d columns", len(row), len(s.Columns()))
			}
		})
	}
}

func TestColumns(t *testing.T) {
	var names []string
	var wide []string
	for _, c := range New().Columns() {
		if c.Type != "string" || c.Description == "" {
			t.Errorf("column %q: type %q, description %q", c.Name, c.Type, c.Description)
		}
		if c.Priority == 0 {
			names = append(names, c.Name)
		} else {
			wide = append(wide, c.Name)
		}
	}
	if diff := cmp.Diff([]string{"Name", "Ready", "Status", "Restarts", "Age"}, names); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"IP", "Node", "Nominated Node", "Readiness Gates"}, wide); diff != "" {
		t.Errorf("wide columns (-want +got):\n%s", diff)
	}
}
