package selectorspread

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

func TestSpread(t *testing.T) {
	tests := []struct {
		name   string
		counts []int64
		zones  []string
		want   []int64
	}{
		{"no pods of the group", []int64{0, 0, 0}, []string{"", "", ""}, []int64{100, 100, 100}},
		{"by node", []int64{0, 1, 2}, []string{"", "", ""}, []int64{100, 50, 0}},
		// Node scores 100, 33, 0, 66 count a third; zone a holds 2 pods, zone b 4, so zone
		// scores 50 (a) and 0 (b) count two thirds.
		{"by node and zone", []int64{0, 2, 3, 1}, []string{"a", "a", "b", "b"}, []int64{66, 44, 0, 22}},
		// Zone a (1 pod) is the only zone and the fullest: its nodes get a third of their
		// node score; the node without a zone gets its node score (0) alone.
		{"nodes without a zone score by node alone", []int64{0, 2, 1}, []string{"a", "", "a"}, []int64{33, 0, 16}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Spread(tc.counts, tc.zones); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Spread = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestScoreCountsTheGroup(t *testing.T) {
	tests := []struct {
		name string
		pod  *corev1.Pod
		want []int64
	}{
		// node-0 holds two pods of rs-1, node-1 one, node-2 none.
		{"same controller", st.Pod("p").Owner("rs-1").Labels("app", "x").Obj(), []int64{0, 50, 100}},
		// Pods with the same labels and no controller: one on node-1.
		{"same labels", st.Pod("p").Labels("app", "solo").Obj(), []int64{100, 0, 100}},
		{"labels in another namespace do not count", st.Pod("p").Namespace("other").Labels("app", "solo").Obj(), []int64{100, 100, 100}},
	}
	nodes := []*framework.NodeInfo{
		st.Node("node-0").Info(st.Pod("a").Owner("rs-1").Labels("app", "x").Obj(), st.Pod("b").Owner("rs-1").Labels("app", "x").Obj()),
		st.Node("node-1").Info(st.Pod("c").Owner("rs-1").Labels("app", "x").Obj(), st.Pod("d").Labels("app", "solo").Obj()),
		st.Node("node-2").Info(st.Pod("e").Owner("rs-2").Labels("app", "x").Obj()),
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pl, pod, state := New(), framework.NewPodInfo(tc.pod), framework.NewCycleState()
			if s := pl.PreScore(state, pod, nodes); !s.IsSuccess() {
				t.Fatalf("PreScore = %v", s)
			}
			scores := make([]framework.NodeScore, len(nodes))
			for i, ni := range nodes {
				v, _ := pl.Score(state, pod, ni)
				scores[i] = framework.NodeScore{Name: ni.Node().Name, Score: v}
			}
			pl.NormalizeScore(state, pod, scores)
			for i, s := range scores {
				if s.Score != tc.want[i] {
					t.Errorf("%s: %d, want %d", s.Name, s.Score, tc.want[i])
				}
			}
		})
	}
	if s := New().PreScore(framework.NewCycleState(), st.Pod("bare").Info(), nodes); !s.IsSkip() {
		t.Errorf("PreScore of a pod with no controller and no labels = %v, want Skip", s)
	}
}
