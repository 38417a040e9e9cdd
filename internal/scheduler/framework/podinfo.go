package framework

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/util/sets"
)

// PodInfo is a pod with what the plugins need of it worked out once. It is immutable:
// a changed pod gets a new PodInfo.
type PodInfo struct {
	Pod *corev1.Pod
	// Requests is what the pod holds on its node (see PodRequests).
	Requests Resource
	// NonZeroRequests is the cpu and memory scoring counts (see NonZeroPodRequests).
	NonZeroRequests Resource
	// HostPorts are the host ports of its containers and sidecars.
	HostPorts []HostPort
	// RequiredAffinity and RequiredAntiAffinity are its required pod (anti-)affinity
	// terms, with namespaces and selectors resolved.
	RequiredAffinity     []AffinityTerm
	RequiredAntiAffinity []AffinityTerm
	// ParseError is set when a term's selector does not parse; such a term matches
	// nothing, and the pod itself is unschedulable.
	ParseError error
	// SpreadKey names the group the pod spreads with across nodes: its controller's
	// UID, or else its namespace and full label set; "" when it has neither.
	SpreadKey string
}

// NewPodInfo works out a pod's PodInfo. pod must not be modified afterwards.
func NewPodInfo(pod *corev1.Pod) *PodInfo {
	pi := &PodInfo{
		Pod:       pod,
		Requests:  PodRequests(pod),
		HostPorts: PodHostPorts(pod),
		SpreadKey: SpreadKey(pod),
	}
	pi.NonZeroRequests = nonZeroPodRequests(pod, &pi.Requests)
	if a := pod.Spec.Affinity; a != nil {
		if a.PodAffinity != nil {
			pi.RequiredAffinity = pi.parseTerms(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		}
		if a.PodAntiAffinity != nil {
			pi.RequiredAntiAffinity = pi.parseTerms(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution)
		}
	}
	return pi
}

// WithPod returns a copy of pi for pod, a copy of pi.Pod that differs only in fields
// PodInfo does not derive from (spec.nodeName when assuming).
func (pi *PodInfo) WithPod(pod *corev1.Pod) *PodInfo {
	c := *pi
	c.Pod = pod
	return &c
}

// Key returns the pod's namespace/name.
func (pi *PodInfo) Key() string { return PodKey(pi.Pod) }

// PodKey returns a pod's namespace/name.
func PodKey(pod *corev1.Pod) string { return pod.Namespace + "/" + pod.Name }

func (pi *PodInfo) parseTerms(terms []corev1.PodAffinityTerm) []AffinityTerm {
	out := make([]AffinityTerm, 0, len(terms))
	for i := range terms {
		t, err := NewAffinityTerm(pi.Pod, &terms[i])
		if err != nil && pi.ParseError == nil {
			pi.ParseError = err
		}
		out = append(out, t)
	}
	return out
}

// AffinityTerm is a parsed pod affinity term: pods in Namespaces (or in namespaces
// whose labels NamespaceSelector matches) whose labels Selector matches, counted per
// value of the node label TopologyKey.
type AffinityTerm struct {
	Namespaces sets.Set[string]
	// NamespaceSelector is nil when the term names namespaces only.
	NamespaceSelector labels.Selector
	Selector          labels.Selector
	TopologyKey       string
}

// NewAffinityTerm parses term of pod. As upstream: no namespaces and no namespace
// selector mean the pod's own namespace, an empty namespace selector means every
// namespace, and matchLabelKeys / mismatchLabelKeys add `key in (v)` / `key notin (v)`
// for the pod's own label values. A term that does not parse matches nothing.
func NewAffinityTerm(pod *corev1.Pod, term *corev1.PodAffinityTerm) (AffinityTerm, error) {
	t := AffinityTerm{Namespaces: sets.New(term.Namespaces...), TopologyKey: term.TopologyKey, Selector: labels.Nothing()}
	if len(term.Namespaces) == 0 && term.NamespaceSelector == nil {
		t.Namespaces.Insert(pod.Namespace)
	}
	if term.NamespaceSelector != nil {
		sel, err := metav1.LabelSelectorAsSelector(term.NamespaceSelector)
		if err != nil {
			return t, fmt.Errorf("pod %s: namespace selector of an affinity term: %w", PodKey(pod), err)
		}
		t.NamespaceSelector = sel
	}
	sel, err := metav1.LabelSelectorAsSelector(term.LabelSelector)
	if err != nil {
		return t, fmt.Errorf("pod %s: label selector of an affinity term: %w", PodKey(pod), err)
	}
	if term.LabelSelector != nil {
		for _, key := range term.MatchLabelKeys {
			if v, ok := pod.Labels[key]; ok {
				r, err := labels.NewRequirement(key, selection.In, []string{v})
				if err != nil {
					return t, fmt.Errorf("pod %s: matchLabelKeys of an affinity term: %w", PodKey(pod), err)
				}
				sel = sel.Add(*r)
			}
		}
		for _, key := range term.MismatchLabelKeys {
			if v, ok := pod.Labels[key]; ok {
				r, err := labels.NewRequirement(key, selection.NotIn, []string{v})
				if err != nil {
					return t, fmt.Errorf("pod %s: mismatchLabelKeys of an affinity term: %w", PodKey(pod), err)
				}
				sel = sel.Add(*r)
			}
		}
	}
	t.Selector = sel
	return t, nil
}

// Matches reports whether pod, whose namespace has the labels nsLabels, is one of the
// pods the term selects.
func (t *AffinityTerm) Matches(pod *corev1.Pod, nsLabels labels.Set) bool {
	if !t.Namespaces.Has(pod.Namespace) && (t.NamespaceSelector == nil || !t.NamespaceSelector.Matches(nsLabels)) {
		return false
	}
	return t.Selector.Matches(labels.Set(pod.Labels))
}

// HostPort is a host port a pod's container binds.
type HostPort struct {
	IP       string // "0.0.0.0" for every address
	Protocol corev1.Protocol
	Port     int32
}

// PodHostPorts returns the host ports of pod's containers and sidecars, with the
// defaults filled in (every address, TCP).
func PodHostPorts(pod *corev1.Pod) []HostPort {
	var out []HostPort
	add := func(cs []corev1.Container, sidecarsOnly bool) {
		for i := range cs {
			c := &cs[i]
			if sidecarsOnly && (c.RestartPolicy == nil || *c.RestartPolicy != corev1.ContainerRestartPolicyAlways) {
				continue
			}
			for _, p := range c.Ports {
				if p.HostPort <= 0 {
					continue
				}
				hp := HostPort{IP: p.HostIP, Protocol: p.Protocol, Port: p.HostPort}
				if hp.IP == "" || hp.IP == "::" {
					hp.IP = "0.0.0.0"
				}
				if hp.Protocol == "" {
					hp.Protocol = corev1.ProtocolTCP
				}
				out = append(out, hp)
			}
		}
	}
	add(pod.Spec.InitContainers, true)
	add(pod.Spec.Containers, false)
	return out
}

// SpreadKey returns the group pod spreads with: "uid:" and its controller's UID, or
// "labels:" with its namespace and labels when it has no controller, or "" when it has
// no labels either.
func SpreadKey(pod *corev1.Pod) string {
	if ref := metav1.GetControllerOfNoCopy(pod); ref != nil {
		return "uid:" + string(ref.UID)
	}
	if len(pod.Labels) == 0 {
		return ""
	}
	return "labels:" + pod.Namespace + "/" + labels.Set(pod.Labels).String()
}

// PodPriority returns the pod's priority, 0 when unset.
func PodPriority(pod *corev1.Pod) int32 {
	if pod.Spec.Priority != nil {
		return *pod.Spec.Priority
	}
	return 0
}
