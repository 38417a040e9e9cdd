// Package networkpolicy provides the strategy for networking.k8s.io/v1 NetworkPolicies:
// upstream's defaults (policy types from the rules present, TCP for ports without a
// protocol), the spec checked as upstream checks it, and the Table columns kubectl
// shows. NetworkPolicies have no status; podium stores them and leaves enforcement to
// whatever network plugin reads them.
package networkpolicy
