// Package horizontalpodautoscaler provides the strategies for HorizontalPodAutoscalers,
// served as upstream serves them at two versions sharing one storage: autoscaling/v2,
// the stored form (NewV2), and autoscaling/v1, converted to and from it (NewV1).
//
// Both apply upstream's defaults (one minimum replica; a CPU utilization target of 80%
// when no metric is given; a behavior, when set, completed with the scale-up and
// scale-down rules the controller would otherwise use), upstream's validation with
// its field paths and messages (reported in the autoscaling/v2 form, whichever version
// was written), the status subresource with the generation bumped on spec changes,
// and the Table columns kubectl shows.
//
// autoscaling/v1 has fields for one CPU utilization target only. As upstream does, it
// carries the rest of the autoscaling/v2 object in annotations: the other metrics, the
// current metrics, the conditions and the behavior, each as JSON. An autoscaling/v1
// write with these annotations restores those fields; they are never stored.
//
// The bounds of minReplicas and maxReplicas, which upstream has moved to declarative
// validation, report as upstream's API server reports them with its beta declarative
// rules enabled: after the handwritten errors, and a missing maxReplicas with no
// detail. Scaling to zero replicas (the HPAScaleToZero gate, beta and on in v1.37) is
// allowed when an Object or External metric is given.
package horizontalpodautoscaler
