// Package nodelifecycle provides the node lifecycle controller of `podium server`, which
// does what upstream's node lifecycle and taint eviction controllers do:
//
//   - A node whose agent neither renews its Lease in kube-node-lease nor posts a new Ready
//     heartbeat for the grace period (40 s; 60 s for a node that never posted status) has
//     its Ready, MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown
//     ("NodeStatusUnknown", "Kubelet stopped posting node status.").
//   - Nodes carry NoSchedule taints for their conditions (not-ready, unreachable,
//     memory-pressure, disk-pressure, pid-pressure, network-unavailable) and for
//     spec.unschedulable, added and removed as the conditions change.
//   - A node whose Ready is False gets node.kubernetes.io/not-ready:NoExecute, Unknown gets
//     node.kubernetes.io/unreachable:NoExecute, True loses both. Adding them is
//     rate-limited per zone (0.1 nodes/s) and stops while every node of the cluster is
//     not ready, when the fault is more likely the control plane's than the nodes'.
//   - When the controller turns a node's Ready from True to Unknown, the pods on it get
//     Ready=False and a NodeNotReady event; so do pods bound later to a node not ready.
//   - A pod on a node with NoExecute taints is deleted (gracefully, with a
//     TaintManagerEviction event) at once if it does not tolerate one of them, when the
//     shortest tolerationSeconds of the tolerations it uses has run out since the taint's
//     timeAdded, or never if none of those tolerations has tolerationSeconds.
//
// The Ready condition of a node, as the controller moves it:
//
//	True or False --(no new heartbeat nor Lease renewal for the grace period)--> Unknown
//	Unknown --(the agent posts its status again)--> True or False (the agent's doing)
//
// Time is the injected clock's: tests step a fake clock through grace periods and
// toleration periods.
package nodelifecycle
