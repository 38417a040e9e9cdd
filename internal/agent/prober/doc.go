// Package prober provides the agent's container probes: liveness, readiness and startup,
// each run by its own worker per container, with httpGet, tcpSocket, exec and grpc
// handlers, thresholds and initial delays as upstream's kubelet runs them.
//
// A worker's loop owns its ticker; doProbe does exactly one probe and is what tests
// call, with a fake clock. Results go to the agent through Results: whether a container
// is ready or started, and a callback when liveness or startup fails for good.
package prober
