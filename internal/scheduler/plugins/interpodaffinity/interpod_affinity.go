package interpodaffinity

import (
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Name is the plugin's name.
const Name = "InterPodAffinity"

// Rejection reasons.
const (
	ReasonAffinity         = "node(s) didn't match pod affinity rules"
	ReasonAntiAffinity     = "node(s) didn't match pod anti-affinity rules"
	ReasonExistingAntiRule = "node(s) didn't satisfy existing pods anti-affinity rules"
)

// Namespaces answers the plugin's questions about namespaces.
type Namespaces interface {
	// Labels returns the labels of the namespace name, nil when it is unknown.
	Labels(name string) labels.Set
	// Select returns the names of the namespaces whose labels sel matches.
	Select(sel labels.Selector) []string
}

// InterPodAffinity is the plugin.
type InterPodAffinity struct {
	namespaces Namespaces
}

var (
	_ framework.PreFilterPlugin     = (*InterPodAffinity)(nil)
	_ framework.PreFilterExtensions = (*InterPodAffinity)(nil)
	_ framework.FilterPlugin        = (*InterPodAffinity)(nil)
	_ framework.QueueingHinter      = (*InterPodAffinity)(nil)
	_ framework.StateData           = (*State)(nil)
)

// New returns the plugin, which resolves namespace selectors through namespaces.
func New(namespaces Namespaces) *InterPodAffinity { return &InterPodAffinity{namespaces: namespaces} }

// Name returns Name.
func (*InterPodAffinity) Name() string { return Name }

// topologyPair is one topology domain: a node label and its value.
type topologyPair struct{ key, value string }

// State is what PreFilter works out over all nodes for one pod. AddPod and RemovePod
// keep it up to date as pods are added to or removed from a node in a "what if".
type State struct {
	// pod is the pod being scheduled, whose namespace has the labels nsLabels.
	pod      *corev1.Pod
	nsLabels labels.Set

	affinity, antiAffinity []framework.AffinityTerm
	// affinityCounts counts, per domain of each affinity term's key, the pods matching
	// every affinity term.
	affinityCounts map[topologyPair]int
	// antiCounts counts, per domain, the pods matching one of the anti-affinity terms.
	antiCounts map[topologyPair]int
	// existingAnti counts, per domain, the terms of placed pods' required
	// anti-affinity that match the pod.
	existingAnti map[topologyPair]int
	// selfMatch: the pod matches all its own affinity terms.
	selfMatch bool
}

// Compute works out the State of pod (whose namespace has labels nsLabels) over nodes.
// The pod's terms must have their namespace selectors resolved (see resolve).
func Compute(pod *corev1.Pod, affinity, anti []framework.AffinityTerm, nsLabels labels.Set, nodes []*framework.NodeInfo) *State {
	s := &State{pod: pod, nsLabels: nsLabels, affinity: affinity, antiAffinity: anti,
		affinityCounts: map[topologyPair]int{}, antiCounts: map[topologyPair]int{}, existingAnti: map[topologyPair]int{}}
	s.selfMatch = len(affinity) > 0 && matchesAll(affinity, pod, nsLabels)
	for _, ni := range nodes {
		node := ni.Node()
		if node == nil {
			continue
		}
		for _, ep := range ni.PodsWithRequiredAntiAffinity {
			s.countExistingAnti(ep, node, 1)
		}
		if len(affinity) == 0 && len(anti) == 0 {
			continue
		}
		for _, ep := range ni.Pods {
			s.countMatches(ep, node, 1)
		}
	}
	return s
}

// countExistingAnti adds delta for each required anti-affinity term of ep, placed on
// node, that matches the pod.
func (s *State) countExistingAnti(ep *framework.PodInfo, node *corev1.Node, delta int) {
	for i := range ep.RequiredAntiAffinity {
		t := &ep.RequiredAntiAffinity[i]
		if v, ok := node.Labels[t.TopologyKey]; ok && t.Matches(s.pod, s.nsLabels) {
			add(s.existingAnti, topologyPair{t.TopologyKey, v}, delta)
		}
	}
}

// countMatches adds delta where ep, placed on node, matches the pod's terms.
func (s *State) countMatches(ep *framework.PodInfo, node *corev1.Node, delta int) {
	if len(s.affinity) > 0 && matchesAll(s.affinity, ep.Pod, nil) {
		for i := range s.affinity {
			if v, ok := node.Labels[s.affinity[i].TopologyKey]; ok {
				add(s.affinityCounts, topologyPair{s.affinity[i].TopologyKey, v}, delta)
			}
		}
	}
	for i := range s.antiAffinity {
		if v, ok := node.Labels[s.antiAffinity[i].TopologyKey]; ok && s.antiAffinity[i].Matches(ep.Pod, nil) {
			add(s.antiCounts, topologyPair{s.antiAffinity[i].TopologyKey, v}, delta)
		}
	}
}

// add adds delta to m[k], dropping the entry at zero: an affinity term with no match
// left must look as if it never had one.
func add(m map[topologyPair]int, k topologyPair, delta int) {
	if m[k] += delta; m[k] == 0 {
		delete(m, k)
	}
}

// Clone returns a copy that AddPod and RemovePod may change.
func (s *State) Clone() framework.StateData {
	c := *s
	c.affinityCounts = maps.Clone(s.affinityCounts)
	c.antiCounts = maps.Clone(s.antiCounts)
	c.existingAnti = maps.Clone(s.existingAnti)
	return &c
}

func matchesAll(terms []framework.AffinityTerm, pod *corev1.Pod, nsLabels labels.Set) bool {
	for i := range terms {
		if !terms[i].Matches(pod, nsLabels) {
			return false
		}
	}
	return true
}

// Check returns the reason node is refused under s, "" when it is not: first the pod's
// affinity, then its anti-affinity, then the anti-affinity of pods already placed.
func (s *State) Check(node *corev1.Node) (reason string, code framework.Code) {
	if !s.satisfiesAffinity(node) {
		return ReasonAffinity, framework.UnschedulableAndUnresolvable
	}
	for i := range s.antiAffinity {
		if v, ok := node.Labels[s.antiAffinity[i].TopologyKey]; ok && s.antiCounts[topologyPair{s.antiAffinity[i].TopologyKey, v}] > 0 {
			return ReasonAntiAffinity, framework.Unschedulable
		}
	}
	for tp, n := range s.existingAnti {
		if v, ok := node.Labels[tp.key]; ok && v == tp.value && n > 0 {
			return ReasonExistingAntiRule, framework.Unschedulable
		}
	}
	return "", framework.Success
}

func (s *State) satisfiesAffinity(node *corev1.Node) bool {
	found := true
	for i := range s.affinity {
		v, ok := node.Labels[s.affinity[i].TopologyKey]
		if !ok {
			return false
		}
		if s.affinityCounts[topologyPair{s.affinity[i].TopologyKey, v}] <= 0 {
			found = false
		}
	}
	// The first pod of a group with affinity to itself: nothing matches yet.
	return found || (len(s.affinityCounts) == 0 && s.selfMatch)
}

// resolve returns terms with their namespace selectors replaced by the namespaces they
// select now.
func (pl *InterPodAffinity) resolve(terms []framework.AffinityTerm) []framework.AffinityTerm {
	out := make([]framework.AffinityTerm, len(terms))
	for i, t := range terms {
		if t.NamespaceSelector != nil {
			ns := t.Namespaces.Clone().Insert(pl.namespaces.Select(t.NamespaceSelector)...)
			t.Namespaces, t.NamespaceSelector = ns, nil
		}
		out[i] = t
	}
	return out
}

// PreFilter computes the State; a pod without terms, in a cluster with no pod with
// required anti-affinity, skips Filter.
func (pl *InterPodAffinity) PreFilter(state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo) *framework.Status {
	if pod.ParseError != nil {
		return framework.AsStatus(pod.ParseError)
	}
	existing := false
	for _, ni := range nodes {
		if len(ni.PodsWithRequiredAntiAffinity) > 0 {
			existing = true
			break
		}
	}
	if !existing && len(pod.RequiredAffinity) == 0 && len(pod.RequiredAntiAffinity) == 0 {
		return framework.NewStatus(framework.Skip)
	}
	nsLabels := pl.namespaces.Labels(pod.Pod.Namespace)
	state.Write(Name, Compute(pod.Pod, pl.resolve(pod.RequiredAffinity), pl.resolve(pod.RequiredAntiAffinity), nsLabels, nodes))
	return nil
}

// AddPod counts added, now placed on node, in the State.
func (pl *InterPodAffinity) AddPod(state *framework.CycleState, _, added *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return update(state, added, node, 1)
}

// RemovePod stops counting removed, gone from node, in the State.
func (pl *InterPodAffinity) RemovePod(state *framework.CycleState, _, removed *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	return update(state, removed, node, -1)
}

func update(state *framework.CycleState, ep *framework.PodInfo, node *framework.NodeInfo, delta int) *framework.Status {
	v, ok := state.Read(Name)
	if !ok {
		return framework.NewStatus(framework.Error, "InterPodAffinity: PreFilter did not run")
	}
	if n := node.Node(); n != nil {
		s := v.(*State)
		s.countExistingAnti(ep, n, delta)
		s.countMatches(ep, n, delta)
	}
	return nil
}

// Filter applies the State to one node.
func (pl *InterPodAffinity) Filter(state *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo) *framework.Status {
	v, ok := state.Read(Name)
	if !ok {
		return framework.NewStatus(framework.Error, "InterPodAffinity: PreFilter did not run")
	}
	if reason, code := v.(*State).Check(node.Node()); reason != "" {
		return framework.NewStatus(code, reason)
	}
	return nil
}

// QueueingHint: a pod placed (or relabelled) that matches the pod's affinity terms, or
// no longer matches its anti-affinity terms; a pod leaving that matched its
// anti-affinity terms or had required anti-affinity of its own; a new node or a node
// whose labels changed (a new topology domain).
func (pl *InterPodAffinity) QueueingHint(pod *framework.PodInfo, ev framework.ClusterEvent) bool {
	anyMatch := func(terms []framework.AffinityTerm, p *corev1.Pod) bool {
		for i := range terms {
			if terms[i].NamespaceSelector != nil || terms[i].Matches(p, nil) {
				return true
			}
		}
		return false
	}
	allMatch := func(terms []framework.AffinityTerm, p *corev1.Pod) bool {
		for i := range terms {
			if terms[i].NamespaceSelector == nil && !terms[i].Matches(p, nil) {
				return false
			}
		}
		return true
	}
	switch ev.Kind {
	case framework.NodeAdd:
		return true
	case framework.NodeUpdate:
		return !labels.Equals(ev.OldNode.Labels, ev.Node.Labels)
	case framework.AssignedPodAdd:
		return len(pod.RequiredAffinity) > 0 && allMatch(pod.RequiredAffinity, ev.Pod)
	case framework.AssignedPodUpdate:
		return (len(pod.RequiredAffinity) > 0 && allMatch(pod.RequiredAffinity, ev.Pod)) ||
			(anyMatch(pod.RequiredAntiAffinity, ev.OldPod) && !anyMatch(pod.RequiredAntiAffinity, ev.Pod))
	case framework.AssignedPodDelete:
		return anyMatch(pod.RequiredAntiAffinity, ev.Pod) || hasRequiredAnti(ev.Pod)
	}
	return false
}

func hasRequiredAnti(p *corev1.Pod) bool {
	a := p.Spec.Affinity
	return a != nil && a.PodAntiAffinity != nil && len(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0
}
