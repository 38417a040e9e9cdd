// Package network provides pod networking through CNI (libcni) with the standard plugins
// of Debian's containernetworking-plugins: a bridge with host-local addresses from the
// node's pod CIDR, and portmap for hostPorts.
//
// Each pod's eth0 is one attachment, "podium", run by libcni from in-memory
// configuration (no files under /etc/cni): bridge {isGateway, hairpinMode, host-local
// IPAM}, followed by portmap {portMappings capability, snat} only for a pod with
// hostPorts. The spec version is 1.0.0, the newest the Debian plugins (1.1.1) speak. Setup
// brings the pod's lo up itself, with one ioctl in the namespace, instead of running the
// loopback plugin: that plugin is a process start per pod for one flag. Teardown still
// runs its DEL for a pod whose ADD an older podium ran.
//
// State on disk, under Config.StateDir: ipam/ (host-local's allocations, one file per
// address) and cache/ (libcni's record of each ADD: the result DEL gets as prevResult and
// the hostPorts DEL must remove). Both must outlive an agent restart.
//
// State on the host: the bridge (created by the first ADD; DEL leaves it),
// net.ipv4.ip_forward=1 (set by the bridge plugin), portmap's shared CNI-HOSTPORT-*
// chains, and two node-wide nat POSTROUTING rules (hostRules): pod traffic to the cluster
// CIDR keeps its source, the rest is masqueraded. RemoveNodeNetwork removes the bridge
// and those rules on node teardown. TeardownLeftovers detaches what the CNI cache says a
// dead agent left attached.
package network
