package framework

import (
	"fmt"
)

// WeightedScorePlugin is a score plugin and the weight of its scores in a node's total.
type WeightedScorePlugin struct {
	ScorePlugin
	Weight int64
}

// Profile is the set of plugins one scheduler runs, in order. Filters run in the given
// order and the first rejection decides a node's reason, so the order is upstream's.
type Profile struct {
	preFilters []PreFilterPlugin
	filters    []FilterPlugin
	preScores  []PreScorePlugin
	scores     []WeightedScorePlugin
	hinters    map[string]QueueingHinter
}

// NewProfile builds a profile from filter plugins (each a FilterPlugin, and a
// PreFilterPlugin or QueueingHinter when it is one) and weighted score plugins (each a
// PreScorePlugin too when it is one).
func NewProfile(filters []FilterPlugin, scores []WeightedScorePlugin) *Profile {
	p := &Profile{filters: filters, scores: scores, hinters: map[string]QueueingHinter{}}
	for _, f := range filters {
		if pf, ok := f.(PreFilterPlugin); ok {
			p.preFilters = append(p.preFilters, pf)
		}
		if h, ok := f.(QueueingHinter); ok {
			p.hinters[f.Name()] = h
		}
	}
	for _, s := range scores {
		if ps, ok := s.ScorePlugin.(PreScorePlugin); ok {
			p.preScores = append(p.preScores, ps)
		}
	}
	return p
}

// RunPreFilter runs the PreFilter plugins. A rejection (or an error) is returned with
// the plugin's name, and the pod fits no node in this cycle.
func (p *Profile) RunPreFilter(state *CycleState, pod *PodInfo, nodes []*NodeInfo) *Status {
	var skip map[string]bool
	for _, pl := range p.preFilters {
		s := pl.PreFilter(state, pod, nodes)
		switch {
		case s.IsSkip():
			if skip == nil {
				skip = map[string]bool{}
			}
			skip[pl.Name()] = true
		case !s.IsSuccess():
			return s.WithPlugin(pl.Name())
		}
	}
	state.filters, state.filtersSet = p.filters, true
	if skip != nil {
		state.filters = make([]FilterPlugin, 0, len(p.filters))
		for _, f := range p.filters {
			if !skip[f.Name()] {
				state.filters = append(state.filters, f)
			}
		}
	}
	return nil
}

// RunFilters runs the filters on one node and returns the first one's status that is
// not Success, with the plugin's name. It may be called concurrently for different
// nodes.
func (p *Profile) RunFilters(state *CycleState, pod *PodInfo, node *NodeInfo) *Status {
	filters := p.filters
	if state.filtersSet {
		filters = state.filters
	}
	for _, pl := range filters {
		if s := pl.Filter(state, pod, node); !s.IsSuccess() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunScores scores the feasible nodes: each plugin's scores, normalized, times its
// weight, summed per node. The totals are in the order of nodes.
func (p *Profile) RunScores(state *CycleState, pod *PodInfo, nodes []*NodeInfo) ([]int64, *Status) {
	var skip map[string]bool
	for _, pl := range p.preScores {
		s := pl.PreScore(state, pod, nodes)
		switch {
		case s.IsSkip():
			if skip == nil {
				skip = map[string]bool{}
			}
			skip[pl.Name()] = true
		case !s.IsSuccess():
			return nil, s.WithPlugin(pl.Name())
		}
	}
	totals := make([]int64, len(nodes))
	scores := make([]NodeScore, len(nodes))
	for _, pl := range p.scores {
		if skip[pl.Name()] {
			continue
		}
		for i, n := range nodes {
			v, s := pl.Score(state, pod, n)
			if !s.IsSuccess() {
				return nil, s.WithPlugin(pl.Name())
			}
			scores[i] = NodeScore{Name: n.Node().Name, Score: v}
		}
		if nz, ok := pl.ScorePlugin.(ScoreNormalizer); ok {
			if s := nz.NormalizeScore(state, pod, scores); !s.IsSuccess() {
				return nil, s.WithPlugin(pl.Name())
			}
		}
		for i := range scores {
			if v := scores[i].Score; v < 0 || v > MaxNodeScore {
				return nil, AsStatus(fmt.Errorf("plugin %s scored node %s %d, outside 0..%d", pl.Name(), scores[i].Name, v, MaxNodeScore))
			}
			totals[i] += scores[i].Score * pl.Weight
		}
	}
	return totals, nil
}

// QueueingHint reports whether ev may make pod, rejected by the plugins named in
// rejectedBy, schedulable. With no plugin recorded (no node at all, a PreFilter error)
// every node event may help.
func (p *Profile) QueueingHint(pod *PodInfo, rejectedBy []string, ev ClusterEvent) bool {
	if len(rejectedBy) == 0 {
		return ev.Kind == NodeAdd || ev.Kind == NodeUpdate
	}
	for _, name := range rejectedBy {
		h, ok := p.hinters[name]
		if !ok || h.QueueingHint(pod, ev) {
			return true
		}
	}
	return false
}

// DefaultNormalizeScore maps scores onto 0..maxScore in proportion to the highest, and
// reverses them (maxScore - score) when reverse is set, so that the lowest raw score
// ranks highest. All zeros stay zeros, or become maxScore when reversed.
func DefaultNormalizeScore(maxScore int64, reverse bool, scores []NodeScore) {
	var highest int64
	for _, s := range scores {
		if s.Score > highest {
			highest = s.Score
		}
	}
	for i := range scores {
		v := int64(0)
		if highest > 0 {
			v = maxScore * scores[i].Score / highest
		}
		if reverse {
			v = maxScore - v
		}
		scores[i].Score = v
	}
}
