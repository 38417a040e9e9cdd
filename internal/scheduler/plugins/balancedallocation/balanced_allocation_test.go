package balancedallocation

import (
	"testing"

	"github.com/podium/podium/internal/scheduler/framework"
	st "github.com/podium/podium/internal/scheduler/schedtest"
)

func TestBalance(t *testing.T) {
	tests := []struct {
		name                   string
		requested, allocatable []int64
		want                   int64
	}{
		{"equal shares", []int64{2000, 4 << 30}, []int64{4000, 8 << 30}, 100},
		{"half and nothing", []int64{2000, 0}, []int64{4000, 8 << 30}, 75},
		{"all and nothing", []int64{4000, 0}, []int64{4000, 8 << 30}, 50},
		{"shares are capped at 1", []int64{8000, 0}, []int64{4000, 8 << 30}, 50},
		{"resources with nothing allocatable are left out", []int64{1000, 5}, []int64{4000, 0}, 100},
		{"three resources", []int64{0, 1, 2}, []int64{2, 2, 2}, 59}, // std of (0, .5, 1) = .408
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Balance(tc.requested, tc.allocatable); got != tc.want {
				t.Errorf("Balance = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestScore(t *testing.T) {
	pod := st.Pod("p").Req("cpu", "1", "memory", "2Gi").Info()
	// cpu-heavy: cpu (2+1)/4 = .75, memory 2/8 = .25, deviation .25 -> 75; balanced:
	// .5 and .5 -> 100.
	cpuHeavy := st.Node("cpu-heavy").Info(st.Pod("a").Req("cpu", "2").Obj())
	balanced := st.Node("balanced").Info(st.Pod("b").Req("cpu", "1", "memory", "2Gi").Obj())
	pl := New()
	if s := pl.PreScore(nil, pod, nil); !s.IsSuccess() {
		t.Fatalf("PreScore = %v", s)
	}
	if got, _ := pl.Score(nil, pod, cpuHeavy); got != 75 {
		t.Errorf("cpu-heavy: %d, want 75", got)
	}
	if got, _ := pl.Score(nil, pod, balanced); got != 100 {
		t.Errorf("balanced: %d, want 100", got)
	}
	if s := pl.PreScore(nil, st.Pod("best-effort").Info(), nil); !s.IsSkip() {
		t.Errorf("PreScore of a pod without requests = %v, want Skip", s)
	}
}

var _ framework.ScorePlugin = New()
