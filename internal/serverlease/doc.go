// Package serverlease keeps the set of live API servers, as upstream's lease endpoint
// reconciler does with its master leases: each server holds a key in etcd, under
// /podium/serverleases/, bound to an etcd lease it keeps alive; a server that dies or
// loses etcd lets its key expire within the TTL. Every server watches the prefix, and the
// set it sees becomes the endpoints of the kubernetes and kube-dns Services, which agents
// read to learn where else they may go.
package serverlease
