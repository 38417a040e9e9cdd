// Package podautoscaler provides the HorizontalPodAutoscaler controller: every 15
// seconds it reads each autoscaling/v2 HorizontalPodAutoscaler's target through the
// scale subresource, compares the pods' resource usage (metrics.k8s.io/v1beta1
// PodMetrics) with the metric targets, and sets the target's replicas and the
// autoscaler's status, as kube-controller-manager's does.
//
//   - Metrics: Resource and ContainerResource metrics, as a utilization of the pods'
//     requests or an average value. Each metric proposes a replica count; the largest
//     wins. A usage ratio within the tolerance (0.1 each way, or the behavior's
//     scaleUp/scaleDown tolerance) keeps the current count. Pods being deleted or
//     failed are ignored; pending pods, and for CPU pods not yet ready or sampled too
//     soon after becoming ready (within a 5 minute initialization period, or that have
//     never been ready 30 s after starting), count as using nothing on a scale up and
//     are left out otherwise; running pods without a sample count as using nothing on a
//     scale up and their full request (or the target) on a scale down. Pods, Object and
//     External metrics need the custom and external metrics APIs, which are not read:
//     they fail as on a cluster where those APIs are not registered.
//   - Limits: without spec.behavior, recommendations of the last 5 minutes keep the
//     count from falling, and one step grows it to at most max(2×current, 4). With it,
//     each direction's stabilization window keeps the count between the lowest (up)
//     and highest (down) recent recommendation, and its policies (Pods or Percent per
//     periodSeconds, combined by selectPolicy Max, Min or Disabled) bound the change
//     against the changes this controller made within each period. The result is
//     clamped to [minReplicas, maxReplicas]. A target scaled to zero by hand is left
//     alone (ScalingActive False, ScalingDisabled).
//   - Status: currentReplicas, desiredReplicas, lastScaleTime, currentMetrics,
//     observedGeneration, and the AbleToScale, ScalingActive and ScalingLimited
//     conditions with upstream's reasons and messages; events SuccessfulRescale,
//     FailedRescale, FailedGetScale, FailedGetResourceMetric,
//     FailedGetContainerResourceMetric, FailedComputeMetricsReplicas,
//     SelectorRequired, InvalidSelector, AmbiguousSelector and FailedUpdateStatus.
//
// The recommendations and scale events behind the limits live in the controller's
// memory, as upstream's do: a restart forgets them.
package podautoscaler
