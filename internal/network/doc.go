// Package network provides pod networking through CNI (libcni) with the standard plugins
// of Debian's containernetworking-plugins: a bridge with host-local addresses from the
// node's pod CIDR, loopback, and portmap for hostPorts.
//
// Each pod gets two attachments, both run by libcni from in-memory configuration (no
// files under /etc/cni): "podium-loopback" (the loopback plugin brings lo up) and
// "podium", a chain of bridge {isGateway, ipMasq, hairpinMode, host-local IPAM} and
// portmap {portMappings capability, snat}. The spec version is 1.0.0, the newest the
// Debian plugins (1.1.1) speak.
//
// State on disk, under Config.StateDir: ipam/ (host-local's allocations, one file per
// address) and cache/ (libcni's record of each ADD: the result DEL gets as prevResult and
// the hostPorts DEL must remove). Both must outlive an agent restart.
//
// State on the host: the bridge (created by the first ADD; DEL leaves it),
// net.ipv4.ip_forward=1 (set by the bridge plugin), per-pod nat rules (removed by
// Teardown), portmap's shared CNI-HOSTPORT-* chains, and, when Config.ClusterCIDR is set,
// one nat POSTROUTING rule that keeps pod-to-cluster traffic unmasqueraded.
// RemoveNodeNetwork removes the bridge and those rules on node teardown.
// TeardownLeftovers detaches what the CNI cache says a dead agent left attached.
package network
