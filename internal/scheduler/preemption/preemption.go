package preemption

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Name is the plugin's name, as upstream names it.
const Name = "DefaultPreemption"

// Upstream's defaults of DefaultPreemptionArgs: the dry run stops once it has found
// max(10% of the candidate nodes, 100) candidates, one of them violating no budget.
const (
	MinCandidateNodesPercentage = 10
	MinCandidateNodesAbsolute   = 100
)

// Upstream's messages.
const (
	msgPrefix       = "preemption: "
	msgNotHelpful   = "Preemption is not helpful for scheduling"
	msgNoVictims    = "No preemption victims found for incoming pod"
	msgPolicyNever  = "not eligible due to preemptionPolicy=Never."
	msgTerminating  = "not eligible due to a terminating pod on the nominated node."
	errNoVictimsFmt = "expected at least one victim pod on node %q"
)

// Nodes is the cycle's view of the nodes (the scheduler's cache.Snapshot).
type Nodes interface {
	// List returns the nodes, by name.
	List() []*framework.NodeInfo
	// Get returns a node's NodeInfo, nil when there is none.
	Get(name string) *framework.NodeInfo
}

// Input is what one preemption attempt judges.
type Input struct {
	// Pod is the preemptor, as its scheduling cycle saw it.
	Pod *framework.PodInfo
	// NominatedNode is the node the preemptor is nominated to now, "" for none.
	NominatedNode string
	// State is the cycle's state, after PreFilter; Preempt changes only clones of it.
	State *framework.CycleState
	// Nodes is the cycle's snapshot; Preempt changes only clones of its NodeInfos.
	Nodes Nodes
	// Diagnosis is why the pod fit no node.
	Diagnosis framework.Diagnosis
	// PDBs are the cluster's PodDisruptionBudgets.
	PDBs []*policyv1.PodDisruptionBudget
	// Offset is where, among the candidate nodes, the dry run starts (the scheduler
	// picks it at random, as upstream does).
	Offset int
}

// Result is the decision. With Status Success, the preemptor is to be nominated to
// Node, Victims evicted and LowerNominated lose their nominations; otherwise nothing is
// to be done but, when ClearNomination is set, clearing the preemptor's nomination.
type Result struct {
	// Status is Success, Unschedulable with upstream's message ("preemption: ..."),
	// or Error.
	Status *framework.Status
	// Node is the node chosen.
	Node string
	// Victims are the pods to evict from Node, the most important first.
	Victims []*corev1.Pod
	// NumPDBViolations counts the victims whose eviction violates a budget.
	NumPDBViolations int
	// LowerNominated are the pods of lower priority than the preemptor nominated to
	// Node: they may no longer fit there.
	LowerNominated []*corev1.Pod
	// ClearNomination is set when preemption cannot help the pod anywhere: a
	// nomination it has is stale.
	ClearNomination bool
}

// candidate is a node where the preemptor fits once victims are gone.
type candidate struct {
	node string
	// victims are the most important first.
	victims          []*corev1.Pod
	numPDBViolations int
}

// Evaluator decides preemptions with a profile's filters.
type Evaluator struct {
	profile   *framework.Profile
	nominator framework.PodNominator
	clock     clock.PassiveClock
}

// New returns an evaluator that filters with profile, counts the pods nominator lists
// as upstream does, and takes "now" from clock as the start of pods not yet started.
func New(profile *framework.Profile, nominator framework.PodNominator, clock clock.PassiveClock) *Evaluator {
	return &Evaluator{profile: profile, nominator: nominator, clock: clock}
}

// Preempt decides where the pod of in may preempt, if anywhere. It changes nothing of
// in (it works on clones) and may be called concurrently.
func (e *Evaluator) Preempt(in Input) Result {
	pod := in.Pod.Pod
	if ok, msg := e.eligible(in); !ok {
		return Result{Status: framework.NewStatus(framework.Unschedulable, msgPrefix+msg).WithPlugin(Name)}
	}
	nodes := in.Nodes.List()
	candidates, statuses, err := e.findCandidates(in, nodes)
	if err != nil && len(candidates) == 0 {
		return Result{Status: framework.AsStatus(fmt.Errorf("%s%w", msgPrefix, err)).WithPlugin(Name)}
	}
	if len(candidates) == 0 {
		fit := &framework.FitError{NumAllNodes: len(nodes), Diagnosis: framework.Diagnosis{
			NodeStatuses: statuses,
			AbsentStatus: framework.NewStatus(framework.UnschedulableAndUnresolvable, msgNotHelpful),
		}}
		return Result{Status: framework.NewStatus(framework.Unschedulable, msgPrefix+fit.Error()).WithPlugin(Name), ClearNomination: true}
	}
	c := candidates[pickOneNode(candidates, e.clock.Now())]
	res := Result{Node: c.node, Victims: c.victims, NumPDBViolations: c.numPDBViolations}
	if e.nominator != nil {
		priority := framework.PodPriority(pod)
		for _, np := range e.nominator.NominatedPodsForNode(c.node) {
			if np.Pod.UID != pod.UID && framework.PodPriority(np.Pod) < priority {
				res.LowerNominated = append(res.LowerNominated, np.Pod)
			}
		}
	}
	return res
}

// eligible is upstream's PodEligibleToPreemptOthers: not with preemptionPolicy Never,
// and not while a pod it may preempt is terminating, because of preemption, on the node
// it is nominated to (its earlier preemption is under way), unless that node now
// rejects it for good.
func (e *Evaluator) eligible(in Input) (bool, string) {
	pod := in.Pod.Pod
	if p := pod.Spec.PreemptionPolicy; p != nil && *p == corev1.PreemptNever {
		return false, msgPolicyNever
	}
	if in.NominatedNode == "" {
		return true, ""
	}
	if statusOf(&in.Diagnosis, in.NominatedNode).Code() == framework.UnschedulableAndUnresolvable {
		return true, ""
	}
	ni := in.Nodes.Get(in.NominatedNode)
	if ni == nil {
		return true, ""
	}
	priority := framework.PodPriority(pod)
	for _, p := range ni.Pods {
		if framework.PodPriority(p.Pod) < priority && terminatingByPreemption(p.Pod) {
			return false, msgTerminating
		}
	}
	return true, ""
}

// statusOf returns a node's status in d: the PreFilter rejection for every node, else
// the node's own, else (a node not filtered) UnschedulableAndUnresolvable, as
// upstream's default NodeToStatus has it.
func statusOf(d *framework.Diagnosis, node string) *framework.Status {
	if d.PreFilterStatus != nil {
		return d.PreFilterStatus
	}
	if s, ok := d.NodeStatuses[node]; ok {
		return s
	}
	return framework.NewStatus(framework.UnschedulableAndUnresolvable)
}

// terminatingByPreemption reports whether p is being deleted after the scheduler
// marked it DisruptionTarget/PreemptionByScheduler.
func terminatingByPreemption(p *corev1.Pod) bool {
	if p.DeletionTimestamp == nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.DisruptionTarget {
			return c.Status == corev1.ConditionTrue && c.Reason == corev1.PodReasonPreemptionByScheduler
		}
	}
	return false
}

// numCandidates is how many candidates the dry run looks for among n nodes.
func numCandidates(n int) int {
	return min(max(n*MinCandidateNodesPercentage/100, MinCandidateNodesAbsolute), n)
}

// findCandidates is upstream's dry run over the nodes that rejected the pod as
// Unschedulable, from in.Offset: candidates that violate no budget first. statuses
// holds why each node tried is not one. An error is returned with the candidates
// found despite it.
func (e *Evaluator) findCandidates(in Input, nodes []*framework.NodeInfo) ([]candidate, map[string]*framework.Status, error) {
	statuses := map[string]*framework.Status{}
	if len(nodes) == 0 {
		return nil, statuses, errors.New("no nodes available")
	}
	var potential []*framework.NodeInfo
	for _, ni := range nodes {
		if statusOf(&in.Diagnosis, ni.Node().Name).Code() == framework.Unschedulable {
			potential = append(potential, ni)
		}
	}
	if len(potential) == 0 {
		return nil, statuses, nil
	}
	pdbs := newBudgets(in.PDBs)
	now := e.clock.Now()
	n := len(potential)
	want := numCandidates(n)
	offset := in.Offset % n
	if offset < 0 {
		offset += n
	}
	var nonViolating, violating []candidate
	var errs []error
	for i := 0; i < n; i++ {
		ni := potential[(offset+i)%n]
		name := ni.Node().Name
		victims, numViolating, st := e.selectVictims(in.State.Clone(), in.Pod, ni.Clone(), pdbs, now)
		if st.IsSuccess() && len(victims) == 0 {
			st = framework.AsStatus(fmt.Errorf(errNoVictimsFmt, name))
		}
		if !st.IsSuccess() {
			if st.Code() == framework.Error {
				errs = append(errs, st.AsError())
			}
			statuses[name] = st
			continue
		}
		c := candidate{node: name, victims: victims, numPDBViolations: numViolating}
		if numViolating == 0 && len(nonViolating) < want {
			nonViolating = append(nonViolating, c)
		} else if numViolating > 0 && len(violating) < want {
			violating = append(violating, c)
		}
		if len(nonViolating) > 0 && len(nonViolating)+len(violating) >= want {
			break
		}
	}
	return append(nonViolating, violating...), statuses, errors.Join(errs...)
}

// selectVictims is upstream's SelectVictimsOnNode: the fewest, least important pods of
// lower priority on node whose eviction lets pod fit, the most important first, and how
// many of them violate a budget. state and node are the caller's clones; both are
// changed. now is the start time of pods not yet started.
func (e *Evaluator) selectVictims(state *framework.CycleState, pod *framework.PodInfo, node *framework.NodeInfo, pdbs budgets, now time.Time) ([]*corev1.Pod, int, *framework.Status) {
	priority := framework.PodPriority(pod.Pod)
	var potential []*framework.PodInfo
	for _, p := range node.Pods {
		if framework.PodPriority(p.Pod) < priority {
			potential = append(potential, p)
		}
	}
	remove := func(p *framework.PodInfo) *framework.Status {
		if err := node.RemovePod(p.Pod); err != nil {
			return framework.AsStatus(err)
		}
		return e.profile.RunPreFilterExtensionRemovePod(state, pod, p, node)
	}
	for _, p := range potential {
		if st := remove(p); !st.IsSuccess() {
			return nil, 0, st
		}
	}
	if len(potential) == 0 {
		return nil, 0, framework.NewStatus(framework.UnschedulableAndUnresolvable, msgNoVictims)
	}
	// Pod affinity to one of the victims is not looked for, as upstream does not.
	if st := e.profile.RunFiltersWithNominatedPods(state, pod, node, e.nominator); !st.IsSuccess() {
		return nil, 0, st
	}
	sort.SliceStable(potential, func(i, j int) bool { return moreImportant(potential[i].Pod, potential[j].Pod, now) })
	violating, nonViolating := pdbs.split(potential)
	var victims []*corev1.Pod
	// reprieve puts p back and keeps it there if pod still fits.
	reprieve := func(p *framework.PodInfo) (bool, *framework.Status) {
		node.AddPod(p)
		if st := e.profile.RunPreFilterExtensionAddPod(state, pod, p, node); !st.IsSuccess() {
			return false, st
		}
		if e.profile.RunFiltersWithNominatedPods(state, pod, node, e.nominator).IsSuccess() {
			return true, nil
		}
		if st := remove(p); !st.IsSuccess() {
			return false, st
		}
		victims = append(victims, p.Pod)
		return false, nil
	}
	numViolating := 0
	for _, p := range violating {
		fits, st := reprieve(p)
		if !st.IsSuccess() {
			return nil, 0, st
		}
		if !fits {
			numViolating++
		}
	}
	for _, p := range nonViolating {
		if _, st := reprieve(p); !st.IsSuccess() {
			return nil, 0, st
		}
	}
	if len(violating) > 0 && len(nonViolating) > 0 {
		sort.SliceStable(victims, func(i, j int) bool { return moreImportant(victims[i], victims[j], now) })
	}
	return victims, numViolating, nil
}

// moreImportant reports whether a is more important than b: higher priority, or the
// same and started earlier (now for a pod not started).
func moreImportant(a, b *corev1.Pod, now time.Time) bool {
	pa, pb := framework.PodPriority(a), framework.PodPriority(b)
	if pa != pb {
		return pa > pb
	}
	return startTime(a, now).Before(startTime(b, now))
}

func startTime(p *corev1.Pod, now time.Time) time.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return now
}

// pickOneNode returns the index of the candidate to preempt on, as upstream's
// pickOneNodeForPreemption: the fewest budget violations, then the lowest priority of
// the most important victim, the smallest sum of priorities, the fewest victims, the
// latest start of the earliest-started victim of the highest priority, then the first;
// -1 when there is none. Each candidate's victims are the most important first.
func pickOneNode(candidates []candidate, now time.Time) int {
	if len(candidates) == 0 {
		return -1
	}
	scores := []func(c *candidate) int64{
		func(c *candidate) int64 { return -int64(c.numPDBViolations) },
		func(c *candidate) int64 { return -int64(framework.PodPriority(c.victims[0])) },
		func(c *candidate) int64 {
			// Shifted to be positive, so that more victims of negative priority
			// do not sum to less.
			var sum int64
			for _, v := range c.victims {
				sum += int64(framework.PodPriority(v)) + math.MaxInt32 + 1
			}
			return -sum
		},
		func(c *candidate) int64 { return -int64(len(c.victims)) },
		func(c *candidate) int64 { return earliestStartOfHighest(c.victims, now).UnixNano() },
	}
	left := make([]int, len(candidates))
	for i := range left {
		left[i] = i
	}
	for _, score := range scores {
		best := int64(math.MinInt64)
		var kept []int
		for _, i := range left {
			switch s := score(&candidates[i]); {
			case s > best:
				best, kept = s, append(kept[:0], i)
			case s == best:
				kept = append(kept, i)
			}
		}
		if len(kept) == 1 {
			return kept[0]
		}
		left = kept
	}
	return left[0]
}

// earliestStartOfHighest returns the earliest start among the victims of the highest
// priority.
func earliestStartOfHighest(victims []*corev1.Pod, now time.Time) time.Time {
	earliest, highest := startTime(victims[0], now), framework.PodPriority(victims[0])
	for _, v := range victims[1:] {
		switch p := framework.PodPriority(v); {
		case p > highest:
			earliest, highest = startTime(v, now), p
		case p == highest:
			if t := startTime(v, now); t.Before(earliest) {
				earliest = t
			}
		}
	}
	return earliest
}

// budgets are the PodDisruptionBudgets a preemption must respect, parsed once.
type budgets []budget

type budget struct {
	namespace string
	selector  labels.Selector
	allowed   int32
	disrupted map[string]metav1.Time
}

// newBudgets parses pdbs. A budget whose selector does not parse, or is empty,
// matches no pod, as upstream has it.
func newBudgets(pdbs []*policyv1.PodDisruptionBudget) budgets {
	out := make(budgets, 0, len(pdbs))
	for _, pdb := range pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() {
			continue
		}
		out = append(out, budget{namespace: pdb.Namespace, selector: sel,
			allowed: pdb.Status.DisruptionsAllowed, disrupted: pdb.Status.DisruptedPods})
	}
	return out
}

// split returns, in their order, the pods whose eviction, one after the other, would
// take a matching budget below zero disruptions allowed, and the others. A pod the
// budget already records as disrupted does not count against it.
func (b budgets) split(pods []*framework.PodInfo) (violating, nonViolating []*framework.PodInfo) {
	allowed := make([]int32, len(b))
	for i := range b {
		allowed[i] = b[i].allowed
	}
	for _, p := range pods {
		violated := false
		if len(p.Pod.Labels) > 0 {
			for i := range b {
				if b[i].namespace != p.Pod.Namespace || !b[i].selector.Matches(labels.Set(p.Pod.Labels)) {
					continue
				}
				if _, ok := b[i].disrupted[p.Pod.Name]; ok {
					continue
				}
				if allowed[i]--; allowed[i] < 0 {
					violated = true
				}
			}
		}
		if violated {
			violating = append(violating, p)
		} else {
			nonViolating = append(nonViolating, p)
		}
	}
	return violating, nonViolating
}
