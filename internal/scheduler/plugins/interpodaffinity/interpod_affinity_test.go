package interpodaffinity

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

// fakeNamespaces holds namespaces' labels by name.
type fakeNamespaces map[string]labels.Set

func (f fakeNamespaces) Labels(name string) labels.Set { return f[name] }

func (f fakeNamespaces) Select(sel labels.Selector) []string {
	var out []string
	for name, l := range f {
		if sel.Matches(l) {
			out = append(out, name)
		}
	}
	return out
}

const zone = corev1.LabelTopologyZone

func TestFilter(t *testing.T) {
	ns := fakeNamespaces{"default": {"team": "a"}, "other": {"team": "b"}}
	nodes := []*framework.NodeInfo{
		st.Node("n1").Labels(zone, "a").Info(st.Pod("db").Labels("app", "db").Obj()),
		st.Node("n2").Labels(zone, "a").Info(),
		st.Node("n3").Labels(zone, "b").Info(st.Pod("web").Labels("app", "web").PodAntiAffinity(corev1.LabelHostname, "app", "cache").Obj()),
		st.Node("n4").Info(),
	}
	const ok, aff, anti, existing = "", ReasonAffinity, ReasonAntiAffinity, ReasonExistingAntiRule
	tests := []struct {
		name string
		pod  *corev1.Pod
		want [4]string // n1..n4
	}{
		{"affinity by zone", st.Pod("p").PodAffinity(zone, "app", "db").Obj(), [4]string{ok, ok, aff, aff}},
		{"affinity by host", st.Pod("p").PodAffinity(corev1.LabelHostname, "app", "db").Obj(), [4]string{ok, aff, aff, aff}},
		{"anti-affinity by zone", st.Pod("p").PodAntiAffinity(zone, "app", "db").Obj(), [4]string{anti, anti, ok, ok}},
		{"existing pods' anti-affinity", st.Pod("p").Labels("app", "cache").Obj(), [4]string{ok, ok, existing, ok}},
		{"first pod of a group with affinity to itself", st.Pod("p").Labels("app", "new").PodAffinity(zone, "app", "new").Obj(), [4]string{ok, ok, ok, aff}},
		{"affinity nothing matches", st.Pod("p").PodAffinity(zone, "app", "missing").Obj(), [4]string{aff, aff, aff, aff}},
		{"affinity to every term at once", st.Pod("p").PodAffinity(zone, "app", "db").PodAffinity(zone, "app", "web").Obj(), [4]string{aff, aff, aff, aff}},
		{"affinity to another namespace", st.Pod("p").AffinityTerm(false, corev1.PodAffinityTerm{TopologyKey: zone, Namespaces: []string{"other"},
			LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}).Obj(), [4]string{aff, aff, aff, aff}},
		{"affinity with a namespace selector", st.Pod("p").Namespace("other").AffinityTerm(false, corev1.PodAffinityTerm{TopologyKey: zone,
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}).Obj(), [4]string{ok, ok, aff, aff}},
		{"anti-affinity with matchLabelKeys", st.Pod("p").Labels("app", "web").AffinityTerm(true, corev1.PodAffinityTerm{TopologyKey: zone,
			LabelSelector: &metav1.LabelSelector{}, MatchLabelKeys: []string{"app"}}).Obj(), [4]string{ok, ok, anti, ok}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, pod, state := New(ns), framework.NewPodInfo(tc.pod), framework.NewCycleState()
			if s := pl.PreFilter(state, pod, nodes); !s.IsSuccess() {
				t.Fatalf("PreFilter = %v", s)
			}
			for i, ni := range nodes {
				got := pl.Filter(state, pod, ni)
				if got.Message() != tc.want[i] {
					t.Errorf("%s: Filter = %v, want %q", ni.Node().Name, got, tc.want[i])
				}
				if tc.want[i] == aff && got.Code() != framework.UnschedulableAndUnresolvable ||
					(tc.want[i] == anti || tc.want[i] == existing) && got.Code() != framework.Unschedulable {
					t.Errorf("%s: code %v", ni.Node().Name, got.Code())
				}
			}
		})
	}
}

func TestPreFilterSkips(t *testing.T) {
	nodes := []*framework.NodeInfo{st.Node("n1").Info(st.Pod("db").Labels("app", "db").Obj())}
	if s := New(fakeNamespaces{}).PreFilter(framework.NewCycleState(), st.Pod("p").Info(), nodes); !s.IsSkip() {
		t.Errorf("PreFilter = %v, want Skip", s)
	}
}

func TestQueueingHint(t *testing.T) {
	withAffinity := st.Pod("p").PodAffinity(zone, "app", "db").Info()
	withAnti := st.Pod("p").PodAntiAffinity(zone, "app", "db").Info()
	db, web := st.Pod("db").Labels("app", "db").Obj(), st.Pod("web").Labels("app", "web").Obj()
	for _, tc := range []struct {
		name string
		pod  *framework.PodInfo
		ev   framework.ClusterEvent
		want bool
	}{
		{"matching pod placed", withAffinity, framework.ClusterEvent{Kind: framework.AssignedPodAdd, Pod: db}, true},
		{"other pod placed", withAffinity, framework.ClusterEvent{Kind: framework.AssignedPodAdd, Pod: web}, false},
		{"blocking pod deleted", withAnti, framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: db}, true},
		{"other pod deleted", withAnti, framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: web}, false},
		{"blocking pod relabelled", withAnti, framework.ClusterEvent{Kind: framework.AssignedPodUpdate, OldPod: db, Pod: web}, true},
		{"pod with anti-affinity deleted", st.Pod("p").Info(), framework.ClusterEvent{Kind: framework.AssignedPodDelete,
			Pod: st.Pod("x").PodAntiAffinity(zone, "app", "y").Obj()}, true},
		{"node relabelled", withAffinity, framework.ClusterEvent{Kind: framework.NodeUpdate, OldNode: st.Node("n").Obj(), Node: st.Node("n").Labels(zone, "a").Obj()}, true},
	} {
		if got := New(fakeNamespaces{}).QueueingHint(tc.pod, tc.ev); got != tc.want {
			t.Errorf("%s: QueueingHint = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestAddRemovePod follows pods leaving and joining a node in a clone of the state, as
// preemption and nominated pods do, and leaves the original state alone.
func TestAddRemovePod(t *testing.T) {
	ns := fakeNamespaces{"default": {}}
	db := st.Pod("db").Labels("app", "db").NodeName("n1").Info()
	guard := st.Pod("guard").Labels("app", "guard").PodAntiAffinity(zone, "app", "web").NodeName("n2").Info()
	n1 := st.Node("n1").Labels(zone, "a").Info(db.Pod)
	n2 := st.Node("n2").Labels(zone, "b").Info(guard.Pod)
	nodes := []*framework.NodeInfo{n1, n2}
	tests := []struct {
		name   string
		pod    *framework.PodInfo
		change func(pl *InterPodAffinity, state *framework.CycleState, pod *framework.PodInfo) *framework.Status
		before [2]string // n1, n2 before the change
		after  [2]string
	}{
		{"affinity loses its match", st.Pod("p").PodAffinity(zone, "app", "db").Info(),
			func(pl *InterPodAffinity, state *framework.CycleState, pod *framework.PodInfo) *framework.Status {
				return pl.RemovePod(state, pod, db, n1)
			}, [2]string{"", ReasonAffinity}, [2]string{ReasonAffinity, ReasonAffinity}},
		{"anti-affinity loses its match", st.Pod("p").PodAntiAffinity(zone, "app", "db").Info(),
			func(pl *InterPodAffinity, state *framework.CycleState, pod *framework.PodInfo) *framework.Status {
				return pl.RemovePod(state, pod, db, n1)
			}, [2]string{ReasonAntiAffinity, ""}, [2]string{"", ""}},
		{"an existing pod's anti-affinity goes", st.Pod("p").Labels("app", "web").Info(),
			func(pl *InterPodAffinity, state *framework.CycleState, pod *framework.PodInfo) *framework.Status {
				return pl.RemovePod(state, pod, guard, n2)
			}, [2]string{"", ReasonExistingAntiRule}, [2]string{"", ""}},
		{"a pod with anti-affinity arrives", st.Pod("p").Labels("app", "web").Info(),
			func(pl *InterPodAffinity, state *framework.CycleState, pod *framework.PodInfo) *framework.Status {
				return pl.AddPod(state, pod, st.Pod("g2").PodAntiAffinity(zone, "app", "web").Info(), n1)
			}, [2]string{"", ReasonExistingAntiRule}, [2]string{ReasonExistingAntiRule, ReasonExistingAntiRule}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, state := New(ns), framework.NewCycleState()
			if s := pl.PreFilter(state, tc.pod, nodes); !s.IsSuccess() {
				t.Fatalf("PreFilter = %v", s)
			}
			check := func(state *framework.CycleState, want [2]string) {
				t.Helper()
				for i, ni := range nodes {
					if got := pl.Filter(state, tc.pod, ni).Message(); got != want[i] {
						t.Errorf("%s: Filter = %q, want %q", ni.Node().Name, got, want[i])
					}
				}
			}
			check(state, tc.before)
			clone := state.Clone()
			if s := tc.change(pl, clone, tc.pod); !s.IsSuccess() {
				t.Fatal(s)
			}
			check(clone, tc.after)
			check(state, tc.before)
		})
	}
}
