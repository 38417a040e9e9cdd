// Package builtinservice provides the controller that keeps a Service podium itself
// serves, with its Endpoints and EndpointSlice pointing at podium: default/kubernetes
// (the API server) and kube-system/kube-dns (the cluster DNS), as clients in pods expect.
// They are created at start and put back whenever changed or deleted.
package builtinservice
