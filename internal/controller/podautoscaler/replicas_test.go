package podautoscaler

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestGroup: how each pod's sample counts, by phase, readiness and (for CPU) how long
// ago it started and became ready.
func TestGroup(t *testing.T) {
	r := readiness{cpuInitialization: cpuInitializationPeriod, initialDelay: initialReadinessDelay}
	tests := []struct {
		name     string
		pod      *corev1.Pod
		resource corev1.ResourceName
		sampled  bool
		want     string // ready, unready, missing or ignored
	}{
		{name: "ready for an hour", pod: pod("p"), sampled: true, want: "ready"},
		{name: "no sample", pod: pod("p"), want: "missing"},
		{name: "pending", pod: pod("p", pending), sampled: true, want: "unready"},
		{name: "failed", pod: pod("p", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }), sampled: true, want: "ignored"},
		{name: "being deleted", pod: pod("p", func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{Time: start} }), want: "ignored"},
		{name: "no Ready condition", pod: pod("p", func(p *corev1.Pod) { p.Status.Conditions = nil }), sampled: true, want: "unready"},
		{name: "no start time", pod: pod("p", func(p *corev1.Pod) { p.Status.StartTime = nil }), sampled: true, want: "unready"},
		{name: "starting, not ready", pod: pod("p", startedAgo(time.Minute, -1)), sampled: true, want: "unready"},
		{name: "starting, ready less than a window", pod: pod("p", startedAgo(time.Minute, 40*time.Second)), sampled: true, want: "unready"},
		{name: "starting, ready a window", pod: pod("p", startedAgo(time.Minute, 30*time.Second)), sampled: true, want: "ready"},
		{name: "started, never ready", pod: pod("p", startedAgo(10*time.Minute, -1)), sampled: true, want: "unready"},
		{name: "started, unready 29s after start", pod: pod("p", startedAgo(10*time.Minute, 0), unreadyAfter(29*time.Second)), sampled: true, want: "unready"},
		{name: "started, unready 30s after start", pod: pod("p", startedAgo(10*time.Minute, 0), unreadyAfter(30*time.Second)), sampled: true, want: "ready"},
		{name: "memory of a starting pod", pod: pod("p", startedAgo(time.Minute, -1)), resource: corev1.ResourceMemory, sampled: true, want: "ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := usage{pods: []*corev1.Pod{tt.pod}, samples: samples{}, resource: corev1.ResourceCPU, now: start, readiness: r}
			if tt.resource != "" {
				u.resource = tt.resource
			}
			if tt.sampled {
				u.samples["p"] = sample{value: 100, timestamp: start, window: 30 * time.Second}
			}
			g := u.group()
			got := "ready"
			switch {
			case g.unready.Has("p"):
				got = "unready"
			case g.missing.Has("p"):
				got = "missing"
			case g.ignored.Has("p"):
				got = "ignored"
			case g.ready != 1:
				got = "none"
			}
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// unreadyAfter makes a pod not ready since d after it started.
func unreadyAfter(d time.Duration) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Conditions[0].Status = corev1.ConditionFalse
		p.Status.Conditions[0].LastTransitionTime = metav1.NewTime(p.Status.StartTime.Add(d))
	}
}

// TestPodRequests: a pod's request is its containers' and sidecars' sum, one
// container's, or the pod-level request.
func TestPodRequests(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	withSidecar := pod("p", func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{
			{Name: "init", Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}},
			{Name: "sidecar", RestartPolicy: &always, Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}}},
		}
	})
	podLevel := pod("p", func(p *corev1.Pod) {
		p.Spec.Resources = &corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("300m")}}
	})
	tests := []struct {
		name      string
		pod       *corev1.Pod
		container string
		want      int64
		wantErr   string
	}{
		{name: "containers and sidecars", pod: withSidecar, want: 150},
		{name: "one container", pod: withSidecar, container: "app", want: 100},
		{name: "a sidecar", pod: withSidecar, container: "sidecar", want: 50},
		{name: "no such container", pod: withSidecar, container: "web", wantErr: "container web not found in Pod p"},
		{name: "pod-level request", pod: podLevel, want: 300},
		{name: "container over pod-level request", pod: podLevel, container: "app", want: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := podRequests([]*corev1.Pod{tt.pod}, tt.container, corev1.ResourceCPU)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || got["p"] != tt.want {
				t.Errorf("got %v, %v; want %d", got, err, tt.want)
			}
		})
	}
}
