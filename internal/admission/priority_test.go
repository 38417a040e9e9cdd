package admission

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestPriority(t *testing.T) {
	class := func(name string, value int32, def bool, policy corev1.PreemptionPolicy) *schedulingv1.PriorityClass {
		return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, GlobalDefault: def, PreemptionPolicy: ptr.To(policy)}
	}
	high := class("high", 1000, false, corev1.PreemptNever)
	classes := []*schedulingv1.PriorityClass{high}
	p := Priority{Classes: func() []*schedulingv1.PriorityClass { return classes }}
	pod := func(className string, priority *int32) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{PriorityClassName: className, Priority: priority}}
	}
	ctx := context.Background()

	named := pod("high", nil)
	if err := p.AdmitCreate(ctx, named); err != nil || *named.Spec.Priority != 1000 || *named.Spec.PreemptionPolicy != corev1.PreemptNever {
		t.Fatalf("a pod of class high: %v %+v", err, named.Spec)
	}
	plain := pod("", nil)
	if err := p.AdmitCreate(ctx, plain); err != nil || *plain.Spec.Priority != 0 || plain.Spec.PriorityClassName != "" ||
		*plain.Spec.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Fatalf("a pod without a class and no default: %v %+v", err, plain.Spec)
	}
	// With defaults, the lowest one.
	classes = append(classes, class("low-default", 10, true, corev1.PreemptLowerPriority), class("other-default", 20, true, corev1.PreemptLowerPriority))
	plain = pod("", nil)
	if err := p.AdmitCreate(ctx, plain); err != nil || *plain.Spec.Priority != 10 || plain.Spec.PriorityClassName != "low-default" {
		t.Fatalf("a pod without a class: %v %+v", err, plain.Spec)
	}
	if err := p.AdmitCreate(ctx, pod("missing", nil)); !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "no PriorityClass with name missing was found") {
		t.Fatalf("an unknown class: %v", err)
	}
	if err := p.AdmitCreate(ctx, pod("high", ptr.To[int32](5))); !apierrors.IsForbidden(err) ||
		!strings.Contains(err.Error(), "the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 1000") {
		t.Fatalf("a priority that is not the class's: %v", err)
	}
	// An update that leaves them out keeps them.
	upd := pod("high", nil)
	if err := p.AdmitUpdate(ctx, upd, named); err != nil || upd.Spec.Priority == nil || *upd.Spec.Priority != 1000 {
		t.Fatalf("an update: %v %+v", err, upd.Spec)
	}

	pcs := PriorityClasses{Classes: func() []*schedulingv1.PriorityClass { return classes }}
	if err := pcs.ValidateCreate(ctx, class("third", 5, true, corev1.PreemptLowerPriority)); !apierrors.IsForbidden(err) ||
		!strings.Contains(err.Error(), "PriorityClass low-default is already marked as default. Only one default can exist") {
		t.Fatalf("a second default: %v", err)
	}
	if err := pcs.ValidateUpdate(ctx, class("low-default", 10, true, corev1.PreemptLowerPriority), nil); err != nil {
		t.Fatalf("the default itself updated: %v", err)
	}
	if err := pcs.ValidateCreate(ctx, class("plain", 5, false, corev1.PreemptLowerPriority)); err != nil {
		t.Fatalf("a class that is no default: %v", err)
	}
}
