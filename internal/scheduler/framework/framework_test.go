package framework_test

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
	"github.com/podium/podium/internal/scheduler/plugins/noderesources"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

func TestPodRequests(t *testing.T) {
	tests := []struct {
		name          string
		pod           *corev1.Pod
		cpu, nonZero  int64 // millicores
		memory        int64
		nonZeroMemory int64
	}{
		{"nothing", st.Pod("p").Obj(), 0, 100, 0, 200 << 20},
		{"containers add up", st.Pod("p").Req("cpu", "100m", "memory", "1Gi").Container("cpu", "200m").Obj(), 300, 300, 1 << 30, 1<<30 + 200<<20},
		{"largest init container wins", st.Pod("p").Req("cpu", "100m").Init(false, "cpu", "500m").Init(false, "cpu", "300m").Obj(), 500, 500, 0, 200 << 20},
		{"app wins over a smaller init container", st.Pod("p").Req("cpu", "800m").Init(false, "cpu", "500m").Obj(), 800, 800, 0, 200 << 20},
		{"sidecars run beside the app", st.Pod("p").Req("cpu", "100m").Init(true, "cpu", "200m").Obj(), 300, 300, 0, 400 << 20},
		{"init containers after a sidecar run beside it", st.Pod("p").Req("cpu", "100m").Init(true, "cpu", "200m").Init(false, "cpu", "500m").Obj(), 700, 700, 0, 400 << 20},
		{"overhead", st.Pod("p").Req("cpu", "100m").Overhead("cpu", "50m", "memory", "10Mi").Obj(), 150, 150, 10 << 20, 210 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pi := framework.NewPodInfo(tc.pod)
			if pi.Requests.MilliCPU != tc.cpu || pi.Requests.Memory != tc.memory {
				t.Errorf("Requests = %dm, %d bytes; want %dm, %d", pi.Requests.MilliCPU, pi.Requests.Memory, tc.cpu, tc.memory)
			}
			if pi.NonZeroRequests.MilliCPU != tc.nonZero || pi.NonZeroRequests.Memory != tc.nonZeroMemory {
				t.Errorf("NonZeroRequests = %dm, %d bytes; want %dm, %d", pi.NonZeroRequests.MilliCPU, pi.NonZeroRequests.Memory, tc.nonZero, tc.nonZeroMemory)
			}
		})
	}
}

func TestFitErrorMessage(t *testing.T) {
	statuses := map[string]*framework.Status{}
	for i := 0; i < 12; i++ {
		statuses[fmt.Sprintf("a-%d", i)] = framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector")
	}
	statuses["b"] = framework.NewStatus(framework.Unschedulable, "Insufficient cpu", "Insufficient memory")
	statuses["c"] = framework.NewStatus(framework.Unschedulable, "Insufficient cpu")
	tests := []struct {
		name string
		err  *framework.FitError
		want string
	}{
		{"the issue's example", &framework.FitError{NumAllNodes: 3, Diagnosis: framework.Diagnosis{NodeStatuses: map[string]*framework.Status{
			"n1": framework.NewStatus(framework.Unschedulable, "Insufficient cpu"),
			"n2": framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
			"n3": framework.NewStatus(framework.UnschedulableAndUnresolvable, "node(s) didn't match Pod's node affinity/selector"),
		}, PostFilterMsg: "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."}},
			"0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector. " +
				"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."},
		// Reasons are counted per reason and sorted as strings: "12 ..." before "2 ...".
		{"counted and sorted", &framework.FitError{NumAllNodes: 14, Diagnosis: framework.Diagnosis{NodeStatuses: statuses}},
			"0/14 nodes are available: 1 Insufficient memory, 12 node(s) didn't match Pod's node affinity/selector, 2 Insufficient cpu."},
		{"rejected by a PreFilter", &framework.FitError{NumAllNodes: 2, Diagnosis: framework.Diagnosis{
			PreFilterStatus: framework.NewStatus(framework.UnschedulableAndUnresolvable, "pod has unbound claims"),
			PostFilterMsg:   "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."}},
			"0/2 nodes are available: pod has unbound claims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."},
		// Preemption's own message: nodes it did not try count with the absent status.
		{"absent nodes", &framework.FitError{NumAllNodes: 3, Diagnosis: framework.Diagnosis{
			NodeStatuses: map[string]*framework.Status{"n1": framework.NewStatus(framework.UnschedulableAndUnresolvable, "No preemption victims found for incoming pod")},
			AbsentStatus: framework.NewStatus(framework.UnschedulableAndUnresolvable, "Preemption is not helpful for scheduling")}},
			"0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."},
		{"preemption not eligible", &framework.FitError{NumAllNodes: 1, Diagnosis: framework.Diagnosis{
			NodeStatuses:  map[string]*framework.Status{"n1": framework.NewStatus(framework.Unschedulable, "Insufficient cpu")},
			PostFilterMsg: "preemption: not eligible due to preemptionPolicy=Never."}},
			"0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("message\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestDefaultNormalizeScore(t *testing.T) {
	tests := []struct {
		name    string
		in      []int64
		reverse bool
		want    []int64
	}{
		{"scaled to the highest", []int64{10, 5, 0}, false, []int64{100, 50, 0}},
		{"reversed", []int64{10, 5, 0}, true, []int64{0, 50, 100}},
		{"all zero", []int64{0, 0}, false, []int64{0, 0}},
		{"all zero reversed", []int64{0, 0}, true, []int64{100, 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			scores := make([]framework.NodeScore, len(tc.in))
			for i, v := range tc.in {
				scores[i].Score = v
			}
			framework.DefaultNormalizeScore(100, tc.reverse, scores)
			for i := range scores {
				if scores[i].Score != tc.want[i] {
					t.Errorf("scores = %v, want %v", scores, tc.want)
					break
				}
			}
		})
	}
}

// fakePlugin filters out the nodes named in reject and scores each node by score.
type fakePlugin struct {
	name   string
	reject map[string]string
	score  map[string]int64
	calls  int
}

func (f *fakePlugin) Name() string { return f.name }
func (f *fakePlugin) Filter(_ *framework.CycleState, _ *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	f.calls++
	if r, ok := f.reject[n.Node().Name]; ok {
		return framework.NewStatus(framework.Unschedulable, r)
	}
	return nil
}
func (f *fakePlugin) Score(_ *framework.CycleState, _ *framework.PodInfo, n *framework.NodeInfo) (int64, *framework.Status) {
	return f.score[n.Node().Name], nil
}

func TestProfileRunsPluginsInOrder(t *testing.T) {
	first := &fakePlugin{name: "First", reject: map[string]string{"n1": "first says no"}}
	second := &fakePlugin{name: "Second", reject: map[string]string{"n1": "second says no", "n2": "second says no"}}
	a := &fakePlugin{name: "A", score: map[string]int64{"n2": 10, "n3": 50}}
	b := &fakePlugin{name: "B", score: map[string]int64{"n2": 40, "n3": 0}}
	p := framework.NewProfile([]framework.FilterPlugin{first, second},
		[]framework.WeightedScorePlugin{{ScorePlugin: a, Weight: 1}, {ScorePlugin: b, Weight: 2}})
	state, pod := framework.NewCycleState(), st.Pod("p").Info()
	n1, n2, n3 := st.Node("n1").Info(), st.Node("n2").Info(), st.Node("n3").Info()
	if s := p.RunFilters(state, pod, n1); s.Message() != "first says no" || s.Plugin() != "First" {
		t.Errorf("n1: %v from %q, want the first plugin's rejection", s, s.Plugin())
	}
	if second.calls != 0 {
		t.Error("the second filter ran after the first rejected")
	}
	if s := p.RunFilters(state, pod, n2); s.Plugin() != "Second" {
		t.Errorf("n2: rejected by %q, want Second", s.Plugin())
	}
	totals, s := p.RunScores(state, pod, []*framework.NodeInfo{n2, n3})
	if !s.IsSuccess() || totals[0] != 10+2*40 || totals[1] != 50 {
		t.Errorf("totals = %v, %v; want [90 50]", totals, s)
	}
}

func TestNodeInfoAccounting(t *testing.T) {
	a := st.Pod("a").Req("cpu", "1").HostPort("", corev1.ProtocolTCP, 80).Labels("app", "x").Obj()
	b := st.Pod("b").Req("cpu", "2").PodAntiAffinity(corev1.LabelHostname, "app", "x").Obj()
	ni := st.Node("n").Info(a, b)
	clone := ni.Clone()
	if ni.Requested.MilliCPU != 3000 || len(ni.Pods) != 2 || len(ni.PodsWithRequiredAntiAffinity) != 1 ||
		!ni.UsedPorts.Conflicts(framework.HostPort{IP: "0.0.0.0", Protocol: corev1.ProtocolTCP, Port: 80}) {
		t.Fatalf("after adding: %+v", ni)
	}
	for _, p := range []*corev1.Pod{a, b} {
		if err := ni.RemovePod(p); err != nil {
			t.Fatal(err)
		}
	}
	if ni.Requested.MilliCPU != 0 || len(ni.Pods) != 0 || len(ni.PodsWithRequiredAntiAffinity) != 0 || len(ni.UsedPorts) != 0 || len(ni.SpreadCounts) != 0 {
		t.Errorf("after removing: %+v", ni)
	}
	if err := ni.RemovePod(a); err == nil {
		t.Error("removing a pod twice: no error")
	}
	if clone.Requested.MilliCPU != 3000 || len(clone.Pods) != 2 || clone.SpreadCounts["labels:default/app=x"] != 1 {
		t.Errorf("the clone changed with the original: %+v", clone)
	}
}

// nominated lists nominated pods by node.
type nominated map[string][]*framework.PodInfo

func (n nominated) NominatedPodsForNode(node string) []*framework.PodInfo { return n[node] }

// needsCompany passes a node only where a pod labelled app=db is placed, like pod
// affinity: a filter that may pass only with the nominated pods.
type needsCompany struct{}

func (needsCompany) Name() string { return "NeedsCompany" }
func (needsCompany) Filter(_ *framework.CycleState, _ *framework.PodInfo, n *framework.NodeInfo) *framework.Status {
	for _, p := range n.Pods {
		if p.Pod.Labels["app"] == "db" {
			return nil
		}
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable, "lonely")
}

func TestRunFiltersWithNominatedPods(t *testing.T) {
	held := st.Pod("held").Priority(10).Req("cpu", "2").Labels("app", "db").Info()
	tests := []struct {
		name    string
		filters []framework.FilterPlugin
		pod     *framework.PodInfo
		want    string
	}{
		{"lower priority: the nominated pod holds its room", []framework.FilterPlugin{noderesources.New()},
			st.Pod("p").Priority(5).Req("cpu", "1").Info(), noderesources.ReasonCPU},
		{"same priority: the nominated pod holds its room", []framework.FilterPlugin{noderesources.New()},
			st.Pod("p").Priority(10).Req("cpu", "1").Info(), noderesources.ReasonCPU},
		{"higher priority may take the room", []framework.FilterPlugin{noderesources.New()},
			st.Pod("p").Priority(20).Req("cpu", "1").Info(), ""},
		{"the nominated pod itself", []framework.FilterPlugin{noderesources.New()}, held, ""},
		{"a filter passing only with the nominated pod must pass without it too", []framework.FilterPlugin{needsCompany{}},
			st.Pod("p").Priority(5).Info(), "lonely"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := framework.NewProfile(tc.filters, nil)
			node := st.Node("n").Info(st.Pod("placed").Req("cpu", "2").Obj())
			state := framework.NewCycleState()
			p.RunPreFilter(state, tc.pod, []*framework.NodeInfo{node})
			got := p.RunFiltersWithNominatedPods(state, tc.pod, node, nominated{"n": {held}})
			if got.Message() != tc.want {
				t.Errorf("status %v, want %q", got, tc.want)
			}
			if len(node.Pods) != 1 || node.Requested.MilliCPU != 2000 {
				t.Errorf("the node changed: %d pods, %dm", len(node.Pods), node.Requested.MilliCPU)
			}
		})
	}
}
