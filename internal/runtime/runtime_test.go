package runtime

import (
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestMatchesSandbox(t *testing.T) {
	ready, notReady := runtimeapi.PodSandboxState_SANDBOX_READY, runtimeapi.PodSandboxState_SANDBOX_NOTREADY
	labels := map[string]string{"uid": "u1", "app": "web"}
	for _, tc := range []struct {
		name   string
		filter *runtimeapi.PodSandboxFilter
		want   bool
	}{
		{"no filter", nil, true},
		{"empty filter", &runtimeapi.PodSandboxFilter{}, true},
		{"same id", &runtimeapi.PodSandboxFilter{Id: "s1"}, true},
		{"other id", &runtimeapi.PodSandboxFilter{Id: "s2"}, false},
		{"same state", &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: ready}}, true},
		{"other state", &runtimeapi.PodSandboxFilter{State: &runtimeapi.PodSandboxStateValue{State: notReady}}, false},
		{"labels match", &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"uid": "u1", "app": "web"}}, true},
		{"a label differs", &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"uid": "u2"}}, false},
		{"a label is missing", &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{"tier": ""}}, false},
		{"all match", &runtimeapi.PodSandboxFilter{Id: "s1", State: &runtimeapi.PodSandboxStateValue{State: ready},
			LabelSelector: map[string]string{"app": "web"}}, true},
	} {
		if got := MatchesSandbox(tc.filter, "s1", ready, labels); got != tc.want {
			t.Errorf("%s: MatchesSandbox = %v, want %v", tc.name, got, tc.want)
		}
	}
}
