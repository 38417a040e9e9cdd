// Package proxy provides the node's service dataplane, as kube-proxy's nftables mode
// does it: from the Services and EndpointSlices of the cluster it programs one nftables
// table of podium's own ("ip podium") so that ClusterIPs, NodePorts, LoadBalancer ingress
// addresses and externalIPs reach the Services' endpoints.
//
// What the table does, per Service port:
//   - traffic to the ClusterIP (and to a LoadBalancer ingress address, an externalIP or a
//     NodePort on one of the node's addresses) is DNATed to one endpoint chosen at random,
//     or to the client's earlier endpoint under sessionAffinity ClientIP;
//   - endpoints are the ready ones, or, when none is ready, the serving terminating ones;
//     internalTrafficPolicy and externalTrafficPolicy Local keep to the node's own;
//   - traffic from outside the cluster CIDR to a ClusterIP, all traffic of
//     externalTrafficPolicy Cluster, and a pod reaching itself (hairpin) are masqueraded;
//   - a Service port without endpoints is rejected (ICMP unreachable or TCP reset), and
//     one whose only endpoints are elsewhere under a Local policy is dropped, as upstream.
//
// Beside the table, the proxy serves the health check node port of every LoadBalancer
// Service with externalTrafficPolicy Local, as kube-proxy does: 200 while the node has
// a ready endpoint of it, else 503, for load balancers to pick nodes by.
//
// The first sync replaces the whole table in one transaction (no moment without rules
// after an agent restart); later syncs write only the chains and map elements that
// changed. Remove deletes the table.
package proxy
