package auth

import (
	"context"
	"fmt"
	"slices"
)

// PodNodeFunc returns the node a pod is bound to ("" when unbound).
type PodNodeFunc func(ctx context.Context, namespace, name string) (string, error)

// NodeAuthorizer lets members of system:masters do everything and keeps nodes to what a
// kubelet needs: read what its pods use, write its own Node and Lease, the status of the
// pods bound to it (and their deletion), and events. Everyone else is refused.
type NodeAuthorizer struct {
	podNode PodNodeFunc
}

var _ Authorizer = (*NodeAuthorizer)(nil)

// NewNodeAuthorizer returns the authorizer; podNode looks up a pod's node.
func NewNodeAuthorizer(podNode PodNodeFunc) *NodeAuthorizer {
	return &NodeAuthorizer{podNode: podNode}
}

func readOnly(verb string) bool { return verb == "get" || verb == "list" || verb == "watch" }

// Authorize implements Authorizer.
func (n *NodeAuthorizer) Authorize(ctx context.Context, u *User, a Attributes) (bool, string) {
	for _, g := range u.Groups {
		if g == MastersGroup {
			return true, ""
		}
	}
	if a.Resource == "" && a.Path != "" && (a.Verb == "get" || a.Verb == "head") &&
		(PublicPath(a.Path) || discoveryPath(a.Path) && slices.Contains(u.Groups, AuthenticatedGroup)) {
		return true, ""
	}
	node, ok := u.NodeName()
	if !ok {
		return false, "" // not a node: the node authorizer has no opinion
	}
	deny := func(why string) (bool, string) {
		return false, fmt.Sprintf("node %q %s", node, why)
	}
	switch {
	case a.Group == "" && a.Resource == "nodes":
		if readOnly(a.Verb) {
			return true, ""
		}
		if a.Verb == "create" || a.Name == node {
			// A create's name is in the body; the API server checks it with
			// CheckCreate.
			if a.Verb == "create" || a.Verb == "update" || a.Verb == "patch" {
				return true, ""
			}
		}
		return deny("can only modify its own Node object")
	case a.Group == "coordination.k8s.io" && a.Resource == "leases":
		if a.Namespace != "kube-node-lease" {
			return deny("can only access leases in kube-node-lease")
		}
		if readOnly(a.Verb) || a.Verb == "create" || a.Name == node {
			return true, ""
		}
		return deny("can only modify its own Lease")
	case a.Group == "" && a.Resource == "pods":
		if readOnly(a.Verb) && a.Subresource == "" {
			return true, ""
		}
		if (a.Subresource == "status" && (a.Verb == "update" || a.Verb == "patch" || a.Verb == "get")) ||
			(a.Subresource == "" && a.Verb == "delete") {
			bound, err := n.podNode(ctx, a.Namespace, a.Name)
			if err != nil {
				return deny(fmt.Sprintf("cannot check pod %s/%s: %v", a.Namespace, a.Name, err))
			}
			if bound == node {
				return true, ""
			}
			return deny(fmt.Sprintf("can only modify pods bound to it; %s/%s is not", a.Namespace, a.Name))
		}
		return deny("cannot " + a.Verb + " pods/" + a.Subresource)
	case (a.Group == "" || a.Group == "events.k8s.io") && a.Resource == "events":
		if a.Verb == "create" || a.Verb == "update" || a.Verb == "patch" || readOnly(a.Verb) {
			return true, ""
		}
		return deny("cannot " + a.Verb + " events")
	case a.Group == "" && a.Resource == "secrets":
		// A node reads the secrets its pods name, one by one; it may not list them all.
		// (Upstream also checks that a pod bound to the node names the secret.)
		if a.Verb == "get" {
			return true, ""
		}
		return deny("cannot " + a.Verb + " secrets; only get them by name")
	case (a.Group == "discovery.k8s.io" && a.Resource == "endpointslices") || (a.Group == "networking.k8s.io" && a.Resource == "networkpolicies"):
		// The node's service dataplane reads them (upstream's kube-proxy role, and a
		// network policy agent's).
		if readOnly(a.Verb) {
			return true, ""
		}
	case a.Group == "" && (a.Resource == "configmaps" || a.Resource == "services" ||
		a.Resource == "endpoints" || a.Resource == "namespaces" || a.Resource == "serviceaccounts"):
		if readOnly(a.Verb) {
			return true, ""
		}
	}
	return deny(fmt.Sprintf("cannot %s resource %q in API group %q", a.Verb, a.Resource, a.Group))
}

// CheckCreate tells whether a node may create the named object: nodes create only their
// own Node and Lease.
func CheckCreate(u *User, a Attributes, name string) (bool, string) {
	node, ok := u.NodeName()
	if !ok {
		return true, ""
	}
	if (a.Resource == "nodes" || a.Resource == "leases") && name != node {
		return false, fmt.Sprintf("node %q can only create its own %s", node, a.Resource)
	}
	return true, ""
}
