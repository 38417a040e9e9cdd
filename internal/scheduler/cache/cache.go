package cache

import (
	"fmt"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podium/podium/internal/scheduler/framework"
)

// Cache holds the NodeInfos of the cluster. It is safe for concurrent use.
type Cache struct {
	mu sync.Mutex // guards nodes, pods, generation and membership
	// nodes are the NodeInfos by node name; an entry with no Node holds pods bound to
	// a node that is gone or not yet seen.
	nodes map[string]*framework.NodeInfo
	pods  map[types.UID]*podState
	// generation is the last Generation given to a NodeInfo.
	generation int64
	// membership changes whenever an entry is added or removed or gains or loses its
	// Node, so that a snapshot knows to rebuild its node list.
	membership int64
}

type podState struct {
	info *framework.PodInfo
	// assumed: placed by the scheduler and not yet seen bound.
	assumed bool
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{nodes: map[string]*framework.NodeInfo{}, pods: map[types.UID]*podState{}}
}

func (c *Cache) touch(ni *framework.NodeInfo) {
	c.generation++
	ni.Generation = c.generation
}

func (c *Cache) nodeInfo(name string) *framework.NodeInfo {
	ni, ok := c.nodes[name]
	if !ok {
		ni = framework.NewNodeInfo()
		c.nodes[name] = ni
		c.membership++
	}
	return ni
}

// AddNode adds or replaces a node.
func (c *Cache) AddNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni := c.nodeInfo(node.Name)
	if ni.Node() == nil {
		c.membership++
	}
	ni.SetNode(node)
	c.touch(ni)
}

// UpdateNode replaces a node.
func (c *Cache) UpdateNode(node *corev1.Node) { c.AddNode(node) }

// RemoveNode removes a node; pods still bound to it stay accounted for until they go.
func (c *Cache) RemoveNode(node *corev1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni, ok := c.nodes[node.Name]
	if !ok {
		return
	}
	c.membership++
	if len(ni.Pods) == 0 {
		delete(c.nodes, node.Name)
		return
	}
	ni.RemoveNode()
	c.touch(ni)
}

func (c *Cache) place(pi *framework.PodInfo) {
	ni := c.nodeInfo(pi.Pod.Spec.NodeName)
	ni.AddPod(pi)
	c.touch(ni)
}

func (c *Cache) unplace(pi *framework.PodInfo) {
	name := pi.Pod.Spec.NodeName
	ni, ok := c.nodes[name]
	if !ok {
		return
	}
	_ = ni.RemovePod(pi.Pod)
	c.touch(ni)
	if len(ni.Pods) == 0 && ni.Node() == nil {
		delete(c.nodes, name)
		c.membership++
	}
}

// AddPod records a pod the informer shows bound to a node. An assumed pod is confirmed;
// when it landed elsewhere than assumed, moved is the pod as assumed, whose node now
// has room again.
func (c *Cache) AddPod(pod *corev1.Pod) (moved *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var pi *framework.PodInfo
	if st, ok := c.pods[pod.UID]; ok {
		switch {
		case st.assumed && st.info.Pod.Spec.NodeName != pod.Spec.NodeName:
			moved = st.info.Pod
		case st.assumed && labels.Equals(st.info.Pod.Labels, pod.Labels) && len(pod.Status.ContainerStatuses) == 0:
			// Confirmed as assumed: the pod differs only in what binding sets.
			pi = st.info.WithPod(pod)
		}
		c.unplace(st.info)
	}
	if pi == nil {
		pi = framework.NewPodInfo(pod)
	}
	c.pods[pod.UID] = &podState{info: pi}
	c.place(pi)
	return moved
}

// UpdatePod replaces a bound pod (its labels or resources may have changed).
func (c *Cache) UpdatePod(pod *corev1.Pod) { c.AddPod(pod) }

// RemovePod forgets a pod that was deleted or finished, assumed or not.
func (c *Cache) RemovePod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.pods[pod.UID]; ok {
		c.unplace(st.info)
		delete(c.pods, pod.UID)
	}
}

// AssumePod places pi.Pod, whose spec.nodeName names the chosen node, before its
// binding is done.
func (c *Cache) AssumePod(pi *framework.PodInfo) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pi.Pod.UID]; ok {
		return fmt.Errorf("pod %s is already in the scheduler cache", pi.Key())
	}
	c.pods[pi.Pod.UID] = &podState{info: pi, assumed: true}
	c.place(pi)
	return nil
}

// ForgetPod takes back an assumption whose binding failed. It does nothing when the
// pod is not assumed (the informer already showed it bound).
func (c *Cache) ForgetPod(pod *corev1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.pods[pod.UID]; ok && st.assumed {
		c.unplace(st.info)
		delete(c.pods, pod.UID)
	}
}

// IsAssumed reports whether pod is assumed and not yet seen bound.
func (c *Cache) IsAssumed(pod *corev1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.pods[pod.UID]
	return ok && st.assumed
}

// Has reports whether the cache holds pod, bound or assumed.
func (c *Cache) Has(pod *corev1.Pod) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.pods[pod.UID]
	return ok
}

// Snapshot is a scheduling cycle's copy of the cache. It belongs to one goroutine.
type Snapshot struct {
	nodes map[string]*framework.NodeInfo
	// list holds the NodeInfos that have a Node, by name; index locates them in it.
	list       []*framework.NodeInfo
	index      map[string]int
	generation int64
	membership int64
}

// NewSnapshot returns an empty snapshot, for UpdateSnapshot to fill.
func NewSnapshot() *Snapshot {
	return &Snapshot{nodes: map[string]*framework.NodeInfo{}, index: map[string]int{}, membership: -1}
}

// List returns the nodes, by name. The caller must not change the slice.
func (s *Snapshot) List() []*framework.NodeInfo { return s.list }

// Get returns a node's NodeInfo, nil when there is none.
func (s *Snapshot) Get(name string) *framework.NodeInfo { return s.nodes[name] }

// UpdateSnapshot brings s up to date, cloning only the NodeInfos changed since s was
// last updated.
func (c *Cache) UpdateSnapshot(s *Snapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.generation == c.generation && s.membership == c.membership {
		return
	}
	rebuild := s.membership != c.membership
	for name, ni := range c.nodes {
		if ni.Generation <= s.generation {
			continue
		}
		clone := ni.Clone()
		s.nodes[name] = clone
		if i, ok := s.index[name]; ok && !rebuild {
			s.list[i] = clone
		}
	}
	if rebuild {
		for name := range s.nodes {
			if _, ok := c.nodes[name]; !ok {
				delete(s.nodes, name)
			}
		}
		s.list = s.list[:0]
		for _, ni := range s.nodes {
			if ni.Node() != nil {
				s.list = append(s.list, ni)
			}
		}
		sort.Slice(s.list, func(i, j int) bool { return s.list[i].Node().Name < s.list[j].Node().Name })
		clear(s.index)
		for i, ni := range s.list {
			s.index[ni.Node().Name] = i
		}
	}
	s.generation, s.membership = c.generation, c.membership
}
