// Package stats provides the node agent's resource usage figures, as the kubelet serves
// them: CPU and memory of the node, of each pod and of each container, read from the
// cgroups the runtime put them in (cgroup v1 or v2) and from /proc, served as the
// kubelet's Summary API (/stats/summary, k8s.io/kubelet's stats/v1alpha1) and as its
// resource metrics in the Prometheus text format (/metrics/resource), which
// metrics-server and podium's own metrics.k8s.io scrape.
//
// A Reader reads one cgroup or the node at one moment (cumulative CPU time, memory in
// use and the working set, which is memory less inactive file pages, as cAdvisor
// computes it). A Provider asks a Source which pods and containers run, reads them, and
// turns two readings of a cgroup into a rate (usageNanoCores), keeping the previous
// reading of each cgroup for that.
package stats
