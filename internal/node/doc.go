// Package node provides `podium agent`, and the agent that `podium server` runs for its
// own node: it joins the cluster with the join token (checking the server against the
// token's CA hash), wires the agent to the runc runtime, the image store, the CNI
// network and the service proxy, and serves the API server on the kubelet's paths (logs,
// exec, attach, port-forward, /pods, /logs/, /healthz). Uninstall takes a stopped node
// off its host (`podium agent uninstall`).
package node
