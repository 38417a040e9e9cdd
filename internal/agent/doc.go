// Package agent provides podium's node agent, a kubelet: it registers its Node and keeps
// its Lease fresh, watches the pods bound to its node and runs each through the
// container runtime with one worker per pod, reports their status and events as
// upstream does, and serves their logs, exec, attach and port-forward to the API server.
//
// The decisions are pure: Planner.Plan says what a pod needs done next given what the
// runtime has, and ComputeStatus says what to report; workers carry them out.
package agent
