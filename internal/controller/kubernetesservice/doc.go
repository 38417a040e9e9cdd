// Package kubernetesservice provides the controller that keeps Service default/kubernetes
// and its Endpoints and EndpointSlice pointing at the API server, as clients in pods
// expect: created at start, and put back whenever changed or deleted.
package kubernetesservice
