// Package apiserver provides podium's Kubernetes REST API: the handlers for every verb on
// the resources that registry strategies describe, discovery, server-side Tables, content
// negotiation (JSON, YAML, protobuf), watches served from the storage cache, and the
// errors clients expect, as metav1.Status. Pod logs, exec, attach and port-forward are
// proxied to the node agent of the pod's node (proxy.go). Resources kept in memory
// rather than in storage, such as metrics.k8s.io's, are served for get and list through
// ReadOnlyResource (readonly.go).
//
// Each verb has its own file. Handlers see storage only through the narrow Store and
// Cache types of package storage, and per-resource behaviour only through the strategy.
package apiserver
