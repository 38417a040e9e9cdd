package preemption

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/podium/podium/internal/scheduler/framework"
	"github.com/podium/podium/internal/scheduler/plugins/noderesources"
	"github.com/podium/podium/internal/scheduler/plugins/nodeunschedulable"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// nodes is a fixed snapshot.
type nodes []*framework.NodeInfo

func (n nodes) List() []*framework.NodeInfo { return n }
func (n nodes) Get(name string) *framework.NodeInfo {
	for _, ni := range n {
		if ni.Node().Name == name {
			return ni
		}
	}
	return nil
}

// nominated lists nominated pods by node.
type nominated map[string][]*framework.PodInfo

func (n nominated) NominatedPodsForNode(node string) []*framework.PodInfo { return n[node] }

// pod is a pod requesting cpu at priority prio, started at t0 plus start seconds.
func pod(name, cpu string, prio int32, start int) *corev1.Pod {
	p := st.Pod(name).Req("cpu", cpu).Priority(prio).Labels("app", name).Obj()
	p.Status.StartTime = &metav1.Time{Time: t0.Add(time.Duration(start) * time.Second)}
	return p
}

func names(pods []*corev1.Pod) []string {
	out := []string{}
	for _, p := range pods {
		out = append(out, p.Name)
	}
	return out
}

func newEvaluator(nom framework.PodNominator) *Evaluator {
	profile := framework.NewProfile([]framework.FilterPlugin{nodeunschedulable.New(), noderesources.New()}, nil)
	return New(profile, nom, testingclock.NewFakePassiveClock(t0.Add(time.Hour)))
}

// input filters pod on every node as the scheduler would and returns the Input of the
// preemption that follows.
func input(t *testing.T, e *Evaluator, p *corev1.Pod, ns nodes) Input {
	t.Helper()
	pi := framework.NewPodInfo(p)
	state := framework.NewCycleState()
	if s := e.profile.RunPreFilter(state, pi, ns); !s.IsSuccess() {
		t.Fatal(s)
	}
	d := framework.Diagnosis{NodeStatuses: map[string]*framework.Status{}}
	for _, ni := range ns {
		if s := e.profile.RunFiltersWithNominatedPods(state, pi, ni, e.nominator); !s.IsSuccess() {
			d.NodeStatuses[ni.Node().Name] = s
		} else {
			t.Fatalf("%s fits %s", p.Name, ni.Node().Name)
		}
	}
	return Input{Pod: pi, State: state, Nodes: ns, Diagnosis: d, NominatedNode: p.Status.NominatedNodeName}
}

func pdb(selectApp string, allowed int32) *policyv1.PodDisruptionBudget {
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pdb-" + selectApp},
		Spec:       policyv1.PodDisruptionBudgetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": selectApp}}},
		Status:     policyv1.PodDisruptionBudgetStatus{DisruptionsAllowed: allowed},
	}
}

func TestSelectVictims(t *testing.T) {
	tests := []struct {
		name          string
		pods          []*corev1.Pod
		pdbs          []*policyv1.PodDisruptionBudget
		want          []string
		wantViolating int
		wantReason    string
	}{
		{"the least important go, the most important stay",
			[]*corev1.Pod{pod("a", "1", 10, 0), pod("b", "1", 20, 0), pod("c", "1", 5, 0), pod("d", "1", 30, 0)},
			nil, []string{"c"}, 0, ""},
		{"equal priority: the later started goes",
			[]*corev1.Pod{pod("old", "1", 10, 0), pod("new", "1", 10, 60), pod("x", "1", 50, 0), pod("y", "1", 50, 0)},
			nil, []string{"new"}, 0, ""},
		{"a pod a budget guards is reprieved first",
			[]*corev1.Pod{pod("guarded", "1", 5, 0), pod("free", "1", 10, 0), pod("x", "1", 50, 0), pod("y", "1", 50, 0)},
			[]*policyv1.PodDisruptionBudget{pdb("guarded", 0)}, []string{"free"}, 0, ""},
		{"a budget that allows a disruption does not guard",
			[]*corev1.Pod{pod("guarded", "1", 5, 0), pod("free", "1", 10, 0), pod("x", "1", 50, 0), pod("y", "1", 50, 0)},
			[]*policyv1.PodDisruptionBudget{pdb("guarded", 1)}, []string{"guarded"}, 0, ""},
		{"a budget violated when nothing else helps",
			[]*corev1.Pod{pod("guarded", "2", 5, 0), pod("x", "2", 200, 0)},
			[]*policyv1.PodDisruptionBudget{pdb("guarded", 0)}, []string{"guarded"}, 1, ""},
		{"several victims, most important first",
			[]*corev1.Pod{pod("a", "500m", 1, 0), pod("b", "500m", 2, 0), pod("c", "500m", 3, 0), pod("d", "500m", 4, 0), pod("x", "2", 50, 0)},
			nil, []string{"b", "a"}, 0, ""},
		{"no pod of lower priority",
			[]*corev1.Pod{pod("x", "2", 100, 0), pod("y", "2", 200, 0)},
			nil, nil, 0, msgNoVictims},
		{"evicting all lower pods is not enough",
			[]*corev1.Pod{pod("a", "1", 1, 0), pod("x", "3500m", 100, 0)},
			nil, nil, 0, noderesources.ReasonCPU},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEvaluator(nil)
			ni := st.Node("n").Info(tc.pods...)
			preemptor := framework.NewPodInfo(pod("p", "1", 100, 0))
			state := framework.NewCycleState()
			e.profile.RunPreFilter(state, preemptor, nodes{ni})
			victims, violating, s := e.selectVictims(state, preemptor, ni.Clone(), newBudgets(tc.pdbs), e.clock.Now())
			if tc.wantReason != "" {
				if s.IsSuccess() || s.Message() != tc.wantReason {
					t.Fatalf("status %v, want %q", s, tc.wantReason)
				}
				return
			}
			if !s.IsSuccess() {
				t.Fatal(s)
			}
			if got := names(victims); !slices.Equal(got, tc.want) || violating != tc.wantViolating {
				t.Errorf("victims %v (%d violating), want %v (%d)", got, violating, tc.want, tc.wantViolating)
			}
		})
	}
}

func TestPickOneNode(t *testing.T) {
	c := func(node string, violations int, victims ...*corev1.Pod) candidate {
		return candidate{node: node, victims: victims, numPDBViolations: violations}
	}
	tests := []struct {
		name       string
		candidates []candidate
		want       string
	}{
		{"fewest budget violations", []candidate{c("a", 1, pod("v", "1", 1, 0)), c("b", 0, pod("v", "1", 9, 0))}, "b"},
		{"lowest highest priority", []candidate{c("a", 0, pod("v", "1", 9, 0)), c("b", 0, pod("v", "1", 5, 0), pod("w", "1", 5, 0))}, "b"},
		{"smallest sum", []candidate{c("a", 0, pod("v", "1", 5, 0), pod("w", "1", 4, 0)), c("b", 0, pod("v", "1", 5, 0), pod("w", "1", 1, 0))}, "b"},
		{"sum counts negative priorities as more", []candidate{c("a", 0, pod("v", "1", -5, 0), pod("w", "1", -5, 0)), c("b", 0, pod("v", "1", -5, 0))}, "b"},
		{"fewest victims", []candidate{c("a", 0, pod("v", "1", 0, 0), pod("w", "1", 0, 0)), c("b", 0, pod("v", "1", 0, 0))}, "b"},
		{"latest start of the highest", []candidate{c("a", 0, pod("v", "1", 5, 10), pod("w", "1", 1, 99)), c("b", 0, pod("v", "1", 5, 20), pod("w", "1", 1, 0))}, "b"},
		{"then the first", []candidate{c("a", 0, pod("v", "1", 5, 10)), c("b", 0, pod("v", "1", 5, 10))}, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.candidates[pickOneNode(tc.candidates, t0)].node; got != tc.want {
				t.Errorf("picked %s, want %s", got, tc.want)
			}
		})
	}
	if pickOneNode(nil, t0) != -1 {
		t.Error("a pick among no candidates")
	}
}

func TestPreempt(t *testing.T) {
	never := corev1.PreemptNever
	terminating := pod("leaving", "2", 1, 0)
	terminating.DeletionTimestamp = &metav1.Time{Time: t0}
	terminating.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue, Reason: corev1.PodReasonPreemptionByScheduler}}
	tests := []struct {
		name      string
		nodes     func() nodes
		preemptor func() *corev1.Pod
		nominated nominated
		wantNode  string
		wantMsg   string
		wantClear bool
		wantLower []string
	}{
		{"preempts on the node with a lower pod",
			func() nodes {
				return nodes{st.Node("a").Alloc("cpu", "2", "pods", "10").Info(pod("x", "2", 100, 0)),
					st.Node("b").Alloc("cpu", "2", "pods", "10").Info(pod("low", "2", 1, 0))}
			},
			func() *corev1.Pod { return pod("p", "2", 100, 0) },
			nominated{"a": {framework.NewPodInfo(pod("higher", "1", 500, 0))}, "b": {framework.NewPodInfo(pod("lower", "1", 50, 0))}},
			"b", "", false, []string{"lower"}},
		{"upstream's message when preemption cannot help",
			func() nodes {
				return nodes{st.Node("a").Alloc("cpu", "2", "pods", "10").Info(pod("x", "2", 100, 0)),
					st.Node("b").Alloc("cpu", "2", "pods", "10").Unschedulable().Info(pod("low", "2", 1, 0)),
					st.Node("c").Alloc("cpu", "2", "pods", "10").Unschedulable().Info()}
			},
			func() *corev1.Pod { return pod("p", "2", 100, 0) }, nil,
			"", "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.", true, nil},
		{"not enough even without the lower pods",
			func() nodes {
				return nodes{st.Node("a").Alloc("cpu", "2", "pods", "10").Info(pod("x", "1", 100, 0), pod("low", "1", 1, 0))}
			},
			func() *corev1.Pod { return pod("p", "2", 100, 0) }, nil,
			"", "preemption: 0/1 nodes are available: 1 Insufficient cpu.", true, nil},
		{"preemptionPolicy Never",
			func() nodes { return nodes{st.Node("a").Alloc("cpu", "2", "pods", "10").Info(pod("low", "2", 1, 0))} },
			func() *corev1.Pod {
				p := pod("p", "2", 100, 0)
				p.Spec.PreemptionPolicy = &never
				return p
			}, nil,
			"", "preemption: not eligible due to preemptionPolicy=Never.", false, nil},
		{"a victim still terminating on the nominated node",
			func() nodes {
				return nodes{st.Node("a").Alloc("cpu", "2", "pods", "10").Info(terminating),
					st.Node("b").Alloc("cpu", "2", "pods", "10").Info(pod("low", "2", 1, 0))}
			},
			func() *corev1.Pod {
				p := pod("p", "2", 100, 0)
				p.Status.NominatedNodeName = "a"
				return p
			}, nil,
			"", "preemption: not eligible due to a terminating pod on the nominated node.", false, nil},
		{"a nominated node rejecting the pod for good does not hold it back",
			func() nodes {
				return nodes{st.Node("a").Alloc("cpu", "2", "pods", "10").Unschedulable().Info(terminating),
					st.Node("b").Alloc("cpu", "2", "pods", "10").Info(pod("low", "2", 1, 0))}
			},
			func() *corev1.Pod {
				p := pod("p", "2", 100, 0)
				p.Status.NominatedNodeName = "a"
				return p
			}, nil,
			"b", "", false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEvaluator(tc.nominated)
			ns := tc.nodes()
			in := input(t, e, tc.preemptor(), ns)
			for offset := 0; offset < len(ns); offset++ {
				in.Offset = offset
				res := e.Preempt(in)
				if res.Node != tc.wantNode || res.Status.Message() != tc.wantMsg || res.ClearNomination != tc.wantClear ||
					!slices.Equal(names(res.LowerNominated), tc.wantLower) {
					t.Fatalf("offset %d: node %q, %v, clear %v, lower %v; want %q, %q, %v, %v", offset,
						res.Node, res.Status, res.ClearNomination, names(res.LowerNominated), tc.wantNode, tc.wantMsg, tc.wantClear, tc.wantLower)
				}
			}
			// The snapshot is left as it was.
			for _, ni := range ns {
				if want := tc.nodes().Get(ni.Node().Name); len(ni.Pods) != len(want.Pods) || ni.Requested.MilliCPU != want.Requested.MilliCPU {
					t.Errorf("node %s changed: %d pods, %dm", ni.Node().Name, len(ni.Pods), ni.Requested.MilliCPU)
				}
			}
		})
	}
}
