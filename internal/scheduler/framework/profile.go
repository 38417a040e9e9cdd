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
// PreFilterPlugin, PreFilterExtensions or QueueingHinter when it is one) and weighted
// score plugins (each a PreScorePlugin too when it is one).
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
	state.filters, state.filtersSet, state.skipped = p.filters, true, skip
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

// RunPreFilterExtensionAddPod tells each PreFilterExtensions plugin not skipped in this
// cycle that added was placed on node. state must be the caller's own clone.
func (p *Profile) RunPreFilterExtensionAddPod(state *CycleState, pod, added *PodInfo, node *NodeInfo) *Status {
	for _, pl := range p.preFilters {
		ext, ok := pl.(PreFilterExtensions)
		if !ok || state.skipped[pl.Name()] {
			continue
		}
		if s := ext.AddPod(state, pod, added, node); !s.IsSuccess() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunPreFilterExtensionRemovePod tells each PreFilterExtensions plugin not skipped in
// this cycle that removed left node. state must be the caller's own clone.
func (p *Profile) RunPreFilterExtensionRemovePod(state *CycleState, pod, removed *PodInfo, node *NodeInfo) *Status {
	for _, pl := range p.preFilters {
		ext, ok := pl.(PreFilterExtensions)
		if !ok || state.skipped[pl.Name()] {
			continue
		}
		if s := ext.RemovePod(state, pod, removed, node); !s.IsSuccess() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// RunFiltersWithNominatedPods is RunFilters as upstream runs it: when pods of at least
// pod's priority are nominated to node, the filters run first as if those pods were
// placed there (on clones of node and state), and, if pod passes, again without them,
// since a filter such as pod affinity may pass only with them. pod must pass both:
// the nominated pods may still land elsewhere. Pods of lower priority are ignored,
// since pod may take room freed for them. nominator may be nil. It may be called
// concurrently for different nodes.
func (p *Profile) RunFiltersWithNominatedPods(state *CycleState, pod *PodInfo, node *NodeInfo, nominator PodNominator) *Status {
	if nominator == nil || node.Node() == nil {
		return p.RunFilters(state, pod, node)
	}
	withState, withNode, added, s := p.addNominated(state, pod, node, nominator)
	if !s.IsSuccess() {
		return s
	}
	if added {
		if s := p.RunFilters(withState, pod, withNode); !s.IsSuccess() {
			return s
		}
	}
	return p.RunFilters(state, pod, node)
}

// addNominated returns clones of state and node with the pods nominated to node of at
// least pod's priority added, and whether there were any.
func (p *Profile) addNominated(state *CycleState, pod *PodInfo, node *NodeInfo, nominator PodNominator) (*CycleState, *NodeInfo, bool, *Status) {
	nominated := nominator.NominatedPodsForNode(node.Node().Name)
	if len(nominated) == 0 {
		return state, node, false, nil
	}
	priority := PodPriority(pod.Pod)
	added := false
	for _, np := range nominated {
		if np.Pod.UID == pod.Pod.UID || PodPriority(np.Pod) < priority {
			continue
		}
		if !added {
			state, node, added = state.Clone(), node.Clone(), true
		}
		node.AddPod(np)
		if s := p.RunPreFilterExtensionAddPod(state, pod, np, node); !s.IsSuccess() {
			return nil, nil, false, AsStatus(fmt.Errorf("adding nominated pod %s: %w", np.Key(), s.AsError())).WithPlugin(s.Plugin())
		}
	}
	return state, node, added, nil
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
