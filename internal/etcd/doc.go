// Package etcd provides the embedded single-member etcd that podium server keeps its
// objects in when no external etcd cluster is given, with its client URL on loopback and
// periodic compaction so the database does not grow without bound. It speaks TLS and
// accepts only clients with a certificate from the cluster CA.
package etcd
