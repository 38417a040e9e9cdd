// Package daemonset runs the DaemonSet controller: one pod of each DaemonSet on every
// node that should run it, as upstream's does.
//
//   - A node should run a DaemonSet's pod when the pod's node selector and required node
//     affinity match it and it tolerates the node's NoSchedule and NoExecute taints; a
//     pod already there may stay while only NoSchedule taints are untolerated.
//   - The pods get upstream's extra tolerations (not-ready and unreachable NoExecute;
//     disk, memory and PID pressure, unschedulable, and for host-network pods
//     network-unavailable NoSchedule) and a required node affinity for their node's
//     name, so that the scheduler binds them there.
//   - Each template is a ControllerRevision named after the DaemonSet and the template's
//     hash; pods carry the hash in their controller-revision-hash label. RollingUpdate
//     replaces pods of older revisions while at most maxUnavailable are unavailable;
//     OnDelete leaves them until they are deleted. Failed pods are replaced.
//   - Status: desired, current, misscheduled, ready, available and updated counts.
package daemonset
