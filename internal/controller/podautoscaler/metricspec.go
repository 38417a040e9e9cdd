package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// replicasForMetrics proposes the replica count for hpa's metrics: the largest any
// metric proposes, the name of that metric, and every metric's status (zero for those
// that failed). It sets the ScalingActive condition. When no metric could be computed,
// or some failed and the others call for fewer replicas than the target has, it
// returns -1 and an error; when some failed but the others call for at least as many,
// it returns their proposal with an error.
func (c *Controller) replicasForMetrics(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, sc *autoscalingv1.Scale, now time.Time) (int32, string, []autoscalingv2.MetricStatus, error) {
	selector, pods, err := c.targetPods(hpa, sc.Status.Selector, now)
	if err != nil {
		return -1, "", nil, err
	}
	specs := hpa.Spec.Metrics
	if len(specs) == 0 {
		// The API server defaults an autoscaler without metrics to 80% CPU.
		target := int32(80)
		specs = []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
			Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: &target}}}}
	}
	statuses := make([]autoscalingv2.MetricStatus, len(specs))
	var (
		replicas     int32
		metric       string
		invalid      int
		firstErr     error
		firstFailure autoscalingv2.HorizontalPodAutoscalerCondition
	)
	for i, spec := range specs {
		proposed, name, failure, err := c.replicasForMetric(ctx, hpa, spec, sc.Spec.Replicas, selector, pods, now, &statuses[i])
		if err != nil {
			if invalid == 0 {
				firstErr, firstFailure = err, failure
			}
			invalid++
			continue
		}
		if replicas == 0 || proposed > replicas {
			replicas, metric = proposed, name
		}
	}
	if firstErr != nil {
		firstErr = fmt.Errorf("invalid metrics (%v invalid out of %v), first error is: %w", invalid, len(specs), firstErr)
	}
	if invalid >= len(specs) || (invalid > 0 && replicas < sc.Spec.Replicas) {
		if firstFailure.Type != "" {
			setCondition(hpa, firstFailure.Type, firstFailure.Status, firstFailure.Reason, now, "%s", firstFailure.Message)
		}
		return -1, "", statuses, firstErr
	}
	setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionTrue, "ValidMetricFound", now,
		"the HPA was able to successfully calculate a replica count from %s", metric)
	return replicas, metric, statuses, firstErr
}

// targetPods parses the selector of hpa's target's scale and lists the pods it selects,
// after checking that no other autoscaler of the namespace selects any of them. A
// failure sets the ScalingActive condition and records an event.
func (c *Controller) targetPods(hpa *autoscalingv2.HorizontalPodAutoscaler, raw string, now time.Time) (labels.Selector, []*corev1.Pod, error) {
	if raw == "" {
		c.recorder.Event(hpa, corev1.EventTypeWarning, "SelectorRequired", "selector is required")
		setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", now,
			"the HPA target's scale is missing a selector")
		return nil, nil, errors.New("selector is required")
	}
	selector, err := labels.Parse(raw)
	if err != nil {
		msg := fmt.Sprintf("couldn't convert selector into a corresponding internal selector object: %v", err)
		c.recorder.Event(hpa, corev1.EventTypeWarning, "InvalidSelector", msg)
		setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "InvalidSelector", now, "%s", msg)
		return nil, nil, errors.New(msg)
	}
	if !c.selectors.update(hpa.Namespace, hpa.Name, selector) {
		return nil, nil, fmt.Errorf("HPA %s/%s was deleted during reconciliation", hpa.Namespace, hpa.Name)
	}
	pods, err := c.pods.Pods(hpa.Namespace).List(selector)
	if err != nil {
		return nil, nil, err
	}
	if others := c.selectors.selecting(hpa.Namespace, pods, 2); len(others) > 1 {
		msg := fmt.Sprintf("pods by selector %v are controlled by more than one HPA (e.g. [%s])", raw, strings.Join(others, " "))
		c.recorder.Event(hpa, corev1.EventTypeWarning, "AmbiguousSelector", msg)
		setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "AmbiguousSelector", now, "%s", msg)
		return nil, nil, errors.New(msg)
	}
	return selector, pods, nil
}

// replicasForMetric proposes a replica count for one metric, from the target's
// current replicas, filling in its status. On failure it returns the ScalingActive
// condition to set should no metric succeed, having recorded an event.
func (c *Controller) replicasForMetric(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, spec autoscalingv2.MetricSpec,
	current int32, selector labels.Selector, pods []*corev1.Pod, now time.Time, status *autoscalingv2.MetricStatus) (int32, string, autoscalingv2.HorizontalPodAutoscalerCondition, error) {
	switch spec.Type {
	case autoscalingv2.ResourceMetricSourceType:
		if spec.Resource == nil {
			break
		}
		r, name, value, err := c.resourceReplicas(ctx, hpa, current, spec.Resource.Target, spec.Resource.Name, "", selector, pods, now)
		if err != nil {
			return 0, "", c.unableToCompute(hpa, "FailedGetResourceMetric", err),
				fmt.Errorf("failed to get %s resource metric value: %w", spec.Resource.Name, err)
		}
		*status = autoscalingv2.MetricStatus{Type: spec.Type,
			Resource: &autoscalingv2.ResourceMetricStatus{Name: spec.Resource.Name, Current: value}}
		return r, name, autoscalingv2.HorizontalPodAutoscalerCondition{}, nil
	case autoscalingv2.ContainerResourceMetricSourceType:
		if spec.ContainerResource == nil {
			break
		}
		cr := spec.ContainerResource
		r, name, value, err := c.resourceReplicas(ctx, hpa, current, cr.Target, cr.Name, cr.Container, selector, pods, now)
		if err != nil {
			return 0, "", c.unableToCompute(hpa, "FailedGetContainerResourceMetric", err),
				fmt.Errorf("failed to get %s container metric value: %w", cr.Container, err)
		}
		*status = autoscalingv2.MetricStatus{Type: spec.Type,
			ContainerResource: &autoscalingv2.ContainerResourceMetricStatus{Name: cr.Name, Container: cr.Container, Current: value}}
		return r, name, autoscalingv2.HorizontalPodAutoscalerCondition{}, nil
	case autoscalingv2.PodsMetricSourceType:
		if spec.Pods == nil {
			break
		}
		err := fmt.Errorf("unable to get metric %s: unable to fetch metrics from custom metrics API: %w", spec.Pods.Metric.Name, errNoCustomMetrics)
		if _, serr := metav1.LabelSelectorAsSelector(spec.Pods.Metric.Selector); serr != nil {
			err = serr
		}
		return 0, "", c.unableToCompute(hpa, "FailedGetPodsMetric", err), fmt.Errorf("failed to get pods metric value: %w", err)
	case autoscalingv2.ObjectMetricSourceType:
		if spec.Object == nil {
			break
		}
		o := spec.Object
		if _, err := metav1.LabelSelectorAsSelector(o.Metric.Selector); err != nil {
			return 0, "", c.unableToCompute(hpa, "FailedGetObjectMetric", err), fmt.Errorf("failed to get object metric value: %w", err)
		}
		err := fmt.Errorf("unable to get metric %s on %s %s/%s: unable to fetch metrics from custom metrics API: %w",
			o.Metric.Name, o.DescribedObject.Kind, hpa.Namespace, o.DescribedObject.Name, errNoCustomMetrics)
		wrapped := err
		switch {
		case o.Target.Type == autoscalingv2.ValueMetricType && o.Target.Value != nil:
		case o.Target.Type == autoscalingv2.AverageValueMetricType && o.Target.AverageValue != nil:
			wrapped = fmt.Errorf("failed to get %s object metric: %w", o.Metric.Name, err)
		default:
			err = errors.New("invalid object metric source: neither a value target nor an average value target was set")
			wrapped = err
		}
		return 0, "", c.unableToCompute(hpa, "FailedGetObjectMetric", err), fmt.Errorf("failed to get object metric value: %w", wrapped)
	case autoscalingv2.ExternalMetricSourceType:
		if spec.External == nil {
			break
		}
		e := spec.External
		err := fmt.Errorf("unable to get external metric %s/%s/%+v: unable to fetch metrics from external metrics API: %v",
			hpa.Namespace, e.Metric.Name, e.Metric.Selector, errNoExternalMetrics)
		var wrapped error
		switch {
		case e.Target.AverageValue != nil:
			wrapped = fmt.Errorf("failed to get %s external metric: %w", e.Metric.Name, err)
		case e.Target.Value != nil:
			wrapped = fmt.Errorf("failed to get external metric %s: %w", e.Metric.Name, err)
		default:
			err = errors.New("invalid external metric source: neither a value target nor an average value target was set")
			wrapped = err
		}
		return 0, "", c.unableToCompute(hpa, "FailedGetExternalMetric", err),
			fmt.Errorf("failed to get %s external metric value: %w", e.Metric.Name, wrapped)
	}
	err := fmt.Errorf("unknown metric source type %q", string(spec.Type))
	return 0, "", c.unableToCompute(hpa, "InvalidMetricSourceType", err), err
}

// resourceReplicas proposes a replica count for a (container) resource metric's
// target, returning it with the metric's name (for the rescale reason) and current
// value.
func (c *Controller) resourceReplicas(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, current int32, target autoscalingv2.MetricTarget,
	res corev1.ResourceName, container string, selector labels.Selector, pods []*corev1.Pod, now time.Time) (int32, string, autoscalingv2.MetricValueStatus, error) {
	if target.AverageValue == nil && target.AverageUtilization == nil {
		return 0, "", autoscalingv2.MetricValueStatus{}, errors.New("invalid resource metric source: neither an average utilization target nor an average value (usage) target was set")
	}
	u, err := c.readUsage(ctx, hpa, res, container, selector, pods, now)
	if target.AverageValue != nil {
		if err != nil {
			return 0, "", autoscalingv2.MetricValueStatus{}, fmt.Errorf("failed to get %s usage: %w", res, err)
		}
		replicas, average, err := u.averageReplicas(current, target.AverageValue.MilliValue())
		if err != nil {
			return 0, "", autoscalingv2.MetricValueStatus{}, fmt.Errorf("failed to get %s usage: %w", res, err)
		}
		q := quantity(res, average)
		return replicas, fmt.Sprintf("%s resource", res), autoscalingv2.MetricValueStatus{AverageValue: &q}, nil
	}
	if err != nil {
		return 0, "", autoscalingv2.MetricValueStatus{}, fmt.Errorf("failed to get %s utilization: %w", res, err)
	}
	replicas, utilization, average, err := u.utilizationReplicas(current, *target.AverageUtilization)
	if err != nil {
		return 0, "", autoscalingv2.MetricValueStatus{}, fmt.Errorf("failed to get %s utilization: %w", res, err)
	}
	name := fmt.Sprintf("%s resource utilization (percentage of request)", res)
	if container != "" {
		name = fmt.Sprintf("%s container resource utilization (percentage of request)", res)
	}
	q := quantity(res, average)
	return replicas, name, autoscalingv2.MetricValueStatus{AverageUtilization: &utilization, AverageValue: &q}, nil
}

// readUsage reads the samples of res for the target's pods.
func (c *Controller) readUsage(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, res corev1.ResourceName, container string,
	selector labels.Selector, pods []*corev1.Pod, now time.Time) (*usage, error) {
	s, _, err := podUsage(ctx, c.metrics, res, hpa.Namespace, selector, container)
	if err != nil {
		return nil, fmt.Errorf("unable to get metrics for resource %s: %w", res, err)
	}
	return &usage{pods: pods, samples: s, resource: res, container: container, now: now,
		readiness: c.readiness, tol: c.tolerancesOf(hpa)}, nil
}

// tolerancesOf returns hpa's tolerances: its behavior's, where set, else the
// controller's.
func (c *Controller) tolerancesOf(hpa *autoscalingv2.HorizontalPodAutoscaler) tolerances {
	t := tolerances{down: c.tolerance, up: c.tolerance}
	if b := hpa.Spec.Behavior; b != nil {
		if b.ScaleDown != nil && b.ScaleDown.Tolerance != nil {
			t.down = b.ScaleDown.Tolerance.AsApproximateFloat64()
		}
		if b.ScaleUp != nil && b.ScaleUp.Tolerance != nil {
			t.up = b.ScaleUp.Tolerance.AsApproximateFloat64()
		}
	}
	return t
}

// quantity is a metric's current average as the resource metrics API shows it:
// memory in binary units, anything else in decimal ones.
func quantity(res corev1.ResourceName, milli int64) resource.Quantity {
	format := resource.DecimalSI
	if res == corev1.ResourceMemory {
		format = resource.BinarySI
	}
	return *resource.NewMilliQuantity(milli, format)
}

// unableToCompute records an event of reason for err and returns the ScalingActive
// condition that says the replica count could not be computed.
func (c *Controller) unableToCompute(hpa *autoscalingv2.HorizontalPodAutoscaler, reason string, err error) autoscalingv2.HorizontalPodAutoscalerCondition {
	c.recorder.Event(hpa, corev1.EventTypeWarning, reason, err.Error())
	return autoscalingv2.HorizontalPodAutoscalerCondition{
		Type:    autoscalingv2.ScalingActive,
		Status:  corev1.ConditionFalse,
		Reason:  reason,
		Message: fmt.Sprintf("the HPA was unable to compute the replica count: %v", err),
	}
}
