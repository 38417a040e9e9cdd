package selectorspread

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "SelectorSpread"

// zoneWeighting is the share of the zone's spread in a node's score when nodes have
// zones; the node's own spread has the rest.
const zoneWeighting = 2.0 / 3.0

// SelectorSpread is the plugin.
type SelectorSpread struct{}

var (
	_ framework.PreScorePlugin  = (*SelectorSpread)(nil)
	_ framework.ScorePlugin     = (*SelectorSpread)(nil)
	_ framework.ScoreNormalizer = (*SelectorSpread)(nil)
)

// New returns the plugin.
func New() *SelectorSpread { return &SelectorSpread{} }

// Name returns Name.
func (*SelectorSpread) Name() string { return Name }

// Spread turns the number of the group's pods on each node (counts) and each node's
// zone (zones[i], "" for none; zones nil when no node has one) into scores:
// MaxNodeScore for the emptiest node, down to 0 for the fullest, and when some nodes
// have zones, two thirds of the score from the same ranking of zones.
func Spread(counts []int64, zones []string) []int64 {
	var maxNode, maxZone int64
	var zoneCounts map[string]int64
	for i, c := range counts {
		maxNode = max(maxNode, c)
		if zones != nil && zones[i] != "" {
			if zoneCounts == nil {
				zoneCounts = map[string]int64{}
			}
			zoneCounts[zones[i]] += c
		}
	}
	for _, c := range zoneCounts {
		maxZone = max(maxZone, c)
	}
	out := make([]int64, len(counts))
	for i, c := range counts {
		score := float64(framework.MaxNodeScore)
		if maxNode > 0 {
			score = float64(framework.MaxNodeScore) * float64(maxNode-c) / float64(maxNode)
		}
		if len(zoneCounts) > 0 && zones[i] != "" {
			zoneScore := float64(framework.MaxNodeScore)
			if maxZone > 0 {
				zoneScore = float64(framework.MaxNodeScore) * float64(maxZone-zoneCounts[zones[i]]) / float64(maxZone)
			}
			score = score*(1-zoneWeighting) + zoneWeighting*zoneScore
		}
		out[i] = int64(score)
	}
	return out
}

// PreScore records the zones of the feasible nodes, if they have any; a pod without a
// group skips Score.
func (*SelectorSpread) PreScore(state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo) *framework.Status {
	if pod.SpreadKey == "" {
		return framework.NewStatus(framework.Skip)
	}
	var zones map[string]string
	for _, n := range nodes {
		if z := n.Node().Labels[corev1.LabelTopologyZone]; z != "" {
			if zones == nil {
				zones = map[string]string{}
			}
			zones[n.Node().Name] = z
		}
	}
	state.Write(Name, zones)
	return nil
}

// Score counts the pods of the pod's group on the node.
func (*SelectorSpread) Score(_ *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) (int64, *framework.Status) {
	return int64(node.SpreadCounts[pod.SpreadKey]), nil
}

// NormalizeScore applies Spread.
func (*SelectorSpread) NormalizeScore(state *framework.CycleState, _ *framework.PodInfo, scores []framework.NodeScore) *framework.Status {
	v, _ := state.Read(Name)
	zoneOf, _ := v.(map[string]string)
	counts := make([]int64, len(scores))
	var zones []string
	if len(zoneOf) > 0 {
		zones = make([]string, len(scores))
	}
	for i, s := range scores {
		counts[i] = s.Score
		if zones != nil {
			zones[i] = zoneOf[s.Name]
		}
	}
	for i, v := range Spread(counts, zones) {
		scores[i].Score = v
	}
	return nil
}
