// Package prober provides the agent's container probes: liveness, readiness and startup,
// each run by its own worker per container, with httpGet, tcpSocket, exec and grpc
// handlers, thresholds and initial delays as upstream's kubelet runs them.
//
// A worker's loop owns its ticker; doProbe does exactly one probe and is what tests
// call, with a fake clock. What probes find reaches the agent through Events (failures,
// warnings, kills, changes); Manager.Ready and Manager.Started say whether a container is
// ready or has started.
package prober
