// Package network provides pod networking through CNI (libcni) with the standard plugins
// of Debian's containernetworking-plugins: a bridge with host-local addresses from the
// node's pod CIDR, loopback, and portmap for hostPorts.
package network
