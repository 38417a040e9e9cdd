package pod

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kubectl/pkg/util/qos"

	"github.com/podium/podium/internal/registry"
)

// strategy is the Pod behaviour. It holds no state.
type strategy struct{}

var (
	_ registry.Strategy          = (*strategy)(nil)
	_ registry.GracefulDeleter   = (*strategy)(nil)
	_ registry.SubresourceWriter = (*strategy)(nil)
)

// New returns the Pod strategy. It also implements registry.GracefulDeleter.
//
// Every method that takes a runtime.Object expects a *corev1.Pod, as returned by
// New(), and panics on anything else.
func New() registry.Strategy {
	return &strategy{}
}

func asPod(obj runtime.Object) *corev1.Pod {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		panic(fmt.Sprintf("pod strategy: got %T, want *v1.Pod", obj))
	}
	return pod
}

func (*strategy) Info() registry.Info {
	return registry.Info{
		Group:        "",
		Version:      "v1",
		Kind:         "Pod",
		ListKind:     "PodList",
		Resource:     "pods",
		Singular:     "pod",
		ShortNames:   []string{"po"},
		Categories:   []string{"all"},
		Namespaced:   true,
		Subresources: []string{"status", "binding", "eviction", "log", "exec", "attach", "portforward", "ephemeralcontainers", "resize", "proxy"},
	}
}

func (*strategy) New() runtime.Object     { return &corev1.Pod{} }
func (*strategy) NewList() runtime.Object { return &corev1.PodList{} }

func (*strategy) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate drops any status the client sent: a new pod is Pending, with the
// QoS class its (defaulted) resources give, and, while scheduling gates remain, a
// PodScheduled=False condition saying so. Its generation starts at 1.
func (*strategy) PrepareForCreate(obj runtime.Object) {
	pod := asPod(obj)
	pod.Generation = 1
	// The QoS class is Default's to fill: mutating admission (LimitRanger's defaults)
	// runs after this and may change the pod's resources.
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending}
	if len(pod.Spec.SchedulingGates) > 0 {
		pod.Status.Conditions = []corev1.PodCondition{{
			Type:    corev1.PodScheduled,
			Status:  corev1.ConditionFalse,
			Reason:  corev1.PodReasonSchedulingGated,
			Message: "Scheduling is blocked due to non-empty scheduling gates",
		}}
	}
}

// PrepareForUpdate keeps the stored status and generation, and bumps the generation
// when the spec, once defaulted, differs from the stored one.
func (*strategy) PrepareForUpdate(obj, old runtime.Object) {
	pod, oldPod := asPod(obj), asPod(old)
	pod.Status = *oldPod.Status.DeepCopy()
	pod.Generation = oldPod.Generation
	defaulted := pod.DeepCopy()
	setDefaults(defaulted)
	if !equality.Semantic.DeepEqual(defaulted.Spec, oldPod.Spec) {
		pod.Generation = oldPod.Generation + 1
	}
}

// PrepareForStatusUpdate keeps everything but the status and the metadata a status
// writer may touch: the spec, generation, deletion timestamp and owner references
// come from the stored pod. An empty QoS class and zero observedGeneration values
// (the pod's and its conditions') are taken from the stored status, since old
// clients drop them.
func (*strategy) PrepareForStatusUpdate(obj, old runtime.Object) {
	pod, oldPod := asPod(obj), asPod(old)
	kept := oldPod.DeepCopy()
	pod.Spec = kept.Spec
	pod.Generation = kept.Generation
	pod.DeletionTimestamp = kept.DeletionTimestamp
	pod.OwnerReferences = kept.OwnerReferences
	if pod.Status.QOSClass == "" {
		pod.Status.QOSClass = kept.Status.QOSClass
	}
	if pod.Status.ObservedGeneration == 0 {
		pod.Status.ObservedGeneration = oldPod.Status.ObservedGeneration
	}
	// Conditions may repeat a type, so old values are matched per type in order.
	oldGenerations := map[corev1.PodConditionType][]int64{}
	for _, c := range oldPod.Status.Conditions {
		oldGenerations[c.Type] = append(oldGenerations[c.Type], c.ObservedGeneration)
	}
	for i := range pod.Status.Conditions {
		c := &pod.Status.Conditions[i]
		var previous int64
		if gens := oldGenerations[c.Type]; len(gens) > 0 {
			previous, oldGenerations[c.Type] = gens[0], gens[1:]
		}
		if c.ObservedGeneration == 0 {
			c.ObservedGeneration = previous
		}
	}
}

// PrepareForSubresourceUpdate takes only the ephemeral containers of a write through
// ephemeralcontainers, and only the containers' resources of one through resize: the
// rest is the stored pod's. A change bumps the generation.
func (*strategy) PrepareForSubresourceUpdate(subresource string, obj, old runtime.Object) {
	pod, oldPod := asPod(obj), asPod(old)
	if subresource == "resize" {
		prepareResize(pod, oldPod)
		return
	}
	kept := oldPod.DeepCopy()
	kept.ResourceVersion = pod.ResourceVersion
	kept.Spec.EphemeralContainers = pod.Spec.EphemeralContainers
	*pod = *kept
	defaulted := pod.DeepCopy()
	setDefaults(defaulted)
	if !equality.Semantic.DeepEqual(defaulted.Spec.EphemeralContainers, oldPod.Spec.EphemeralContainers) {
		pod.Generation = oldPod.Generation + 1
	}
}

// ValidateSubresourceUpdate checks a write through ephemeralcontainers (the pod is
// valid, and the ephemeral containers it had are all there, unchanged) or resize.
func (*strategy) ValidateSubresourceUpdate(subresource string, obj, old runtime.Object) field.ErrorList {
	if subresource == "resize" {
		return validateResize(asPod(obj), asPod(old))
	}
	return validateEphemeralContainersUpdate(asPod(obj), asPod(old))
}

func (*strategy) Default(obj runtime.Object) {
	setDefaults(asPod(obj))
}

func (*strategy) Validate(obj runtime.Object) field.ErrorList {
	return validateCreate(asPod(obj))
}

func (*strategy) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateUpdate(asPod(obj), asPod(old))
}

func (*strategy) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return validateStatusUpdate(asPod(obj), asPod(old))
}

// Fields returns upstream's pod field-selector set.
func (*strategy) Fields(obj runtime.Object) fields.Set {
	pod := asPod(obj)
	set := registry.MetaFields(pod, true)
	set["spec.nodeName"] = pod.Spec.NodeName
	set["spec.restartPolicy"] = string(pod.Spec.RestartPolicy)
	set["spec.schedulerName"] = pod.Spec.SchedulerName
	set["spec.serviceAccountName"] = pod.Spec.ServiceAccountName
	set["spec.hostNetwork"] = strconv.FormatBool(pod.Spec.HostNetwork)
	set["status.phase"] = string(pod.Status.Phase)
	set["status.podIP"] = podIP(pod)
	set["status.nominatedNodeName"] = pod.Status.NominatedNodeName
	return set
}

// podIP returns the pod's primary IP, or "".
func podIP(pod *corev1.Pod) string {
	if len(pod.Status.PodIPs) > 0 {
		return pod.Status.PodIPs[0].IP
	}
	return pod.Status.PodIP
}

// CheckGracefulDelete decides how long deleting pod waits for its containers to stop.
//
// A pod is removed at once when opts asks for 0 seconds, when it is not bound to a
// node (no kubelet runs it), or when it has already finished. Otherwise the period is
// opts.GracePeriodSeconds if given, else spec.terminationGracePeriodSeconds (30 when
// unset); a negative period counts as 1.
//
// A pod already being deleted may only have its period shortened. The result is
// then never longer than its deletionGracePeriodSeconds: equal means nothing
// changes; shorter means the caller must move deletionTimestamp earlier by the
// difference. A pod marked for deletion without a recorded period is removed at once.
func (*strategy) CheckGracefulDelete(obj runtime.Object, opts *metav1.DeleteOptions) (int64, bool) {
	pod := asPod(obj)
	var requested *int64
	if opts != nil && opts.GracePeriodSeconds != nil {
		if *opts.GracePeriodSeconds == 0 {
			return 0, false
		}
		r := max(*opts.GracePeriodSeconds, 1)
		requested = &r
	}
	if pod.DeletionTimestamp != nil {
		current := pod.DeletionGracePeriodSeconds
		if current == nil || *current <= 0 {
			return 0, false
		}
		if requested != nil && *requested < *current {
			return *requested, true
		}
		return *current, true
	}
	if pod.Spec.NodeName == "" || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return 0, false
	}
	if requested != nil {
		return *requested, true
	}
	grace := int64(corev1.DefaultTerminationGracePeriodSeconds)
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = *pod.Spec.TerminationGracePeriodSeconds
	}
	if grace == 0 {
		return 0, false
	}
	return max(grace, 1), true
}

// QOSClass returns the quality-of-service class pod's resources put it in:
// BestEffort when no container requests or limits cpu or memory, Guaranteed when
// every container's cpu and memory requests equal its limits (or pod-level resources
// say so), else Burstable. It reads the spec only, not status.qosClass, and expects
// requests already defaulted from limits.
func QOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	return qos.ComputePodQOS(pod)
}

// Bind assigns pod to the node b targets, as the binding subresource does: it sets
// spec.nodeName, copies b's annotations onto the pod, clears status.nominatedNodeName
// and marks the pod PodScheduled=True. It returns an Invalid error when b does not
// name a node, and a Conflict error, leaving pod unchanged, when the pod is being
// deleted, is already bound, or still has scheduling gates. Checking that b names
// pod (and any UID or resourceVersion preconditions) is the caller's job.
//
// The PodScheduled condition's transition time is the wall clock's now.
func Bind(pod *corev1.Pod, b *corev1.Binding) error {
	return bind(pod, b, time.Now())
}

func bind(pod *corev1.Pod, b *corev1.Binding, now time.Time) error {
	if errs := validateBinding(b); len(errs) > 0 {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "Binding"}, b.Name, errs)
	}
	var problem string
	switch {
	case pod.DeletionTimestamp != nil:
		problem = fmt.Sprintf("pod %s is being deleted, cannot be assigned to a host", pod.Name)
	case pod.Spec.NodeName != "":
		problem = fmt.Sprintf("pod %v is already assigned to node %q", pod.Name, pod.Spec.NodeName)
	case len(pod.Spec.SchedulingGates) != 0:
		problem = fmt.Sprintf("pod %v has non-empty .spec.schedulingGates", pod.Name)
	}
	if problem != "" {
		return apierrors.NewConflict(schema.GroupResource{Resource: "pods/binding"}, pod.Name, fmt.Errorf("%s", problem))
	}

	pod.Spec.NodeName = b.Target.Name
	if len(b.Annotations) > 0 && pod.Annotations == nil {
		pod.Annotations = map[string]string{}
	}
	for k, v := range b.Annotations {
		pod.Annotations[k] = v
	}
	pod.Status.NominatedNodeName = ""
	setCondition(&pod.Status, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, now)
	return nil
}

// setCondition replaces the condition of c's type, or appends c. The transition
// time is now if the status changed, else the old one.
func setCondition(status *corev1.PodStatus, c corev1.PodCondition, now time.Time) {
	c.LastTransitionTime = metav1.NewTime(now)
	for i := range status.Conditions {
		old := &status.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		*old = c
		return
	}
	status.Conditions = append(status.Conditions, c)
}
