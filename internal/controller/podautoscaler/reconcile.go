package podautoscaler

import (
	"context"
	"errors"
	"fmt"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
)

// reconcile brings one autoscaler's target to the replica count its metrics call for,
// within its limits, and writes its status. The error says why it could not; the
// autoscaler's conditions and events say so too.
func (c *Controller) reconcile(ctx context.Context, key string, shared *autoscalingv2.HorizontalPodAutoscaler) (retErr error) {
	hpa := shared.DeepCopy()
	original := hpa.Status.DeepCopy()
	now := c.clock.Now()
	ref := hpa.Spec.ScaleTargetRef
	reference := fmt.Sprintf("%s/%s/%s", ref.Kind, hpa.Namespace, ref.Name)

	sc, targetGR, err := c.getScale(ctx, hpa)
	if err != nil {
		c.recorder.Event(hpa, corev1.EventTypeWarning, "FailedGetScale", err.Error())
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedGetScale", now,
			"the HPA controller was unable to get the target's current scale: %v", err)
		_ = c.writeStatusIfChanged(ctx, original, hpa)
		return fmt.Errorf("failed to query scale subresource for %s: %w", reference, err)
	}
	setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededGetScale", now,
		"the HPA controller was able to get the target's current scale")
	current := sc.Spec.Replicas
	h := c.historyOf(key)
	if h.recommendations == nil {
		// The count the target had when first seen holds off a scale down for the
		// stabilization window.
		h.recommendations = []recommendation{{current, now}}
	}

	minReplicas := int32(1)
	if hpa.Spec.MinReplicas != nil {
		minReplicas = *hpa.Spec.MinReplicas
	}
	// A target this controller scaled to zero (HPAScaleToZero, with an Object or
	// External metric) is scaled from zero again; one scaled to zero by hand is left.
	objectOrExternal := hasObjectOrExternalMetric(hpa)
	scaledToZero := conditionTrue(hpa, autoscalingv2.ScaledToZero)

	var (
		desired  int32
		reason   string
		statuses []autoscalingv2.MetricStatus
		rescale  = true
		compute  = true
	)
	switch {
	case current == 0:
		if !(minReplicas != 0 && scaledToZero) && !(scaledToZero && objectOrExternal) {
			compute, rescale = false, false
			setCondition(hpa, autoscalingv2.ScalingActive, corev1.ConditionFalse, "ScalingDisabled", now,
				"scaling is disabled since the replica count of the target is zero")
		}
	case current > hpa.Spec.MaxReplicas:
		reason, desired, compute = "Current number of replicas above Spec.MaxReplicas", hpa.Spec.MaxReplicas, false
	case current < minReplicas:
		reason, desired, compute = "Current number of replicas below Spec.MinReplicas", minReplicas, false
	}

	if compute {
		proposed, metricName, st, err := c.replicasForMetrics(ctx, hpa, sc, now)
		statuses = st
		if err != nil && proposed == -1 {
			c.setStatus(hpa, current, hpa.Status.DesiredReplicas, statuses, false, now)
			_ = c.writeStatusIfChanged(ctx, original, hpa)
			c.recorder.Event(hpa, corev1.EventTypeWarning, "FailedComputeMetricsReplicas", err.Error())
			return fmt.Errorf("failed to compute desired number of replicas based on listed metrics for %s: %w", reference, err)
		}
		// Some metrics failed but the others call for a scale up: scale, and report
		// the failure.
		retErr = err
		rescaleMetric := ""
		if proposed > desired {
			desired, rescaleMetric = proposed, metricName
		}
		switch {
		case desired > current:
			reason = fmt.Sprintf("%s above target", rescaleMetric)
		case desired < current:
			reason = "All metrics below target"
		}
		if hpa.Spec.Behavior == nil {
			desired = c.normalizeLegacy(hpa, h, now, current, desired, minReplicas)
		} else {
			desired = c.normalizeWithBehavior(hpa, h, now, current, desired, minReplicas)
		}
		if current == 0 && minReplicas != 0 && scaledToZero && desired < minReplicas {
			desired = minReplicas
			if reason == "" {
				reason = "Current number of replicas below Spec.MinReplicas"
			}
		}
		rescale = desired != current
	}

	if rescale {
		if err := c.updateScale(ctx, hpa, targetGR, sc, desired); err != nil {
			c.recorder.Eventf(hpa, corev1.EventTypeWarning, "FailedRescale", "New size: %d; reason: %s; error: %v", desired, reason, err.Error())
			setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionFalse, "FailedUpdateScale", now,
				"the HPA controller was unable to update the target scale: %v", err)
			c.setStatus(hpa, current, hpa.Status.DesiredReplicas, statuses, false, now)
			_ = c.writeStatusIfChanged(ctx, original, hpa)
			return fmt.Errorf("failed to rescale %s: %w", reference, err)
		}
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "SucceededRescale", now,
			"the HPA controller was able to update the target scale to %d", desired)
		c.recorder.Eventf(hpa, corev1.EventTypeNormal, "SuccessfulRescale", "New size: %d; reason: %s", desired, reason)
		h.recordChange(now, current, desired, hpa.Spec.Behavior)
		c.log.Info("rescaled", "horizontalpodautoscaler", key, "target", reference, "currentReplicas", current,
			"desiredReplicas", desired, "reason", reason)
		if current > 0 && desired == 0 && minReplicas == 0 && objectOrExternal {
			setCondition(hpa, autoscalingv2.ScaledToZero, corev1.ConditionTrue, "ScaledToZero", now,
				"the HPA controller scaled the workload to zero")
		} else {
			setCondition(hpa, autoscalingv2.ScaledToZero, corev1.ConditionFalse, "NotScaledToZero", now,
				"the HPA controller did not scale the workload to zero")
		}
	} else {
		desired = current
	}
	c.setStatus(hpa, current, desired, statuses, rescale, now)
	if err := c.writeStatusIfChanged(ctx, original, hpa); err != nil {
		return err
	}
	return retErr
}

// getScale reads the Scale of hpa's target, trying each resource its kind maps to,
// and returns it with the resource that served it. With none serving it, the first
// error is returned. A kind the mapper does not know resets it, for the next sync
// to see resources served since.
func (c *Controller) getScale(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv1.Scale, schema.GroupResource, error) {
	ref := hpa.Spec.ScaleTargetRef
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, schema.GroupResource{}, err
	}
	mappings, err := c.mapper.RESTMappings(schema.GroupKind{Group: gv.Group, Kind: ref.Kind})
	if err != nil {
		if r, ok := c.mapper.(apimeta.ResettableRESTMapper); ok {
			r.Reset()
		}
		return nil, schema.GroupResource{}, err
	}
	var first error
	for _, m := range mappings {
		gr := m.Resource.GroupResource()
		sc, err := c.scales.Scales(hpa.Namespace).Get(ctx, gr, ref.Name, metav1.GetOptions{})
		if err == nil {
			return sc, gr, nil
		}
		if first == nil {
			first = err
		}
	}
	if first == nil {
		first = errors.New("unrecognized resource")
	}
	return nil, schema.GroupResource{}, first
}

// updateScale sets the target's replicas to desired, reading the Scale again after a
// conflict.
func (c *Controller) updateScale(ctx context.Context, hpa *autoscalingv2.HorizontalPodAutoscaler, gr schema.GroupResource, sc *autoscalingv1.Scale, desired int32) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		next := sc.DeepCopy()
		next.Spec.Replicas = desired
		_, err := c.scales.Scales(hpa.Namespace).Update(ctx, gr, next, metav1.UpdateOptions{})
		if err == nil {
			return nil
		}
		if latest, getErr := c.scales.Scales(hpa.Namespace).Get(ctx, gr, hpa.Spec.ScaleTargetRef.Name, metav1.GetOptions{}); getErr == nil {
			sc = latest
		}
		return err
	})
}

// normalizeLegacy stabilizes and limits desired for an autoscaler without
// spec.behavior, setting the AbleToScale and ScalingLimited conditions.
func (c *Controller) normalizeLegacy(hpa *autoscalingv2.HorizontalPodAutoscaler, h *history, now time.Time, current, desired, minReplicas int32) int32 {
	stabilized := h.stabilizeLegacy(now, desired, c.downscaleStabilization)
	if stabilized != desired {
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "ScaleDownStabilized", now,
			"recent recommendations were higher than current one, applying the highest recent recommendation")
	} else {
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "ReadyForNewScale", now,
			"recommended size matches current size")
	}
	l := limitLegacy(current, stabilized, minReplicas, hpa.Spec.MaxReplicas)
	setLimited(hpa, l, stabilized, now)
	return l.replicas
}

// normalizeWithBehavior stabilizes and limits desired by hpa's spec.behavior,
// setting the AbleToScale and ScalingLimited conditions.
func (c *Controller) normalizeWithBehavior(hpa *autoscalingv2.HorizontalPodAutoscaler, h *history, now time.Time, current, desired, minReplicas int32) int32 {
	b := completeBehavior(hpa.Spec.Behavior, c.downscaleStabilization)
	upWindow := time.Duration(*b.ScaleUp.StabilizationWindowSeconds) * time.Second
	downWindow := time.Duration(*b.ScaleDown.StabilizationWindowSeconds) * time.Second
	stabilized, reason, message := h.stabilize(now, current, desired, upWindow, downWindow)
	if stabilized != desired {
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, reason, now, "%s", message)
	} else {
		setCondition(hpa, autoscalingv2.AbleToScale, corev1.ConditionTrue, "ReadyForNewScale", now,
			"recommended size matches current size")
	}
	l := h.limitWithRules(now, current, stabilized, minReplicas, hpa.Spec.MaxReplicas, b.ScaleUp, b.ScaleDown)
	setLimited(hpa, l, stabilized, now)
	return l.replicas
}

// setLimited sets the ScalingLimited condition: True when the limits changed the
// stabilized recommendation.
func setLimited(hpa *autoscalingv2.HorizontalPodAutoscaler, l limit, stabilized int32, now time.Time) {
	status := corev1.ConditionFalse
	if l.replicas != stabilized {
		status = corev1.ConditionTrue
	}
	setCondition(hpa, autoscalingv2.ScalingLimited, status, l.reason, now, "%s", l.message)
}

// setStatus replaces hpa's status with the current and desired replicas and the
// metrics, keeping the conditions and, unless it rescaled, the last scale time.
func (c *Controller) setStatus(hpa *autoscalingv2.HorizontalPodAutoscaler, current, desired int32, metrics []autoscalingv2.MetricStatus, rescaled bool, now time.Time) {
	generation := hpa.Generation
	status := autoscalingv2.HorizontalPodAutoscalerStatus{
		ObservedGeneration: &generation,
		CurrentReplicas:    current,
		DesiredReplicas:    desired,
		LastScaleTime:      hpa.Status.LastScaleTime,
		CurrentMetrics:     metrics,
		Conditions:         hpa.Status.Conditions,
	}
	if rescaled {
		t := metav1.NewTime(now)
		status.LastScaleTime = &t
	}
	hpa.Status = status
}

// writeStatusIfChanged writes hpa's status unless it equals original. A failed write
// is reported in a FailedUpdateStatus event and returned.
func (c *Controller) writeStatusIfChanged(ctx context.Context, original *autoscalingv2.HorizontalPodAutoscalerStatus, hpa *autoscalingv2.HorizontalPodAutoscaler) error {
	if apiequality.Semantic.DeepEqual(original, &hpa.Status) {
		return nil
	}
	if _, err := c.client.AutoscalingV2().HorizontalPodAutoscalers(hpa.Namespace).UpdateStatus(ctx, hpa, metav1.UpdateOptions{}); err != nil {
		c.recorder.Event(hpa, corev1.EventTypeWarning, "FailedUpdateStatus", err.Error())
		return fmt.Errorf("failed to update status for %s: %w", hpa.Name, err)
	}
	return nil
}

// setCondition sets hpa's condition of type t, adding it if missing; its transition
// time moves to now when its status changes.
func setCondition(hpa *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType,
	status corev1.ConditionStatus, reason string, now time.Time, format string, args ...any) {
	conds := hpa.Status.Conditions
	i := 0
	for i < len(conds) && conds[i].Type != t {
		i++
	}
	if i == len(conds) {
		conds = append(conds, autoscalingv2.HorizontalPodAutoscalerCondition{Type: t})
	}
	cond := &conds[i]
	if cond.Status != status {
		cond.LastTransitionTime = metav1.NewTime(now)
	}
	cond.Status, cond.Reason, cond.Message = status, reason, fmt.Sprintf(format, args...)
	hpa.Status.Conditions = conds
}

func conditionTrue(hpa *autoscalingv2.HorizontalPodAutoscaler, t autoscalingv2.HorizontalPodAutoscalerConditionType) bool {
	for _, c := range hpa.Status.Conditions {
		if c.Type == t {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func hasObjectOrExternalMetric(hpa *autoscalingv2.HorizontalPodAutoscaler) bool {
	for _, m := range hpa.Spec.Metrics {
		if m.Type == autoscalingv2.ObjectMetricSourceType || m.Type == autoscalingv2.ExternalMetricSourceType {
			return true
		}
	}
	return false
}
