package admission

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
)

// RuntimeClasses is the admission of new pods that name a RuntimeClass, as upstream's
// RuntimeClass plugin: the class must exist; its overhead becomes the pod's (a pod
// that gives another is refused) and its scheduling constraints are added to the
// pod's (a node selector that contradicts them is refused); a pod may not give an
// overhead its class does not define.
type RuntimeClasses struct {
	// Get returns the RuntimeClass of a name, or nil.
	Get func(name string) *nodev1.RuntimeClass
}

// AdmitCreate applies the pod's class.
func (r RuntimeClasses) AdmitCreate(_ context.Context, obj runtime.Object) error {
	pod, rc, err := r.classOf(obj)
	if pod == nil || err != nil {
		return err
	}
	if rc == nil {
		return nil
	}
	if o := rc.Overhead; o != nil {
		if len(pod.Spec.Overhead) > 0 && !apiequality.Semantic.DeepEqual(o.PodFixed, pod.Spec.Overhead) {
			return forbiddenPod(pod, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
		}
		pod.Spec.Overhead = o.PodFixed.DeepCopy()
	}
	if s := rc.Scheduling; s != nil {
		if pod.Spec.NodeSelector == nil && len(s.NodeSelector) > 0 {
			pod.Spec.NodeSelector = map[string]string{}
		}
		for key, value := range s.NodeSelector {
			if have, ok := pod.Spec.NodeSelector[key]; ok && have != value {
				return forbiddenPod(pod, fmt.Sprintf("conflict: runtimeClass.scheduling.nodeSelector[%s] = %s; pod.spec.nodeSelector[%s] = %s", key, value, key, have))
			}
			pod.Spec.NodeSelector[key] = value
		}
		for _, t := range s.Tolerations {
			if !hasToleration(pod.Spec.Tolerations, t) {
				pod.Spec.Tolerations = append(pod.Spec.Tolerations, t)
			}
		}
	}
	return nil
}

// AdmitUpdate admits every update: a pod's class does not change.
func (RuntimeClasses) AdmitUpdate(context.Context, runtime.Object, runtime.Object) error { return nil }

// ValidateCreate checks that the overhead is the class's, after every mutation.
func (r RuntimeClasses) ValidateCreate(_ context.Context, obj runtime.Object) error {
	pod, rc, err := r.classOf(obj)
	if pod == nil || err != nil {
		return err
	}
	if rc != nil && rc.Overhead != nil {
		if !apiequality.Semantic.DeepEqual(rc.Overhead.PodFixed, pod.Spec.Overhead) {
			return forbiddenPod(pod, "pod rejected: Pod's Overhead doesn't match RuntimeClass's defined Overhead")
		}
	} else if pod.Spec.Overhead != nil {
		return forbiddenPod(pod, "pod rejected: Pod Overhead set without corresponding RuntimeClass defined Overhead")
	}
	return nil
}

// ValidateUpdate admits every update.
func (RuntimeClasses) ValidateUpdate(context.Context, runtime.Object, runtime.Object) error {
	return nil
}

// classOf returns a pod and the class it names (nil for none); nil pod for objects
// that are not pods.
func (r RuntimeClasses) classOf(obj runtime.Object) (*corev1.Pod, *nodev1.RuntimeClass, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok || pod.Spec.RuntimeClassName == nil {
		return pod, nil, nil
	}
	rc := r.Get(*pod.Spec.RuntimeClassName)
	if rc == nil {
		return pod, nil, forbiddenPod(pod, fmt.Sprintf("pod rejected: RuntimeClass %q not found", *pod.Spec.RuntimeClassName))
	}
	return pod, rc, nil
}

func forbiddenPod(pod *corev1.Pod, msg string) error {
	return apierrors.NewForbidden(podsResource, pod.Name, fmt.Errorf("%s", msg))
}

// hasToleration reports whether ts holds t already.
func hasToleration(ts []corev1.Toleration, t corev1.Toleration) bool {
	for _, have := range ts {
		if apiequality.Semantic.DeepEqual(have, t) {
			return true
		}
	}
	return false
}
