package scheduler

import (
	"slices"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podium/podium/internal/scheduler/framework"
)

// nominator remembers which pending pods are nominated to which node: preemptors
// waiting for their victims to leave. It learns nominations from two sources: the
// scheduler's own (nominate, as soon as it decides, before the pod's status says so)
// and the informer's status.nominatedNodeName (observe). A nomination ends when the pod
// is bound, deleted or no longer pending (forget), or its nominatedNodeName is cleared.
// It is safe for concurrent use.
type nominator struct {
	mu sync.RWMutex // guards byNode and nodeOf; count is written under it
	// byNode holds the nominated pods of each node.
	byNode map[string][]*framework.PodInfo
	// nodeOf is each nominated pod's node, by UID.
	nodeOf map[types.UID]string
	// count is len(nodeOf), read without the lock so that filtering a node where
	// nothing is nominated, the common case, does not take it.
	count atomic.Int64
}

var _ framework.PodNominator = (*nominator)(nil)

func newNominator() *nominator {
	return &nominator{byNode: map[string][]*framework.PodInfo{}, nodeOf: map[types.UID]string{}}
}

// NominatedPodsForNode returns a copy of the pods nominated to node.
func (n *nominator) NominatedPodsForNode(node string) []*framework.PodInfo {
	if n.count.Load() == 0 {
		return nil
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	if len(n.byNode[node]) == 0 {
		return nil
	}
	return slices.Clone(n.byNode[node])
}

// nominatedNode returns the node pod is nominated to, "" for none.
func (n *nominator) nominatedNode(pod *corev1.Pod) string {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.nodeOf[pod.UID]
}

// nominate records pi's nomination to node, replacing any it had; node "" clears it.
func (n *nominator) nominate(pi *framework.PodInfo, node string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.forgetLocked(pi.Pod.UID)
	if node != "" {
		n.addLocked(pi, node)
	}
}

// observe takes a pending pod's nomination from the informer (old is nil for an add).
// The informer's value wins when it is set on an add or when it changed (someone set
// or cleared it); otherwise the scheduler's own, which the status may not show yet, is
// kept, with the pod's new PodInfo.
func (n *nominator) observe(old, pod *corev1.Pod) {
	node := pod.Status.NominatedNodeName
	n.mu.Lock()
	defer n.mu.Unlock()
	cur, known := n.nodeOf[pod.UID]
	if !known && node == "" {
		return
	}
	if known && ((old == nil && node == "") || (old != nil && old.Status.NominatedNodeName == node)) {
		node = cur
	}
	n.forgetLocked(pod.UID)
	if node != "" {
		n.addLocked(framework.NewPodInfo(pod), node)
	}
}

// forget ends pod's nomination, if any.
func (n *nominator) forget(pod *corev1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.forgetLocked(pod.UID)
}

func (n *nominator) addLocked(pi *framework.PodInfo, node string) {
	n.nodeOf[pi.Pod.UID] = node
	n.byNode[node] = append(n.byNode[node], pi)
	n.count.Store(int64(len(n.nodeOf)))
}

func (n *nominator) forgetLocked(uid types.UID) {
	node, ok := n.nodeOf[uid]
	if !ok {
		return
	}
	delete(n.nodeOf, uid)
	n.count.Store(int64(len(n.nodeOf)))
	pods := n.byNode[node]
	for i, p := range pods {
		if p.Pod.UID == uid {
			pods = slices.Delete(pods, i, i+1)
			break
		}
	}
	if len(pods) == 0 {
		delete(n.byNode, node)
	} else {
		n.byNode[node] = pods
	}
}
