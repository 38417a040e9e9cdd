package schedtest

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podium/podium/internal/scheduler/framework"
)

// PodBuilder builds a pod.
type PodBuilder struct{ p *corev1.Pod }

// Pod starts a pod in namespace default with one container and no requests.
func Pod(name string) *PodBuilder {
	return &PodBuilder{p: &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img"}}},
	}}
}

// Namespace sets the namespace.
func (b *PodBuilder) Namespace(ns string) *PodBuilder { b.p.Namespace = ns; return b }

// Labels adds labels from key, value pairs.
func (b *PodBuilder) Labels(kv ...string) *PodBuilder {
	if b.p.Labels == nil {
		b.p.Labels = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		b.p.Labels[kv[i]] = kv[i+1]
	}
	return b
}

// Req sets the first container's requests from name, quantity pairs.
func (b *PodBuilder) Req(kv ...string) *PodBuilder {
	b.p.Spec.Containers[0].Resources.Requests = List(kv...)
	return b
}

// Container adds a container with requests.
func (b *PodBuilder) Container(kv ...string) *PodBuilder {
	b.p.Spec.Containers = append(b.p.Spec.Containers, corev1.Container{Name: "c" + string(rune('0'+len(b.p.Spec.Containers))), Image: "img",
		Resources: corev1.ResourceRequirements{Requests: List(kv...)}})
	return b
}

// Init adds an init container with requests; sidecar makes it restartable.
func (b *PodBuilder) Init(sidecar bool, kv ...string) *PodBuilder {
	c := corev1.Container{Name: "init" + string(rune('0'+len(b.p.Spec.InitContainers))), Image: "img",
		Resources: corev1.ResourceRequirements{Requests: List(kv...)}}
	if sidecar {
		always := corev1.ContainerRestartPolicyAlways
		c.RestartPolicy = &always
	}
	b.p.Spec.InitContainers = append(b.p.Spec.InitContainers, c)
	return b
}

// Overhead sets the pod overhead.
func (b *PodBuilder) Overhead(kv ...string) *PodBuilder { b.p.Spec.Overhead = List(kv...); return b }

// HostPort adds a host port to the first container.
func (b *PodBuilder) HostPort(ip string, proto corev1.Protocol, port int32) *PodBuilder {
	c := &b.p.Spec.Containers[0]
	c.Ports = append(c.Ports, corev1.ContainerPort{HostIP: ip, Protocol: proto, HostPort: port, ContainerPort: port})
	return b
}

// NodeSelector sets the node selector from key, value pairs.
func (b *PodBuilder) NodeSelector(kv ...string) *PodBuilder {
	b.p.Spec.NodeSelector = map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		b.p.Spec.NodeSelector[kv[i]] = kv[i+1]
	}
	return b
}

// NodeName sets spec.nodeName.
func (b *PodBuilder) NodeName(n string) *PodBuilder { b.p.Spec.NodeName = n; return b }

// Toleration adds a toleration.
func (b *PodBuilder) Toleration(t corev1.Toleration) *PodBuilder {
	b.p.Spec.Tolerations = append(b.p.Spec.Tolerations, t)
	return b
}

func (b *PodBuilder) affinity() *corev1.Affinity {
	if b.p.Spec.Affinity == nil {
		b.p.Spec.Affinity = &corev1.Affinity{}
	}
	return b.p.Spec.Affinity
}

// RequiredNodeAffinity adds a required node selector term.
func (b *PodBuilder) RequiredNodeAffinity(reqs ...corev1.NodeSelectorRequirement) *PodBuilder {
	a := b.affinity()
	if a.NodeAffinity == nil {
		a.NodeAffinity = &corev1.NodeAffinity{}
	}
	if a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
	}
	ns := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	ns.NodeSelectorTerms = append(ns.NodeSelectorTerms, corev1.NodeSelectorTerm{MatchExpressions: reqs})
	return b
}

// PreferredNodeAffinity adds a preferred term of weight w.
func (b *PodBuilder) PreferredNodeAffinity(w int32, reqs ...corev1.NodeSelectorRequirement) *PodBuilder {
	a := b.affinity()
	if a.NodeAffinity == nil {
		a.NodeAffinity = &corev1.NodeAffinity{}
	}
	a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution = append(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution,
		corev1.PreferredSchedulingTerm{Weight: w, Preference: corev1.NodeSelectorTerm{MatchExpressions: reqs}})
	return b
}

// PodAffinity adds a required pod affinity term on topologyKey selecting labels kv.
func (b *PodBuilder) PodAffinity(topologyKey string, kv ...string) *PodBuilder {
	a := b.affinity()
	if a.PodAffinity == nil {
		a.PodAffinity = &corev1.PodAffinity{}
	}
	a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, term(topologyKey, kv...))
	return b
}

// PodAntiAffinity adds a required pod anti-affinity term on topologyKey selecting
// labels kv.
func (b *PodBuilder) PodAntiAffinity(topologyKey string, kv ...string) *PodBuilder {
	a := b.affinity()
	if a.PodAntiAffinity == nil {
		a.PodAntiAffinity = &corev1.PodAntiAffinity{}
	}
	a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, term(topologyKey, kv...))
	return b
}

// AffinityTerm adds a raw required pod affinity (anti when anti is set) term.
func (b *PodBuilder) AffinityTerm(anti bool, t corev1.PodAffinityTerm) *PodBuilder {
	a := b.affinity()
	if anti {
		if a.PodAntiAffinity == nil {
			a.PodAntiAffinity = &corev1.PodAntiAffinity{}
		}
		a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, t)
		return b
	}
	if a.PodAffinity == nil {
		a.PodAffinity = &corev1.PodAffinity{}
	}
	a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution = append(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, t)
	return b
}

func term(topologyKey string, kv ...string) corev1.PodAffinityTerm {
	sel := &metav1.LabelSelector{MatchLabels: map[string]string{}}
	for i := 0; i+1 < len(kv); i += 2 {
		sel.MatchLabels[kv[i]] = kv[i+1]
	}
	return corev1.PodAffinityTerm{TopologyKey: topologyKey, LabelSelector: sel}
}

// Owner sets a controller owner reference with uid.
func (b *PodBuilder) Owner(uid string) *PodBuilder {
	yes := true
	b.p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: types.UID(uid), Controller: &yes}}
	return b
}

// Priority sets the priority.
func (b *PodBuilder) Priority(p int32) *PodBuilder { b.p.Spec.Priority = &p; return b }

// Obj returns the pod.
func (b *PodBuilder) Obj() *corev1.Pod { return b.p }

// Info returns the pod's PodInfo.
func (b *PodBuilder) Info() *framework.PodInfo { return framework.NewPodInfo(b.p) }

// NodeBuilder builds a node.
type NodeBuilder struct{ n *corev1.Node }

// Node starts a Ready node with allocatable 4 cpu, 8Gi memory, 20Gi ephemeral
// storage and 110 pods.
func Node(name string) *NodeBuilder {
	return &NodeBuilder{n: &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{corev1.LabelHostname: name}},
		Status: corev1.NodeStatus{
			Allocatable: List("cpu", "4", "memory", "8Gi", "ephemeral-storage", "20Gi", "pods", "110"),
			Conditions:  []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}}
}

// Alloc replaces allocatable with name, quantity pairs.
func (b *NodeBuilder) Alloc(kv ...string) *NodeBuilder {
	b.n.Status.Allocatable = List(kv...)
	return b
}

// Labels adds labels from key, value pairs.
func (b *NodeBuilder) Labels(kv ...string) *NodeBuilder {
	for i := 0; i+1 < len(kv); i += 2 {
		b.n.Labels[kv[i]] = kv[i+1]
	}
	return b
}

// Taint adds a taint.
func (b *NodeBuilder) Taint(key, value string, effect corev1.TaintEffect) *NodeBuilder {
	b.n.Spec.Taints = append(b.n.Spec.Taints, corev1.Taint{Key: key, Value: value, Effect: effect})
	return b
}

// Unschedulable cordons the node.
func (b *NodeBuilder) Unschedulable() *NodeBuilder { b.n.Spec.Unschedulable = true; return b }

// Ready sets the Ready condition's status.
func (b *NodeBuilder) Ready(s corev1.ConditionStatus) *NodeBuilder {
	b.n.Status.Conditions[0].Status = s
	return b
}

// Obj returns the node.
func (b *NodeBuilder) Obj() *corev1.Node { return b.n }

// Info returns a NodeInfo of the node with pods on it.
func (b *NodeBuilder) Info(pods ...*corev1.Pod) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(b.n)
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			p = p.DeepCopy()
			p.Spec.NodeName = b.n.Name
		}
		ni.AddPod(framework.NewPodInfo(p))
	}
	return ni
}

// List builds a resource list from name, quantity pairs.
func List(kv ...string) corev1.ResourceList {
	l := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return l
}
