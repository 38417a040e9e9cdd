// Package node provides `podium agent`, and the agent that `podium server` runs for its
// own node: it joins the cluster with the join token (checking the server against the
// token's CA hash), wires the agent to the runc runtime, the image store and the CNI
// network, and serves logs, exec, attach and port-forward to the API server.
package node
