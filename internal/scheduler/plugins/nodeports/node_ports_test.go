package nodeports

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

func TestFilter(t *testing.T) {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	tests := []struct {
		name     string
		pod      *corev1.Pod
		existing []*corev1.Pod
		fits     bool
	}{
		{"no host ports", st.Pod("p").Obj(), []*corev1.Pod{st.Pod("e").HostPort("", tcp, 80).Obj()}, true},
		{"free port", st.Pod("p").HostPort("", tcp, 8080).Obj(), []*corev1.Pod{st.Pod("e").HostPort("", tcp, 80).Obj()}, true},
		{"same port, all addresses", st.Pod("p").HostPort("", tcp, 80).Obj(), []*corev1.Pod{st.Pod("e").HostPort("", tcp, 80).Obj()}, false},
		{"same port, other protocol", st.Pod("p").HostPort("", udp, 53).Obj(), []*corev1.Pod{st.Pod("e").HostPort("", tcp, 53).Obj()}, true},
		{"protocol defaults to TCP", st.Pod("p").HostPort("", "", 80).Obj(), []*corev1.Pod{st.Pod("e").HostPort("", tcp, 80).Obj()}, false},
		{"same port, different addresses", st.Pod("p").HostPort("10.0.0.1", tcp, 80).Obj(), []*corev1.Pod{st.Pod("e").HostPort("10.0.0.2", tcp, 80).Obj()}, true},
		{"same port, same address", st.Pod("p").HostPort("10.0.0.1", tcp, 80).Obj(), []*corev1.Pod{st.Pod("e").HostPort("10.0.0.1", tcp, 80).Obj()}, false},
		{"specific address against all addresses", st.Pod("p").HostPort("10.0.0.1", tcp, 80).Obj(), []*corev1.Pod{st.Pod("e").HostPort("0.0.0.0", tcp, 80).Obj()}, false},
		{"all addresses against a specific one", st.Pod("p").HostPort("", tcp, 80).Obj(), []*corev1.Pod{st.Pod("e").HostPort("10.0.0.1", tcp, 80).Obj()}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, pod, state := New(), framework.NewPodInfo(tc.pod), framework.NewCycleState()
			ni := st.Node("n").Info(tc.existing...)
			if Fits(pod.HostPorts, ni.UsedPorts) != tc.fits {
				t.Errorf("Fits = %v, want %v", !tc.fits, tc.fits)
			}
			if pl.PreFilter(state, pod, nil).IsSkip() {
				if !tc.fits {
					t.Error("PreFilter skipped a pod that does not fit")
				}
				return
			}
			want := (*framework.Status)(nil)
			if !tc.fits {
				want = framework.NewStatus(framework.Unschedulable, "node(s) didn't have free ports for the requested pod ports")
			}
			if got := pl.Filter(state, pod, ni); got.String() != want.String() {
				t.Errorf("Filter = %v, want %v", got, want)
			}
		})
	}
}

func TestRemovedPodFreesItsPorts(t *testing.T) {
	holder := st.Pod("e").HostPort("", corev1.ProtocolTCP, 80).Obj()
	ni := st.Node("n").Info(holder, st.Pod("other").HostPort("", corev1.ProtocolTCP, 81).Obj())
	pod := st.Pod("p").HostPort("", corev1.ProtocolTCP, 80).Info()
	if Fits(pod.HostPorts, ni.UsedPorts) {
		t.Fatal("fits while the port is taken")
	}
	if !New().QueueingHint(pod, framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: holder}) {
		t.Error("QueueingHint: the holder's deletion does not help")
	}
	if New().QueueingHint(pod, framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: st.Pod("x").Obj()}) {
		t.Error("QueueingHint: an unrelated deletion helps")
	}
	if err := ni.RemovePod(holder); err != nil {
		t.Fatal(err)
	}
	if !Fits(pod.HostPorts, ni.UsedPorts) {
		t.Error("does not fit once the holder is gone")
	}
}
