package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/podium/podium/internal/scheduler/framework"
	"github.com/podium/podium/internal/scheduler/plugins/volumebinding"
	"github.com/podium/podium/internal/scheduler/preemption"
	"github.com/podium/podium/internal/scheduler/queue"
)

// errNoNodes is the failure when the cluster has no node at all (upstream's message).
var errNoNodes = errors.New("no nodes available to schedule pods")

// Upstream's sampling of large clusters: with at least minFeasibleNodes nodes, filtering
// stops once a share of them (50% less 1% per 125 nodes, at least 5%, at least
// minFeasibleNodes) are found feasible, and the next cycle starts where it stopped.
const (
	minFeasibleNodes           = 100
	minFeasibleNodesPercentage = 5
)

func numFeasibleNodesToFind(all int) int {
	if all < minFeasibleNodes {
		return all
	}
	pct := max(50-all/125, minFeasibleNodesPercentage)
	return max(all*pct/100, minFeasibleNodes)
}

// scheduleOne schedules the next pod of the queue: it picks a node, assumes the pod
// there and hands the binding to the binders; or records why no node fits, after
// trying preemption. It returns false once the queue is closed.
func (s *Scheduler) scheduleOne(ctx context.Context) bool {
	qpi, ok := s.queue.Pop()
	if !ok {
		return false
	}
	pod := qpi.Pod
	if pod.DeletionTimestamp != nil || s.cache.Has(pod) {
		// Deleted, or an update of a pod already assumed or bound.
		s.queue.Done(qpi.Key())
		return true
	}
	if s.waitingForPreemption(pod) {
		// Its victims are still being evicted: it waits for them to leave, as
		// upstream's DefaultPreemption PreEnqueue has it, and is retried when the
		// eviction is done.
		s.queue.Requeue(qpi, qpi.UnschedulablePlugins, true)
		s.queue.Done(qpi.Key())
		return true
	}
	s.cache.UpdateSnapshot(s.snapshot)
	state := framework.NewCycleState()
	host, err := s.schedulePod(state, qpi.PodInfo)
	if err != nil {
		s.failed(ctx, qpi, state, err)
		return true
	}
	// The assumed pod shares everything but spec.nodeName with the informer's, which
	// nobody modifies.
	assumed := *pod
	assumed.Spec.NodeName = host
	if err := s.cache.AssumePod(qpi.PodInfo.WithPod(&assumed)); err != nil {
		s.failed(ctx, qpi, nil, err)
		return true
	}
	s.nominator.forget(pod)
	s.queue.Scheduled(qpi.Key())
	node := s.snapshot.Get(host).Node()
	select {
	case s.work <- func(ctx context.Context) { s.bind(ctx, qpi, state, node, &assumed) }:
	case <-ctx.Done():
		s.cache.ForgetPod(&assumed)
		s.queue.Done(qpi.Key())
	}
	return true
}

// failed ends a failed attempt of the scheduling goroutine. A pod that fit no node
// (with state, the cycle's state) gets preemption: when it finds a node, the pod is
// nominated there at once, the pods of lower priority nominated there lose their
// nomination, and the binders write the pod's status, then evict the victims. The
// binders write the pod's condition in any case.
func (s *Scheduler) failed(ctx context.Context, qpi *queue.QueuedPodInfo, state *framework.CycleState, err error) {
	var res *preemption.Result
	var fit *framework.FitError
	if state != nil && errors.As(err, &fit) {
		r := s.preempt(state, qpi.PodInfo, fit)
		res = &r
	}
	nom := nominationOf(res)
	if nom.set {
		s.nominator.nominate(qpi.PodInfo, nom.node)
	}
	write := s.fail(qpi, err, nom)
	if nom.node != "" {
		for _, p := range res.LowerNominated {
			s.nominator.forget(p)
		}
		s.startPreemption(qpi.Pod)
		setStatus, preemptor := write, qpi.Pod
		write = func(ctx context.Context) {
			setStatus(ctx)
			s.endPreemption(preemptor, s.evict(ctx, preemptor, res))
		}
	}
	s.queue.Done(qpi.Key())
	select {
	case s.work <- write:
	case <-ctx.Done():
	}
}

// schedulePod returns the node for pod, or why there is none: a *framework.FitError
// when it fits no node, errNoNodes, or another error. state is the cycle's, for
// preemption to use. A pod nominated to a node (after preempting there) is tried there
// first, and goes there if it fits, as upstream does.
func (s *Scheduler) schedulePod(state *framework.CycleState, pod *framework.PodInfo) (string, error) {
	nodes := s.snapshot.List()
	if len(nodes) == 0 {
		return "", errNoNodes
	}
	if st := s.profile.RunPreFilter(state, pod, nodes); !st.IsSuccess() {
		if st.IsRejected() {
			return "", &framework.FitError{NumAllNodes: len(nodes), Diagnosis: framework.Diagnosis{
				PreFilterStatus: st, UnschedulablePlugins: sets.New(st.Plugin())}}
		}
		return "", st.AsError()
	}
	if name := s.nominator.nominatedNode(pod.Pod); name != "" {
		if ni := s.snapshot.Get(name); ni != nil && ni.Node() != nil &&
			s.profile.RunFiltersWithNominatedPods(state, pod, ni, s.nominator).IsSuccess() {
			return name, nil
		}
	}
	feasible, diagnosis, err := s.findFeasible(state, pod, nodes)
	if err != nil {
		return "", err
	}
	if len(feasible) == 0 {
		return "", &framework.FitError{NumAllNodes: len(nodes), Diagnosis: diagnosis}
	}
	if len(feasible) == 1 {
		return feasible[0].Node().Name, nil
	}
	totals, st := s.profile.RunScores(state, pod, feasible)
	if !st.IsSuccess() {
		return "", st.AsError()
	}
	return s.selectHost(feasible, totals), nil
}

// findFeasible filters the nodes, starting where the last cycle stopped, until enough
// pass (all of them in clusters under 100 nodes), counting the pods nominated to each
// node. Filter errors fail the cycle.
func (s *Scheduler) findFeasible(state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo) ([]*framework.NodeInfo, framework.Diagnosis, error) {
	n := len(nodes)
	want := numFeasibleNodesToFind(n)
	start := s.nextStart % n
	var statuses []*framework.Status // by node index, made at the first rejection
	var feasible []*framework.NodeInfo
	processed := 0
	if s.opts.parallelism <= 1 || n < s.opts.parallelMinNodes {
		feasible = make([]*framework.NodeInfo, 0, want)
		for i := 0; i < n && len(feasible) < want; i++ {
			j := (start + i) % n
			if st := s.profile.RunFiltersWithNominatedPods(state, pod, nodes[j], s.nominator); st.IsSuccess() {
				feasible = append(feasible, nodes[j])
			} else {
				if statuses == nil {
					statuses = make([]*framework.Status, n)
				}
				statuses[j] = st
			}
			processed++
		}
	} else {
		statuses = make([]*framework.Status, n)
		feasible, processed = s.filterParallel(state, pod, nodes, start, want, statuses)
	}
	s.nextStart = (start + processed) % n
	var diagnosis framework.Diagnosis
	if statuses == nil {
		return feasible, diagnosis, nil
	}
	diagnosis = framework.Diagnosis{NodeStatuses: map[string]*framework.Status{}, UnschedulablePlugins: sets.New[string]()}
	for i, st := range statuses {
		if st == nil {
			continue
		}
		if st.Code() == framework.Error {
			return nil, diagnosis, fmt.Errorf("running %s on node %s: %w", st.Plugin(), nodes[i].Node().Name, st.AsError())
		}
		diagnosis.NodeStatuses[nodes[i].Node().Name] = st
		diagnosis.UnschedulablePlugins.Insert(st.Plugin())
	}
	return feasible, diagnosis, nil
}

// filterParallel is findFeasible's loop over s.opts.parallelism goroutines, each taking
// the next chunk of nodes until enough are feasible.
func (s *Scheduler) filterParallel(state *framework.CycleState, pod *framework.PodInfo, nodes []*framework.NodeInfo, start, want int, statuses []*framework.Status) ([]*framework.NodeInfo, int) {
	n := len(nodes)
	const chunk = 16
	pass := make([]bool, n)
	var next, found atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < s.opts.parallelism; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for found.Load() < int64(want) {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					j := (start + i) % n
					if st := s.profile.RunFiltersWithNominatedPods(state, pod, nodes[j], s.nominator); st.IsSuccess() {
						pass[j] = true
						found.Add(1)
					} else {
						statuses[j] = st
					}
				}
			}
		}()
	}
	wg.Wait()
	processed := min(int(next.Load()), n)
	feasible := make([]*framework.NodeInfo, 0, found.Load())
	for i := 0; i < processed; i++ {
		if j := (start + i) % n; pass[j] {
			feasible = append(feasible, nodes[j])
		}
	}
	return feasible, processed
}

// selectHost returns the node with the highest total, at random among equals.
func (s *Scheduler) selectHost(nodes []*framework.NodeInfo, totals []int64) string {
	best, ties := 0, 1
	for i := 1; i < len(nodes); i++ {
		switch {
		case totals[i] > totals[best]:
			best, ties = i, 1
		case totals[i] == totals[best]:
			ties++
			if s.rand.IntN(ties) == 0 {
				best = i
			}
		}
	}
	return nodes[best].Node().Name
}

// bind binds an assumed pod's waiting claims for its node (VolumeBinding's PreBind,
// which waits until they are bound), then writes the pod's binding. On failure the
// assumption is forgotten and the pod backs off, unless it is gone or was bound by
// someone else meanwhile.
func (s *Scheduler) bind(ctx context.Context, qpi *queue.QueuedPodInfo, state *framework.CycleState, node *corev1.Node, assumed *corev1.Pod) {
	defer s.queue.Done(qpi.Key())
	// PreBind: the pod's claims are bound for the node first.
	if err := s.volumes.Bind(ctx, s.client, state, node); err != nil {
		s.cache.ForgetPod(assumed)
		s.queue.MoveAll(framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: assumed})
		if ctx.Err() == nil {
			s.fail(qpi, fmt.Errorf("running PreBind plugin %q: %w", volumebinding.Name, err), nomination{})(ctx)
		}
		return
	}
	err := s.client.CoreV1().Pods(assumed.Namespace).Bind(ctx, &corev1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: assumed.Namespace, Name: assumed.Name, UID: assumed.UID},
		Target:     corev1.ObjectReference{Kind: "Node", Name: assumed.Spec.NodeName},
	}, metav1.CreateOptions{})
	if err == nil {
		s.recorder.Eventf(assumed, corev1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s",
			assumed.Namespace, assumed.Name, assumed.Spec.NodeName)
		return
	}
	s.cache.ForgetPod(assumed)
	s.queue.MoveAll(framework.ClusterEvent{Kind: framework.AssignedPodDelete, Pod: assumed})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) || ctx.Err() != nil {
		return
	}
	s.fail(qpi, fmt.Errorf("binding rejected: %w", err), nomination{})(ctx)
}
