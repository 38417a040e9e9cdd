package auth

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// PodNodeFunc returns the node a pod is bound to ("" when unbound).
type PodNodeFunc func(ctx context.Context, namespace, name string) (string, error)

// PodsOnNodeFunc returns the pods of a namespace bound to a node.
type PodsOnNodeFunc func(ctx context.Context, node, namespace string) []*corev1.Pod

// NodeAuthorizer lets members of system:masters do everything and keeps nodes to what a
// kubelet needs: read what its pods use, write its own Node and Lease, the status of the
// pods bound to it (and their deletion), and events. Everyone else is refused.
type NodeAuthorizer struct {
	podNode PodNodeFunc
	podsOn  PodsOnNodeFunc
	// ClaimVolume, when set, returns the PersistentVolume a claim is bound to, so
	// that a node may read the volumes of its pods' claims.
	ClaimVolume func(ctx context.Context, namespace, name string) string
}

var _ Authorizer = (*NodeAuthorizer)(nil)

// NewNodeAuthorizer returns the authorizer; podNode looks up a pod's node, podsOn the
// pods bound to a node.
func NewNodeAuthorizer(podNode PodNodeFunc, podsOn PodsOnNodeFunc) *NodeAuthorizer {
	return &NodeAuthorizer{podNode: podNode, podsOn: podsOn}
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
		// Nodes and their status, nothing else: nodes/proxy (the agents' API) is not
		// a node's to use.
		if a.Subresource != "" && a.Subresource != "status" {
			return deny("cannot " + a.Verb + " nodes/" + a.Subresource)
		}
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
		if a.Verb == "create" || a.Verb == "update" || a.Verb == "patch" {
			return true, ""
		}
		return deny("cannot " + a.Verb + " events")
	case a.Group == "" && (a.Resource == "secrets" || a.Resource == "configmaps"):
		// As upstream's graph: a node gets, one by one, the secrets and configmaps that
		// pods bound to it name, and nothing else.
		if a.Verb != "get" || a.Subresource != "" || a.Name == "" {
			return deny(fmt.Sprintf("cannot %s %s; only get, by name, those of pods bound to it", a.Verb, a.Resource))
		}
		if n.podsOn != nil {
			for _, p := range n.podsOn(ctx, node, a.Namespace) {
				if podReferences(p, a.Resource, a.Name) {
					return true, ""
				}
			}
		}
		return deny(fmt.Sprintf("no relationship found between node %q and %s %s/%s", node, a.Resource, a.Namespace, a.Name))
	case a.Group == "" && a.Resource == "serviceaccounts" && a.Subresource == "token":
		// The tokens of the service accounts its pods run as; the API server binds
		// each to a pod of the node's (see the TokenRequest).
		if a.Verb == "create" && n.podsOn != nil {
			for _, p := range n.podsOn(ctx, node, a.Namespace) {
				if p.Spec.ServiceAccountName == a.Name {
					return true, ""
				}
			}
		}
		return deny(fmt.Sprintf("no relationship found between node %q and serviceaccount %s/%s", node, a.Namespace, a.Name))
	case a.Group == "" && a.Resource == "persistentvolumeclaims":
		// The claims of its pods (their own, and their ephemeral volumes').
		if a.Verb == "get" && a.Subresource == "" && a.Name != "" && n.podsOn != nil {
			for _, p := range n.podsOn(ctx, node, a.Namespace) {
				if slices.Contains(podClaims(p), a.Name) {
					return true, ""
				}
			}
		}
		return deny(fmt.Sprintf("no relationship found between node %q and persistentvolumeclaims %s/%s", node, a.Namespace, a.Name))
	case a.Group == "" && a.Resource == "persistentvolumes":
		// The volumes its pods' claims are bound to.
		if a.Verb == "get" && a.Subresource == "" && a.Name != "" && n.podsOn != nil && n.ClaimVolume != nil {
			for _, p := range n.podsOn(ctx, node, "") {
				for _, claim := range podClaims(p) {
					if n.ClaimVolume(ctx, p.Namespace, claim) == a.Name {
						return true, ""
					}
				}
			}
		}
		return deny(fmt.Sprintf("no relationship found between node %q and persistentvolumes %s", node, a.Name))
	case (a.Group == "discovery.k8s.io" && a.Resource == "endpointslices") || (a.Group == "networking.k8s.io" && a.Resource == "networkpolicies"):
		// The node's service dataplane reads them (upstream's kube-proxy role, and a
		// network policy agent's).
		if readOnly(a.Verb) {
			return true, ""
		}
	case a.Group == "" && (a.Resource == "services" || a.Resource == "endpoints" || a.Resource == "namespaces"):
		if readOnly(a.Verb) {
			return true, ""
		}
	case a.Group == "certificates.k8s.io" && a.Resource == "certificatesigningrequests" && a.Subresource == "":
		// A node asks for its certificates and waits for them; what it may ask for
		// (its own renewal, selfnodeclient) is RBAC's to say.
		if readOnly(a.Verb) || a.Verb == "create" {
			return true, ""
		}
	case a.Group == "authorization.k8s.io" && (a.Resource == "subjectaccessreviews" || a.Resource == "localsubjectaccessreviews"),
		a.Group == "authentication.k8s.io" && a.Resource == "tokenreviews":
		// The agent asks who its clients are and what they may do on it.
		if a.Verb == "create" {
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

// podReferences reports whether pod names the secret or configmap called name: in a
// volume (projected ones included), an env or envFrom of any container, or, for a
// secret, its image pull secrets.
func podReferences(pod *corev1.Pod, resource, name string) bool {
	secret := resource == "secrets"
	if secret && slices.ContainsFunc(pod.Spec.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == name }) {
		return true
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case secret && v.Secret != nil && v.Secret.SecretName == name, !secret && v.ConfigMap != nil && v.ConfigMap.Name == name:
			return true
		case v.Projected != nil:
			for _, src := range v.Projected.Sources {
				if secret && src.Secret != nil && src.Secret.Name == name || !secret && src.ConfigMap != nil && src.ConfigMap.Name == name {
					return true
				}
			}
		}
	}
	var containers []corev1.Container
	containers = append(containers, pod.Spec.InitContainers...)
	containers = append(containers, pod.Spec.Containers...)
	for _, e := range pod.Spec.EphemeralContainers {
		containers = append(containers, corev1.Container{Env: e.Env, EnvFrom: e.EnvFrom})
	}
	for _, c := range containers {
		for _, e := range c.EnvFrom {
			if secret && e.SecretRef != nil && e.SecretRef.Name == name || !secret && e.ConfigMapRef != nil && e.ConfigMapRef.Name == name {
				return true
			}
		}
		for _, e := range c.Env {
			if f := e.ValueFrom; f != nil && (secret && f.SecretKeyRef != nil && f.SecretKeyRef.Name == name ||
				!secret && f.ConfigMapKeyRef != nil && f.ConfigMapKeyRef.Name == name) {
				return true
			}
		}
	}
	return false
}

// podClaims lists the PersistentVolumeClaims a pod uses: those its volumes name, and
// those of its ephemeral volumes (POD-VOLUME).
func podClaims(pod *corev1.Pod) []string {
	var out []string
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			out = append(out, pod.Name+"-"+v.Name)
		}
	}
	return out
}
