package agent

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// TestOOMScoreAdj checks upstream's OOM score adjustments on a node of 4 GiB.
func TestOOMScoreAdj(t *testing.T) {
	const capacity = 4 << 30
	withMemory := func(req, limit string) corev1.ResourceRequirements {
		r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
		if req != "" {
			r.Requests[corev1.ResourceMemory] = resource.MustParse(req)
		}
		if limit != "" {
			r.Limits[corev1.ResourceMemory] = resource.MustParse(limit)
		}
		return r
	}
	for _, tc := range []struct {
		name     string
		class    corev1.PodQOSClass
		priority string
		app      corev1.ResourceRequirements
		want     int64
	}{
		{"guaranteed", corev1.PodQOSGuaranteed, "", withMemory("1Gi", "1Gi"), -997},
		{"best effort", corev1.PodQOSBestEffort, "", corev1.ResourceRequirements{}, 1000},
		{"node critical", corev1.PodQOSBurstable, "system-node-critical", withMemory("", "1Gi"), -997},
		{"burstable, a quarter of the node", corev1.PodQOSBurstable, "", withMemory("1Gi", ""), 750},
		{"burstable, no memory request", corev1.PodQOSBurstable, "", withMemory("", "1Gi"), 999},
		{"burstable, all of the node", corev1.PodQOSBurstable, "", withMemory("4Gi", ""), 3},
	} {
		pod := testPod(corev1.RestartPolicyAlways, nil, "app")
		pod.Status.QOSClass, pod.Spec.PriorityClassName = tc.class, tc.priority
		pod.Spec.Containers[0].Resources = tc.app
		if got := oomScoreAdj(pod, &pod.Spec.Containers[0], capacity); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}

	// A sidecar scores no higher than the regular container that requests least.
	pod := withSidecar(testPod(corev1.RestartPolicyAlways, []string{"side"}, "a", "b"))
	pod.Status.QOSClass = corev1.PodQOSBurstable
	pod.Spec.Containers[0].Resources = withMemory("2Gi", "")
	pod.Spec.Containers[1].Resources = withMemory("1Gi", "")
	if got := oomScoreAdj(pod, &pod.Spec.InitContainers[0], capacity); got != 750 {
		t.Errorf("sidecar without a request: %d, want 750", got)
	}
}
