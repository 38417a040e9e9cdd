// Package netpol provides the nftables rules that enforce Kubernetes NetworkPolicies
// (networking.k8s.io/v1) on one node, as a Fragment of chains, sets and base-chain rules
// that the service dataplane (package proxy) writes into its table "ip podium".
//
// Build is a pure function of the cluster's pods, namespaces and policies; it does no IO.
// Equal inputs give equal Fragments (slices sorted, names stable), so a writer that
// diffs what it wrote before touches only what changed.
//
// # Semantics
//
// A pod is isolated for ingress when a policy of its namespace selects it and has the
// Ingress policy type, and likewise for egress; policy types left unset default as the
// API server defaults them (Ingress always, Egress when the policy has egress rules).
// A new connection from an egress-isolated pod must be allowed by an egress rule of a
// policy selecting it; one to an ingress-isolated pod, by an ingress rule. Each check
// is made on the node of the pod it concerns, so a connection between two pods of this
// node meets both here. Rules of all policies selecting a pod are united. Peers are
// pods by podSelector (the policy's namespace), by namespaceSelector, or both, and
// ipBlocks less their exceptions (ipBlocks apply to every address, pods' included).
// An empty peer list is any peer, an empty port list any port; a rule list that is
// empty allows nothing. Ports are TCP unless told, a number, a number to endPort, or a
// name: for ingress the name is looked up in the destination (this node's) pod's
// container ports, for egress in each destination pod's, so egress named ports are a
// set of address . protocol . port. Protocol-only ports match any port of it.
//
// Connections already established (and traffic related to them) pass; only new and
// untracked traffic is judged, and what is denied is dropped. The node's own
// connections to its pods (kubelet probes; source address local to the node) always
// pass. Pods on the host's network are neither enforced nor peers: their traffic is the
// node's. Terminal pods and pods without an IPv4 address are neither, and when two pods
// claim one address the first by namespace/name has it. IPv6 is not handled.
//
// # Rules
//
// Everything lives in the "ip" family, beside the proxy's chains, with names that start
// with "np-":
//
//	filter-forward (base chain; Fragment.Forward appended):
//	    ct state established,related accept
//	    ct state new,untracked jump np-egress
//	    ct state new,untracked jump np-ingress
//	filter-input (base chain; Fragment.Input appended):
//	    ct state new,untracked jump np-egress
//	np-egress:   ip saddr vmap { <pod IP> : jump np-pod-out-<hash>-<ns>/<pod>, ... }
//	np-ingress:  fib saddr type local return
//	             ip daddr vmap { <pod IP> : jump np-pod-in-<hash>-<ns>/<pod>, ... }
//	np-pod-in-…:  one rule per allowed (peers, port) ending in "return", then "drop"
//	np-pod-out-…: likewise, e.g. "ip daddr @np-out-0-… meta l4proto udp th dport 53 return"
//
// There is one chain per isolated pod of this node and direction; a pod that is not
// isolated has none and its traffic passes. Peer addresses are named interval sets of
// ipv4_addr, one per policy rule ("np-in-<i>-<hash>-<ns>/<policy>", "np-out-<i>-…"),
// shared by every pod the policy selects; egress named ports are one
// "ipv4_addr . inet_proto . inet_service" set per egress rule ("np-out-ports-<i>-…").
// The hash (of namespace/name) keeps names apart where the readable part is cut.
//
// Forward runs after the Service DNAT, so a connection through a ClusterIP or NodePort is
// judged with the endpoint's address and port, as NetworkPolicy asks. Input judges a
// pod's connections to the node's own addresses (the cluster DNS served by the node, a
// pod on the host's network) against its egress rules. Nothing is needed in
// filter-output: traffic the node sends to its pods is always allowed.
package netpol
