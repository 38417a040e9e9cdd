package framework

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Resource is an amount of each resource the scheduler accounts for.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	// AllowedPodNumber is the pod capacity, set for allocatable amounts only.
	AllowedPodNumber int64
	// Scalar holds every other resource (extended resources, hugepages), by name.
	Scalar map[corev1.ResourceName]int64
}

// Defaults the scheduler assumes, when scoring, for a container that requests no cpu or
// no memory, so that such pods still count on the node they land on (upstream's values).
const (
	DefaultMilliCPURequest int64 = 100               // 0.1 core
	DefaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// NewResource converts a resource list.
func NewResource(rl corev1.ResourceList) Resource {
	var r Resource
	r.AddList(rl)
	return r
}

// AddList adds every quantity of rl.
func (r *Resource) AddList(rl corev1.ResourceList) {
	for name, q := range rl {
		switch name {
		case corev1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case corev1.ResourceMemory:
			r.Memory += q.Value()
		case corev1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		case corev1.ResourcePods:
			r.AllowedPodNumber += q.Value()
		default:
			if r.Scalar == nil {
				r.Scalar = map[corev1.ResourceName]int64{}
			}
			r.Scalar[name] += q.Value()
		}
	}
}

// Add adds o to r.
func (r *Resource) Add(o *Resource) {
	r.MilliCPU += o.MilliCPU
	r.Memory += o.Memory
	r.EphemeralStorage += o.EphemeralStorage
	r.AllowedPodNumber += o.AllowedPodNumber
	for name, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[name] += v
	}
}

// Sub subtracts o from r.
func (r *Resource) Sub(o *Resource) {
	r.MilliCPU -= o.MilliCPU
	r.Memory -= o.Memory
	r.EphemeralStorage -= o.EphemeralStorage
	r.AllowedPodNumber -= o.AllowedPodNumber
	for name, v := range o.Scalar {
		if r.Scalar == nil {
			r.Scalar = map[corev1.ResourceName]int64{}
		}
		r.Scalar[name] -= v
	}
}

// IsZero reports whether r holds nothing.
func (r *Resource) IsZero() bool {
	if r.MilliCPU != 0 || r.Memory != 0 || r.EphemeralStorage != 0 || r.AllowedPodNumber != 0 {
		return false
	}
	for _, v := range r.Scalar {
		if v != 0 {
			return false
		}
	}
	return true
}

// Clone returns a deep copy.
func (r Resource) Clone() Resource {
	if r.Scalar != nil {
		s := make(map[corev1.ResourceName]int64, len(r.Scalar))
		for k, v := range r.Scalar {
			s[k] = v
		}
		r.Scalar = s
	}
	return r
}

// PodRequests returns what pod holds on its node, as upstream computes it: the sum of
// its containers, its sidecars (restartable init containers) and the largest of its
// init containers counted with the sidecars started before it, whichever is larger;
// pod-level requests when set; plus the pod's overhead. Resources the kubelet has
// allocated to a running container (in-place resize) count when larger than its spec.
func PodRequests(pod *corev1.Pod) Resource {
	return NewResource(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{UseStatusResources: true}))
}

var nonZeroDefaults = corev1.ResourceList{
	corev1.ResourceCPU:    *resource.NewMilliQuantity(DefaultMilliCPURequest, resource.DecimalSI),
	corev1.ResourceMemory: *resource.NewQuantity(DefaultMemoryRequest, resource.BinarySI),
}

// NonZeroPodRequests is PodRequests with DefaultMilliCPURequest and
// DefaultMemoryRequest for each container that requests no cpu or no memory; scoring
// uses it so that pods without requests still spread.
func NonZeroPodRequests(pod *corev1.Pod) Resource {
	return nonZeroPodRequests(pod, nil)
}

// nonZeroPodRequests is NonZeroPodRequests, taken from requests (the pod's
// PodRequests) when every container requests both cpu and memory.
func nonZeroPodRequests(pod *corev1.Pod, requests *Resource) Resource {
	if requests != nil && requestsCPUAndMemory(pod.Spec.InitContainers) && requestsCPUAndMemory(pod.Spec.Containers) {
		return Resource{MilliCPU: requests.MilliCPU, Memory: requests.Memory}
	}
	r := NewResource(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{
		UseStatusResources: true, NonMissingContainerRequests: nonZeroDefaults}))
	return Resource{MilliCPU: r.MilliCPU, Memory: r.Memory}
}

func requestsCPUAndMemory(cs []corev1.Container) bool {
	for i := range cs {
		r := cs[i].Resources.Requests
		if _, ok := r[corev1.ResourceCPU]; !ok {
			return false
		}
		if _, ok := r[corev1.ResourceMemory]; !ok {
			return false
		}
	}
	return true
}
