// Package clusterid keeps the cluster's identity in its datastore, so that every server
// of one cluster has the same: the cluster CA and the front proxy's CA (certificates and
// keys), the service-account signing key, the admin token and the join secret. As k3s
// keeps its bootstrap data, they are stored in etcd as one record encrypted with
// AES-256-GCM under a key derived from the join secret (PBKDF2-SHA256), beside a hash of
// the secret that tells a server given another token that it belongs to another cluster.
//
// The first server of a cluster stores what it made; every server after it takes the
// record and writes its files into its data directory before it makes anything of its
// own. Each server then makes its own serving and client certificates with the shared CA.
package clusterid
