package admission

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/podium/podium/internal/resourcename"
)

// limitRangerAnnotation records the defaults LimitRanges gave a pod, as upstream's.
const limitRangerAnnotation = "kubernetes.io/limit-ranger"

// LimitRanges is the admission of new pods and claims against their namespace's
// LimitRanges, as upstream's LimitRanger plugin: a container without a request or limit
// gets the Container default (mutating), then every container, pod and claim must keep
// within the min, max and maxLimitRequestRatio (validating), with upstream's messages.
type LimitRanges struct {
	// In returns a namespace's LimitRanges.
	In func(namespace string) []*corev1.LimitRange
}

// AdmitCreate gives a new pod's containers the defaults.
func (l LimitRanges) AdmitCreate(_ context.Context, obj runtime.Object) error {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return nil
	}
	for _, lr := range l.In(pod.Namespace) {
		requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
		for _, item := range lr.Spec.Limits {
			if item.Type != corev1.LimitTypeContainer {
				continue
			}
			for k, v := range item.DefaultRequest {
				requests[k] = v.DeepCopy()
			}
			for k, v := range item.Default {
				limits[k] = v.DeepCopy()
			}
		}
		var notes []string
		for i := range pod.Spec.Containers {
			notes = defaultResources(&pod.Spec.Containers[i], "container", requests, limits, notes)
		}
		for i := range pod.Spec.InitContainers {
			notes = defaultResources(&pod.Spec.InitContainers[i], "init container", requests, limits, notes)
		}
		if len(notes) > 0 {
			if pod.Annotations == nil {
				pod.Annotations = map[string]string{}
			}
			pod.Annotations[limitRangerAnnotation] = "LimitRanger plugin set: " + strings.Join(notes, "; ")
		}
	}
	return nil
}

// defaultResources gives c the requests and limits it lacks, and returns notes with
// what it gave. A limit the container sets stands for its request, as the API's
// defaults make it before upstream's plugin runs.
func defaultResources(c *corev1.Container, what string, requests, limits corev1.ResourceList, notes []string) []string {
	if c.Resources.Requests == nil {
		c.Resources.Requests = corev1.ResourceList{}
	}
	if c.Resources.Limits == nil {
		c.Resources.Limits = corev1.ResourceList{}
	}
	for k, v := range c.Resources.Limits {
		if _, ok := c.Resources.Requests[k]; !ok {
			c.Resources.Requests[k] = v.DeepCopy()
		}
	}
	var setLimits, setRequests []string
	for k, v := range limits {
		if _, ok := c.Resources.Limits[k]; !ok {
			c.Resources.Limits[k] = v.DeepCopy()
			setLimits = append(setLimits, string(k))
		}
	}
	for k, v := range requests {
		if _, ok := c.Resources.Requests[k]; !ok {
			c.Resources.Requests[k] = v.DeepCopy()
			setRequests = append(setRequests, string(k))
		}
	}
	if len(setRequests) > 0 {
		slices.Sort(setRequests)
		notes = append(notes, fmt.Sprintf("%s request for %s %s", strings.Join(setRequests, ", "), what, c.Name))
	}
	if len(setLimits) > 0 {
		slices.Sort(setLimits)
		notes = append(notes, fmt.Sprintf("%s limit for %s %s", strings.Join(setLimits, ", "), what, c.Name))
	}
	return notes
}

// AdmitUpdate admits every update: defaults are for new pods only.
func (LimitRanges) AdmitUpdate(context.Context, runtime.Object, runtime.Object) error { return nil }

// ValidateCreate checks a new pod or claim against the bounds.
func (l LimitRanges) ValidateCreate(_ context.Context, obj runtime.Object) error {
	var namespace, name string
	var gr schema.GroupResource
	var check func(*corev1.LimitRange) []error
	switch o := obj.(type) {
	case *corev1.Pod:
		namespace, name, gr, check = o.Namespace, o.Name, podsResource, func(lr *corev1.LimitRange) []error { return podBounds(lr, o) }
	case *corev1.PersistentVolumeClaim:
		namespace, name, gr = o.Namespace, o.Name, schema.GroupResource{Resource: "persistentvolumeclaims"}
		check = func(lr *corev1.LimitRange) []error { return claimBounds(lr, o) }
	default:
		return nil
	}
	for _, lr := range l.In(namespace) {
		if errs := check(lr); len(errs) > 0 {
			return apierrors.NewForbidden(gr, name, utilerrors.NewAggregate(errs))
		}
	}
	return nil
}

// ValidateUpdate checks a claim's storage again (it may grow); a pod's resources do not
// change in an update (resizes go through pods/resize, not checked here yet).
func (l LimitRanges) ValidateUpdate(ctx context.Context, obj, _ runtime.Object) error {
	if _, ok := obj.(*corev1.PersistentVolumeClaim); ok {
		return l.ValidateCreate(ctx, obj)
	}
	return nil
}

// podBounds checks each container of pod, and pod as a whole, against lr.
func podBounds(lr *corev1.LimitRange, pod *corev1.Pod) []error {
	var errs []error
	for _, item := range lr.Spec.Limits {
		switch item.Type {
		case corev1.LimitTypeContainer:
			for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
				for _, c := range cs {
					errs = append(errs, bounds(item, c.Resources.Requests, c.Resources.Limits)...)
				}
			}
		case corev1.LimitTypePod:
			errs = append(errs, bounds(item, resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}),
				resourcehelper.PodLimits(pod, resourcehelper.PodResourcesOptions{}))...)
		}
	}
	return errs
}

// claimBounds checks a claim's requested storage against lr.
func claimBounds(lr *corev1.LimitRange, pvc *corev1.PersistentVolumeClaim) []error {
	var errs []error
	for _, item := range lr.Spec.Limits {
		if item.Type != corev1.LimitTypePersistentVolumeClaim {
			continue
		}
		for _, k := range resourcename.Sorted(item.Min) {
			errs = appendErr(errs, minBound(string(item.Type), k, item.Min[k], pvc.Spec.Resources.Requests, nil))
		}
		for _, k := range resourcename.Sorted(item.Max) {
			errs = appendErr(errs, maxRequestBound(string(item.Type), k, item.Max[k], pvc.Spec.Resources.Requests))
		}
	}
	return errs
}

// bounds checks requests and limits against one item's min, max and ratio.
func bounds(item corev1.LimitRangeItem, requests, limits corev1.ResourceList) []error {
	var errs []error
	kind := string(item.Type)
	for _, k := range resourcename.Sorted(item.Min) {
		errs = appendErr(errs, minBound(kind, k, item.Min[k], requests, limits))
	}
	for _, k := range resourcename.Sorted(item.Max) {
		errs = appendErr(errs, maxBound(kind, k, item.Max[k], requests, limits))
	}
	for _, k := range resourcename.Sorted(item.MaxLimitRequestRatio) {
		errs = appendErr(errs, ratioBound(kind, k, item.MaxLimitRequestRatio[k], requests, limits))
	}
	return errs
}

func appendErr(errs []error, err error) []error {
	if err != nil {
		errs = append(errs, err)
	}
	return errs
}

// compared returns request, limit and bound as integers of one scale: milli-units
// unless one of them is too large for that.
func compared(request, limit, bound apiresource.Quantity) (int64, int64, int64) {
	r, l, b := request.Value(), limit.Value(), bound.Value()
	if r <= apiresource.MaxMilliValue && l <= apiresource.MaxMilliValue && b <= apiresource.MaxMilliValue {
		return request.MilliValue(), limit.MilliValue(), bound.MilliValue()
	}
	return r, l, b
}

func minBound(kind string, name corev1.ResourceName, bound apiresource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	r, l, b := compared(req, lim, bound)
	switch {
	case !hasReq:
		return fmt.Errorf("minimum %s usage per %s is %s.  No request is specified", name, kind, bound.String())
	case r < b:
		return fmt.Errorf("minimum %s usage per %s is %s, but request is %s", name, kind, bound.String(), req.String())
	case hasLim && l < b:
		return fmt.Errorf("minimum %s usage per %s is %s, but limit is %s", name, kind, bound.String(), lim.String())
	}
	return nil
}

func maxRequestBound(kind string, name corev1.ResourceName, bound apiresource.Quantity, requests corev1.ResourceList) error {
	req, hasReq := requests[name]
	r, _, b := compared(req, apiresource.Quantity{}, bound)
	switch {
	case !hasReq:
		return fmt.Errorf("maximum %s usage per %s is %s.  No request is specified", name, kind, bound.String())
	case r > b:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, kind, bound.String(), req.String())
	}
	return nil
}

func maxBound(kind string, name corev1.ResourceName, bound apiresource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	r, l, b := compared(req, lim, bound)
	switch {
	case !hasLim:
		return fmt.Errorf("maximum %s usage per %s is %s.  No limit is specified", name, kind, bound.String())
	case l > b:
		return fmt.Errorf("maximum %s usage per %s is %s, but limit is %s", name, kind, bound.String(), lim.String())
	case hasReq && r > b:
		return fmt.Errorf("maximum %s usage per %s is %s, but request is %s", name, kind, bound.String(), req.String())
	}
	return nil
}

func ratioBound(kind string, name corev1.ResourceName, bound apiresource.Quantity, requests, limits corev1.ResourceList) error {
	req, hasReq := requests[name]
	lim, hasLim := limits[name]
	r, l, _ := compared(req, lim, bound)
	if !hasReq || r == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no request is specified or request is 0", name, kind, bound.String())
	}
	if !hasLim || l == 0 {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but no limit is specified or limit is 0", name, kind, bound.String())
	}
	ratio := float64(l) / float64(r)
	observed, allowed := ratio, float64(bound.Value())
	if bound.Value() <= apiresource.MaxMilliValue {
		observed, allowed = ratio*1000, float64(bound.MilliValue())
	}
	if observed > allowed {
		return fmt.Errorf("%s max limit to request ratio per %s is %s, but provided ratio is %f", name, kind, bound.String(), ratio)
	}
	return nil
}
