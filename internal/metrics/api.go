package metrics

import (
	"context"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/apiserver"
	"github.com/podium/podium/internal/registry"
)

// Cluster is what the metrics resources read of the cluster: its nodes and pods, for
// their names and labels. The objects are shared and must not be changed.
type Cluster interface {
	// Nodes returns every node; Node one of them, false when there is none.
	Nodes() []*corev1.Node
	Node(name string) (*corev1.Node, bool)
	// Pods returns the pods of a namespace ("" for all); Pod one of them.
	Pods(namespace string) []*corev1.Pod
	Pod(namespace, name string) (*corev1.Pod, bool)
}

var (
	nodesResource = metricsv1beta1.Resource("nodes")
	podsResource  = metricsv1beta1.Resource("pods")
)

// columns are a metrics Table's, as metrics-server's: the name, each resource's usage,
// and the window.
var columns = []metav1.TableColumnDefinition{
	{Name: "Name", Type: "string", Format: "name", Description: "Name of the resource"},
	{Name: "cpu", Type: "string", Format: "quantity"},
	{Name: "memory", Type: "string", Format: "quantity"},
	{Name: "Window", Type: "string", Format: "duration"},
}

// row is a Table row of usage.
func row(name string, usage corev1.ResourceList, window metav1.Duration) []interface{} {
	cpu, mem := usage[corev1.ResourceCPU], usage[corev1.ResourceMemory]
	return []interface{}{name, cpu.String(), mem.String(), window.Duration.String()}
}

// NodeMetrics serves metrics.k8s.io/v1beta1 nodes: each node's usage, once two readings
// of it are stored.
type NodeMetrics struct {
	store   *Store
	cluster Cluster
	clock   clock.PassiveClock
}

var _ apiserver.ReadOnlyResource = (*NodeMetrics)(nil)

// NewNodeMetrics returns the NodeMetrics of the nodes of cluster, from store.
func NewNodeMetrics(store *Store, cluster Cluster, clk clock.PassiveClock) *NodeMetrics {
	return &NodeMetrics{store: store, cluster: cluster, clock: clk}
}

// Info implements apiserver.ReadOnlyResource.
func (m *NodeMetrics) Info() registry.Info {
	return registry.Info{Group: metricsv1beta1.GroupName, Version: "v1beta1", Kind: "NodeMetrics", ListKind: "NodeMetricsList", Resource: "nodes"}
}

// New implements apiserver.ReadOnlyResource.
func (m *NodeMetrics) New() runtime.Object { return &metricsv1beta1.NodeMetrics{} }

// NewList implements apiserver.ReadOnlyResource.
func (m *NodeMetrics) NewList() runtime.Object { return &metricsv1beta1.NodeMetricsList{} }

// Get implements apiserver.ReadOnlyResource.
func (m *NodeMetrics) Get(_ context.Context, _, name string) (runtime.Object, error) {
	n, ok := m.cluster.Node(name)
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "nodes"}, name)
	}
	nm, ok := m.metrics(n)
	if !ok {
		return nil, apierrors.NewNotFound(nodesResource, name)
	}
	return nm, nil
}

// List implements apiserver.ReadOnlyResource: the nodes with usage, by name.
func (m *NodeMetrics) List(context.Context, string) ([]runtime.Object, error) {
	nodes := slices.Clone(m.cluster.Nodes())
	slices.SortFunc(nodes, func(a, b *corev1.Node) int { return strings.Compare(a.Name, b.Name) })
	out := []runtime.Object{}
	for _, n := range nodes {
		if nm, ok := m.metrics(n); ok {
			out = append(out, nm)
		}
	}
	return out, nil
}

func (m *NodeMetrics) metrics(n *corev1.Node) (*metricsv1beta1.NodeMetrics, bool) {
	u, ok := m.store.Node(n.Name)
	if !ok {
		return nil, false
	}
	return &metricsv1beta1.NodeMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: maps.Clone(n.Labels), CreationTimestamp: metav1.NewTime(m.clock.Now())},
		Timestamp:  metav1.NewTime(u.Timestamp),
		Window:     metav1.Duration{Duration: u.Window},
		Usage:      u.Resources,
	}, true
}

// Columns implements apiserver.ReadOnlyResource.
func (m *NodeMetrics) Columns() []metav1.TableColumnDefinition { return slices.Clone(columns) }

// Row implements apiserver.ReadOnlyResource.
func (m *NodeMetrics) Row(obj runtime.Object) []interface{} {
	nm := obj.(*metricsv1beta1.NodeMetrics)
	return row(nm.Name, nm.Usage, nm.Window)
}

// PodMetrics serves metrics.k8s.io/v1beta1 pods: each pod's containers' usage, once two
// readings of each of its running containers are stored.
type PodMetrics struct {
	store   *Store
	cluster Cluster
	clock   clock.PassiveClock
}

var _ apiserver.ReadOnlyResource = (*PodMetrics)(nil)

// NewPodMetrics returns the PodMetrics of the pods of cluster, from store.
func NewPodMetrics(store *Store, cluster Cluster, clk clock.PassiveClock) *PodMetrics {
	return &PodMetrics{store: store, cluster: cluster, clock: clk}
}

// Info implements apiserver.ReadOnlyResource.
func (m *PodMetrics) Info() registry.Info {
	return registry.Info{Group: metricsv1beta1.GroupName, Version: "v1beta1", Kind: "PodMetrics", ListKind: "PodMetricsList", Resource: "pods", Namespaced: true}
}

// New implements apiserver.ReadOnlyResource.
func (m *PodMetrics) New() runtime.Object { return &metricsv1beta1.PodMetrics{} }

// NewList implements apiserver.ReadOnlyResource.
func (m *PodMetrics) NewList() runtime.Object { return &metricsv1beta1.PodMetricsList{} }

// Get implements apiserver.ReadOnlyResource.
func (m *PodMetrics) Get(_ context.Context, namespace, name string) (runtime.Object, error) {
	p, ok := m.cluster.Pod(namespace, name)
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, name)
	}
	pm, ok := m.metrics(p)
	if !ok {
		return nil, apierrors.NewNotFound(podsResource, namespace+"/"+name)
	}
	return pm, nil
}

// List implements apiserver.ReadOnlyResource: the pods with usage, by namespace and
// name.
func (m *PodMetrics) List(_ context.Context, namespace string) ([]runtime.Object, error) {
	pods := slices.Clone(m.cluster.Pods(namespace))
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	out := []runtime.Object{}
	for _, p := range pods {
		if pm, ok := m.metrics(p); ok {
			out = append(out, pm)
		}
	}
	return out, nil
}

func (m *PodMetrics) metrics(p *corev1.Pod) (*metricsv1beta1.PodMetrics, bool) {
	containers, u, ok := m.store.Pod(types.NamespacedName{Namespace: p.Namespace, Name: p.Name})
	if !ok {
		return nil, false
	}
	pm := &metricsv1beta1.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: maps.Clone(p.Labels), CreationTimestamp: metav1.NewTime(m.clock.Now())},
		Timestamp:  metav1.NewTime(u.Timestamp),
		Window:     metav1.Duration{Duration: u.Window},
		Containers: []metricsv1beta1.ContainerMetrics{},
	}
	for _, c := range containers {
		pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{Name: c.Name, Usage: c.Resources})
	}
	return pm, true
}

// Columns implements apiserver.ReadOnlyResource.
func (m *PodMetrics) Columns() []metav1.TableColumnDefinition { return slices.Clone(columns) }

// Row implements apiserver.ReadOnlyResource: the pod's usage is its containers' summed.
func (m *PodMetrics) Row(obj runtime.Object) []interface{} {
	pm := obj.(*metricsv1beta1.PodMetrics)
	var cpu, mem resource.Quantity
	for _, c := range pm.Containers {
		cpu.Add(c.Usage[corev1.ResourceCPU])
		mem.Add(c.Usage[corev1.ResourceMemory])
	}
	return row(pm.Name, corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: mem}, pm.Window)
}
