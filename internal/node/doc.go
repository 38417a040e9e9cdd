// Package node provides `podium agent`, and the agent that `podium server` runs for its
// own node: it joins the cluster with the join token (checking the server against the
// token's CA hash) and asks with it for the node's client certificate, then with that
// for its serving certificate (TLS bootstrap through the CertificateSigningRequest API,
// renewed by client-go's certificate manager); it wires the agent to the runc runtime,
// the image store, the CNI network and the service proxy, and serves the kubelet's paths
// (logs, exec, attach, port-forward, /pods, /logs/, /healthz, and the resource usage of
// its pods at /stats/summary and /metrics/resource) to clients with a
// certificate of the cluster CA that the API server says may use them. Uninstall takes a
// stopped node off its host (`podium agent uninstall`).
package node
