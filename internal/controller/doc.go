// Package controller groups the controllers `podium server` runs against its own API,
// each in a subpackage: the workloads (replicaset, which serves ReplicationControllers
// too, deployment, statefulset, daemonset, job, cronjob, ttlafterfinished), disruption
// budgets, the garbage collector, service accounts, the root CA ConfigMap, namespace
// deletion, Services' endpoints (endpointslice, endpoints, endpointslicemirroring),
// servicelb (LoadBalancer addresses), builtinservice (the kubernetes and kube-dns
// Services) and node lifecycle (heartbeats, taints, NoExecute eviction). They use
// client-go informers like any other client; reconcile is the loop they share,
// expectations the record of pod writes not yet seen, slicetracker that of EndpointSlice
// writes, podclaim the adoption and release of pods and revisions, templatehash the
// revision hashes, pernamespace the shape of those that keep one object in every
// namespace.
package controller
