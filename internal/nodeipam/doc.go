// Package nodeipam provides each Node's pod CIDR: when a Node is created without one, it
// gets the next free /24 of the cluster CIDR (10.42.0.0/16 by default, as k3s), in
// spec.podCIDR and spec.podCIDRs. Like servicealloc, it claims each range in etcd, so
// that servers sharing a datastore never give one range to two Nodes.
package nodeipam
