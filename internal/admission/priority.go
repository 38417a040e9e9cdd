package admission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

// Priority is the admission of pods' priorities, as upstream's Priority plugin: a new
// pod gets the value and preemption policy of the PriorityClass it names, or of the
// class marked globalDefault (the lowest, should there be several), or priority 0; a
// class that does not exist, or a priority or policy given that differs from the
// class's, is refused. An update keeps what the pod was given.
type Priority struct {
	// Classes returns the PriorityClasses.
	Classes func() []*schedulingv1.PriorityClass
}

var podsResource = schema.GroupResource{Resource: "pods"}

// AdmitCreate sets a new pod's priority.
func (p Priority) AdmitCreate(_ context.Context, obj runtime.Object) error {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	class, err := p.classOf(pod)
	if err != nil {
		return err
	}
	value, policy := int32(0), ptr.To(corev1.PreemptLowerPriority)
	if class != nil {
		pod.Spec.PriorityClassName = class.Name
		value, policy = class.Value, class.PreemptionPolicy
	}
	if pod.Spec.Priority != nil && *pod.Spec.Priority != value {
		return apierrors.NewForbidden(podsResource, pod.Name, fmt.Errorf(
			"the integer value of priority (%d) must not be provided in pod spec; priority admission controller computed %d from the given PriorityClass name", *pod.Spec.Priority, value))
	}
	pod.Spec.Priority = ptr.To(value)
	if policy != nil {
		if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy != *policy {
			return apierrors.NewForbidden(podsResource, pod.Name, fmt.Errorf(
				"the string value of PreemptionPolicy (%s) must not be provided in pod spec; priority admission controller computed %s from the given PriorityClass name", *pod.Spec.PreemptionPolicy, *policy))
		}
		pod.Spec.PreemptionPolicy = ptr.To(*policy)
	}
	return nil
}

// classOf is the class a new pod gets: the one it names, or the default (nil for none).
func (p Priority) classOf(pod *corev1.Pod) (*schedulingv1.PriorityClass, error) {
	var def *schedulingv1.PriorityClass
	for _, c := range p.Classes() {
		if pod.Spec.PriorityClassName != "" && c.Name == pod.Spec.PriorityClassName {
			return c, nil
		}
		if c.GlobalDefault && (def == nil || c.Value < def.Value) {
			def = c
		}
	}
	if pod.Spec.PriorityClassName != "" {
		return nil, apierrors.NewForbidden(podsResource, pod.Name, fmt.Errorf("no PriorityClass with name %s was found", pod.Spec.PriorityClassName))
	}
	return def, nil
}

// AdmitUpdate keeps the priority and policy a pod was given when an update leaves them
// out (validation refuses any change to them).
func (Priority) AdmitUpdate(_ context.Context, obj, old runtime.Object) error {
	pod, ok := obj.(*corev1.Pod)
	prev, ok2 := old.(*corev1.Pod)
	if !ok || !ok2 {
		return nil
	}
	if pod.Spec.Priority == nil {
		pod.Spec.Priority = prev.Spec.Priority
	}
	if pod.Spec.PreemptionPolicy == nil {
		pod.Spec.PreemptionPolicy = prev.Spec.PreemptionPolicy
	}
	return nil
}

// PriorityClasses is the admission of PriorityClasses, as the same upstream plugin:
// only one class may be the global default.
type PriorityClasses struct {
	validateOnly
	// Classes returns the PriorityClasses.
	Classes func() []*schedulingv1.PriorityClass
}

// ValidateCreate refuses a second default.
func (p PriorityClasses) ValidateCreate(_ context.Context, obj runtime.Object) error {
	return p.oneDefault(obj, true)
}

// ValidateUpdate refuses making a class the default while another is.
func (p PriorityClasses) ValidateUpdate(_ context.Context, obj, _ runtime.Object) error {
	return p.oneDefault(obj, false)
}

func (p PriorityClasses) oneDefault(obj runtime.Object, create bool) error {
	pc, ok := obj.(*schedulingv1.PriorityClass)
	if !ok || !pc.GlobalDefault {
		return nil
	}
	var def *schedulingv1.PriorityClass
	for _, c := range p.Classes() {
		if c.GlobalDefault && (def == nil || c.Value < def.Value) {
			def = c
		}
	}
	if def != nil && (create || def.Name != pc.Name) {
		return apierrors.NewForbidden(schema.GroupResource{Group: schedulingv1.GroupName, Resource: "priorityclasses"}, pc.Name,
			fmt.Errorf("PriorityClass %s is already marked as default. Only one default can exist", def.Name))
	}
	return nil
}
