// Package storage provides podium's object store: Kubernetes objects kept in etcd under
// /registry/<resource>/<namespace>/<name>, encoded as protobuf, with the etcd modification
// revision as each object's resourceVersion.
//
// Store does one etcd round trip per read and an optimistic compare-and-swap per write;
// Cache sits in front of it for watches, so any number of watchers of a resource cost one
// etcd watch.
package storage
