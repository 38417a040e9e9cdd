package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
)

// NodeInfo is a node with the pods placed on it, assumed ones included, and what they
// add up to. The scheduler's cache owns and changes NodeInfos; plugins get clones in a
// snapshot and must treat them, and everything they point to, as read-only.
type NodeInfo struct {
	node *corev1.Node
	// Pods are the pods on the node, in no particular order.
	Pods []*PodInfo
	// PodsWithRequiredAntiAffinity are the pods of Pods with required anti-affinity.
	PodsWithRequiredAntiAffinity []*PodInfo
	// Requested is the sum of the pods' Requests.
	Requested Resource
	// NonZeroRequested is the sum of the pods' NonZeroRequests.
	NonZeroRequested Resource
	// Allocatable is the node's allocatable resources, pods included.
	Allocatable Resource
	// UsedPorts are the host ports the pods bind.
	UsedPorts HostPortInfo
	// SpreadCounts counts the pods by SpreadKey.
	SpreadCounts map[string]int
	// Generation increases with every change; the cache sets it.
	Generation int64
}

// NewNodeInfo returns a NodeInfo with pods and no node.
func NewNodeInfo(pods ...*PodInfo) *NodeInfo {
	ni := &NodeInfo{UsedPorts: HostPortInfo{}, SpreadCounts: map[string]int{}}
	for _, p := range pods {
		ni.AddPod(p)
	}
	return ni
}

// Node returns the node, nil when only its pods are known (a node deleted with pods
// still bound to it, or pods seen before their node).
func (ni *NodeInfo) Node() *corev1.Node { return ni.node }

// SetNode sets the node and its allocatable resources.
func (ni *NodeInfo) SetNode(node *corev1.Node) {
	ni.node = node
	ni.Allocatable = NewResource(node.Status.Allocatable)
}

// RemoveNode forgets the node, keeping its pods.
func (ni *NodeInfo) RemoveNode() {
	ni.node = nil
	ni.Allocatable = Resource{}
}

// AddPod accounts for a pod placed on the node.
func (ni *NodeInfo) AddPod(pi *PodInfo) {
	ni.Pods = append(ni.Pods, pi)
	if len(pi.RequiredAntiAffinity) > 0 {
		ni.PodsWithRequiredAntiAffinity = append(ni.PodsWithRequiredAntiAffinity, pi)
	}
	ni.Requested.Add(&pi.Requests)
	ni.NonZeroRequested.Add(&pi.NonZeroRequests)
	for _, hp := range pi.HostPorts {
		ni.UsedPorts.Add(hp)
	}
	if pi.SpreadKey != "" {
		ni.SpreadCounts[pi.SpreadKey]++
	}
}

// RemovePod takes back what AddPod accounted for the pod with pod's UID.
func (ni *NodeInfo) RemovePod(pod *corev1.Pod) error {
	i := indexOf(ni.Pods, pod)
	if i < 0 {
		return fmt.Errorf("pod %s is not on node %s", PodKey(pod), ni.name())
	}
	pi := ni.Pods[i]
	ni.Pods = removeAt(ni.Pods, i)
	if j := indexOf(ni.PodsWithRequiredAntiAffinity, pod); j >= 0 {
		ni.PodsWithRequiredAntiAffinity = removeAt(ni.PodsWithRequiredAntiAffinity, j)
	}
	ni.Requested.Sub(&pi.Requests)
	ni.NonZeroRequested.Sub(&pi.NonZeroRequests)
	for _, hp := range pi.HostPorts {
		ni.UsedPorts.Remove(hp)
	}
	if pi.SpreadKey != "" {
		if ni.SpreadCounts[pi.SpreadKey]--; ni.SpreadCounts[pi.SpreadKey] <= 0 {
			delete(ni.SpreadCounts, pi.SpreadKey)
		}
	}
	return nil
}

func (ni *NodeInfo) name() string {
	if ni.node == nil {
		return "<unknown>"
	}
	return ni.node.Name
}

func indexOf(pods []*PodInfo, pod *corev1.Pod) int {
	for i, p := range pods {
		if p.Pod.UID == pod.UID {
			return i
		}
	}
	return -1
}

// removeAt removes element i in place, without keeping the order. Clones have arrays
// of their own.
func removeAt(pods []*PodInfo, i int) []*PodInfo {
	last := len(pods) - 1
	pods[i] = pods[last]
	pods[last] = nil
	return pods[:last]
}

// Clone returns a copy that later changes to ni do not affect. PodInfos are shared.
func (ni *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		node:                         ni.node,
		Pods:                         append([]*PodInfo(nil), ni.Pods...),
		PodsWithRequiredAntiAffinity: append([]*PodInfo(nil), ni.PodsWithRequiredAntiAffinity...),
		Requested:                    ni.Requested.Clone(),
		NonZeroRequested:             ni.NonZeroRequested.Clone(),
		Allocatable:                  ni.Allocatable.Clone(),
		UsedPorts:                    ni.UsedPorts.Clone(),
		SpreadCounts:                 make(map[string]int, len(ni.SpreadCounts)),
		Generation:                   ni.Generation,
	}
	for k, v := range ni.SpreadCounts {
		c.SpreadCounts[k] = v
	}
	return c
}

// HostPortInfo counts the host ports in use on a node, by protocol and port, then by
// address.
type HostPortInfo map[protocolPort]map[string]int

type protocolPort struct {
	protocol corev1.Protocol
	port     int32
}

// Add records hp in use.
func (h HostPortInfo) Add(hp HostPort) {
	k := protocolPort{hp.Protocol, hp.Port}
	if h[k] == nil {
		h[k] = map[string]int{}
	}
	h[k][hp.IP]++
}

// Remove takes back one Add of hp.
func (h HostPortInfo) Remove(hp HostPort) {
	k := protocolPort{hp.Protocol, hp.Port}
	ips := h[k]
	if ips == nil {
		return
	}
	if ips[hp.IP]--; ips[hp.IP] <= 0 {
		delete(ips, hp.IP)
	}
	if len(ips) == 0 {
		delete(h, k)
	}
}

// Conflicts reports whether hp cannot be bound: the same protocol and port is in use on
// the same address, or either side binds every address (0.0.0.0).
func (h HostPortInfo) Conflicts(hp HostPort) bool {
	ips := h[protocolPort{hp.Protocol, hp.Port}]
	if len(ips) == 0 {
		return false
	}
	if hp.IP == "0.0.0.0" {
		return true
	}
	return ips[hp.IP] > 0 || ips["0.0.0.0"] > 0
}

// Clone returns a deep copy.
func (h HostPortInfo) Clone() HostPortInfo {
	c := make(HostPortInfo, len(h))
	for k, ips := range h {
		m := make(map[string]int, len(ips))
		for ip, n := range ips {
			m[ip] = n
		}
		c[k] = m
	}
	return c
}
