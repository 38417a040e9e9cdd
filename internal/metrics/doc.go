// Package metrics provides the resource metrics API, metrics.k8s.io/v1beta1, as
// metrics-server computes it but served by podium's API server itself: NodeMetrics
// (cluster-scoped) and PodMetrics (namespaced), for get and list, which is what
// `kubectl top` and the HorizontalPodAutoscaler read.
//
// A Scraper reads every Ready node's /metrics/resource (the kubelet's resource
// metrics, served by the node agent) every resolution, through whatever reaches the
// agents; a Store keeps the last two readings of each node and container; CPU usage is
// the rate between them, memory the last working set, and each object carries the
// time of its reading and the window the rate spans. NodeMetrics and PodMetrics serve
// them as apiserver.ReadOnlyResources.
package metrics
