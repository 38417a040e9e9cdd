// Package servicealloc provides the cluster IPs and node ports of Services: on create it
// gives a Service a free address from the service CIDR (and free node ports to NodePort
// and LoadBalancer services), and it refuses addresses and ports already taken.
//
// What is taken is read from the existing Services, plus what this process handed out
// recently and its cache may not show yet; allocation is serialized in the process.
// Servers sharing a datastore also claim each pick in etcd (package claims), so that
// only one of them can hand out an address or port: the loser picks again.
package servicealloc
