package pod

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	resourcehelper "k8s.io/component-helpers/resource"
)

// The resize subresource (in-place pod vertical scaling, GA upstream since 1.35): a
// write through it may change only the cpu and memory requests and limits of a pod's
// containers; the node agent applies them to the running containers.

// prepareResize keeps of a write through resize only what a resize may change: the
// containers' resources and resize policies (by position, when the containers are
// the same in number and name; otherwise the write is left for validateResize to
// refuse). Everything else is the stored pod's.
func prepareResize(pod, oldPod *corev1.Pod) {
	kept := oldPod.DeepCopy()
	kept.ResourceVersion = pod.ResourceVersion
	if sameContainers(pod.Spec.Containers, oldPod.Spec.Containers) && sameContainers(pod.Spec.InitContainers, oldPod.Spec.InitContainers) {
		takeResources(kept.Spec.Containers, pod.Spec.Containers)
		takeResources(kept.Spec.InitContainers, pod.Spec.InitContainers)
	} else {
		kept.Spec.Containers, kept.Spec.InitContainers = pod.Spec.Containers, pod.Spec.InitContainers
	}
	*pod = *kept
	defaulted := pod.DeepCopy()
	setDefaults(defaulted)
	if !equality.Semantic.DeepEqual(defaulted.Spec, oldPod.Spec) {
		pod.Generation = oldPod.Generation + 1
	}
}

func sameContainers(a, b []corev1.Container) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			return false
		}
	}
	return true
}

func takeResources(dst, src []corev1.Container) {
	for i := range dst {
		dst[i].Resources, dst[i].ResizePolicy = src[i].Resources, src[i].ResizePolicy
	}
}

// validateResize checks a write through resize, as upstream's ValidatePodResize does:
// the pod stays valid and in its QoS class, its containers stay the same and in order,
// no request or limit is removed, and only cpu and memory change.
func validateResize(newPod, oldPod *corev1.Pod) field.ErrorList {
	opts := updateOptions(oldPod)
	opts.allowInvalidDeletionCost = true
	errs := validatePod(newPod, opts)
	if _, ok := oldPod.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods cannot be resized")}
	}
	if oldPod.Spec.OS != nil && oldPod.Spec.OS.Name == corev1.Windows {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "windows pods cannot be resized")}
	}
	specPath := field.NewPath("spec")
	oldQOS := oldPod.Status.QOSClass
	if oldQOS == "" {
		oldQOS = QOSClass(oldPod)
	}
	if QOSClass(newPod) != oldQOS {
		errs = append(errs, field.Invalid(specPath, newPod.Status.QOSClass, "Pod QOS Class may not change as a result of resizing"))
	}
	hasPodResources := func(p *corev1.Pod) bool {
		return p.Spec.Resources != nil && len(p.Spec.Resources.Requests)+len(p.Spec.Resources.Limits) > 0
	}
	if hasPodResources(oldPod) || hasPodResources(newPod) {
		// podium does not resize pod-level resources (upstream's
		// InPlacePodLevelResourcesVerticalScaling off).
		return append(errs, field.Forbidden(field.NewPath(""), "resize of pods with pod-level resources is forbidden when InPlacePodLevelResourcesVerticalScalingEnabled feature gate is disabled"))
	}

	if order := validateResizeOrder(newPod, oldPod, specPath); len(order) > 0 {
		return append(errs, order...)
	}
	for i := range oldPod.Spec.InitContainers {
		errs = append(errs, validateContainerResize(&newPod.Spec.InitContainers[i], &oldPod.Spec.InitContainers[i],
			specPath.Child("initContainers").Index(i).Child("resources"))...)
	}
	for i := range oldPod.Spec.Containers {
		errs = append(errs, validateContainerResize(&newPod.Spec.Containers[i], &oldPod.Spec.Containers[i],
			specPath.Child("containers").Index(i).Child("resources"))...)
	}
	for i := range newPod.Spec.Containers {
		if !onlyCPUMemoryChanged(&newPod.Spec.Containers[i], &oldPod.Spec.Containers[i]) {
			errs = append(errs, field.Forbidden(specPath, "only cpu and memory resources are mutable"))
		}
	}
	for i := range newPod.Spec.InitContainers {
		c, old := &newPod.Spec.InitContainers[i], &oldPod.Spec.InitContainers[i]
		p := specPath.Child("initContainers").Index(i)
		if !onlyCPUMemoryChanged(c, old) {
			errs = append(errs, field.Forbidden(p, "only cpu and memory resources for init or sidecar containers are mutable"))
		}
		if isSidecar(c) || equality.Semantic.DeepEqual(c, old) {
			continue
		}
		for _, rp := range c.ResizePolicy {
			if rp.RestartPolicy == corev1.RestartContainer {
				errs = append(errs, field.Forbidden(p, "non-sidecar init containers with a resize policy of RestartContainer cannot be resized"))
			}
		}
	}
	return errs
}

func validateResizeOrder(newPod, oldPod *corev1.Pod, specPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, kind := range []struct {
		name     string
		new, old []corev1.Container
	}{
		{"containers", newPod.Spec.Containers, oldPod.Spec.Containers},
		{"initContainers", newPod.Spec.InitContainers, oldPod.Spec.InitContainers},
	} {
		p := specPath.Child(kind.name)
		if len(kind.new) != len(kind.old) {
			errs = append(errs, field.Forbidden(p, fmt.Sprintf("%s may not be added or removed on resize", kind.name)))
			continue
		}
		for i := range kind.old {
			if kind.new[i].Name != kind.old[i].Name {
				errs = append(errs, field.Forbidden(p.Index(i).Child("name"), fmt.Sprintf("%s may not be renamed or reordered on resize", kind.name)))
			}
		}
	}
	return errs
}

// validateContainerResize refuses removing a request or a limit.
func validateContainerResize(c, old *corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if removed(c.Resources.Requests, old.Resources.Requests) {
		errs = append(errs, field.Forbidden(fldPath.Child("requests"), "resource requests cannot be removed"))
	}
	if removed(c.Resources.Limits, old.Resources.Limits) {
		errs = append(errs, field.Forbidden(fldPath.Child("limits"), "resource limits cannot be removed"))
	}
	return errs
}

func removed(l, old corev1.ResourceList) bool {
	for name := range old {
		if _, ok := l[name]; !ok {
			return true
		}
	}
	return false
}

// onlyCPUMemoryChanged reports whether c differs from old in its cpu and memory
// requests and limits at most.
func onlyCPUMemoryChanged(c, old *corev1.Container) bool {
	masked := c.DeepCopy()
	masked.Resources.Requests = withCPUMemoryOf(c.Resources.Requests, old.Resources.Requests)
	masked.Resources.Limits = withCPUMemoryOf(c.Resources.Limits, old.Resources.Limits)
	return equality.Semantic.DeepEqual(masked, old)
}

// withCPUMemoryOf returns l with its cpu and memory taken from old.
func withCPUMemoryOf(l, old corev1.ResourceList) corev1.ResourceList {
	if l == nil && old == nil {
		return nil
	}
	out := corev1.ResourceList{}
	for name, q := range l {
		if name != corev1.ResourceCPU && name != corev1.ResourceMemory {
			out[name] = q
		}
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := old[name]; ok {
			out[name] = q
		}
	}
	return out
}

// ResizeAdmitter refuses, as upstream's PodResizeValidator admission does, a resize of a
// pod bound to a node whose requests exceed that node's allocatable cpu or memory (403,
// cause NodeCapacity), and any resize of a pod on a node that is not Linux or is gone.
// Node finds a node by name (nil when there is none).
type ResizeAdmitter struct {
	Node func(name string) *corev1.Node
}

// AdmitCreate admits every create.
func (ResizeAdmitter) AdmitCreate(context.Context, runtime.Object) error { return nil }

// AdmitUpdate admits every update of the whole pod.
func (ResizeAdmitter) AdmitUpdate(context.Context, runtime.Object, runtime.Object) error { return nil }

// AdmitSubresourceUpdate checks a write through resize that changes the pod's resources
// (bumps its generation) against its node.
func (a ResizeAdmitter) AdmitSubresourceUpdate(_ context.Context, subresource string, obj, old runtime.Object) error {
	pod, oldPod := asPod(obj), asPod(old)
	if subresource != "resize" || pod.Spec.NodeName == "" || pod.Generation == oldPod.Generation {
		return nil
	}
	forbidden := func(msg string, cause metav1.CauseType) error {
		err := apierrors.NewForbidden(corev1.Resource("pods"), pod.Name, errors.New(msg))
		if cause != "" {
			err.ErrStatus.Details.Causes = append(err.ErrStatus.Details.Causes, metav1.StatusCause{Type: cause})
		}
		return err
	}
	node := a.Node(pod.Spec.NodeName)
	if node == nil {
		return forbidden(fmt.Sprintf("node %q not found", pod.Spec.NodeName), "")
	}
	if os, ok := node.Labels[corev1.LabelOSStable]; ok && os != "linux" {
		return forbidden(fmt.Sprintf("pod resize is only supported on linux nodes, node %q is %q", node.Name, os), "UnsupportedPlatform")
	}
	requests := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	cpu, mem := requests[corev1.ResourceCPU], requests[corev1.ResourceMemory]
	var short []string
	if allocatable := node.Status.Allocatable.Cpu(); cpu.Cmp(*allocatable) > 0 {
		short = append(short, fmt.Sprintf("cpu, requested: %d, allocatable: %d", cpu.MilliValue(), allocatable.MilliValue()))
	}
	if allocatable := node.Status.Allocatable.Memory(); mem.Cmp(*allocatable) > 0 {
		short = append(short, fmt.Sprintf("memory, requested: %d, allocatable: %d", mem.Value(), allocatable.Value()))
	}
	if len(short) > 0 {
		return forbidden("node didn't have enough allocatable resources: "+strings.Join(short, "; "), "NodeCapacity")
	}
	return nil
}
