package admission

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/auth"
)

// NodeRestriction is the admission of Node writes that keeps a node to what a kubelet
// sets, as upstream's NodeRestriction plugin: of the labels in the kubernetes.io and
// k8s.io namespaces only those a kubelet may set (hostname, os, arch, instance type,
// topology, and the kubelet.kubernetes.io and node.kubernetes.io namespaces), no pod CIDR
// of its choosing, and, once registered, no change to its taints, pod CIDRs or provider
// ID. Writes of other users pass.
type NodeRestriction struct{ validateOnly }

// AdmitCreate checks that a node registering asks for no pod CIDR: the server's
// allocator, the next admitter, gives it one.
func (NodeRestriction) AdmitCreate(ctx context.Context, obj runtime.Object) error {
	n, node := nodeWrite(ctx, obj)
	if n != nil && (n.Spec.PodCIDR != "" || len(n.Spec.PodCIDRs) > 0) {
		return nodeForbidden(n.Name, fmt.Sprintf("node %q is not allowed to set its pod CIDR", node))
	}
	return nil
}

// ValidateCreate checks the labels of a Node a node registers.
func (NodeRestriction) ValidateCreate(ctx context.Context, obj runtime.Object) error {
	n, node := nodeWrite(ctx, obj)
	if n == nil {
		return nil
	}
	if bad := forbiddenLabels(n.Labels, nil); len(bad) > 0 {
		return nodeForbidden(n.Name, fmt.Sprintf("node %q is not allowed to set the following labels: %s", node, strings.Join(bad, ", ")))
	}
	return nil
}

// ValidateUpdate checks a change a node makes to its Node.
func (NodeRestriction) ValidateUpdate(ctx context.Context, obj, old runtime.Object) error {
	n, node := nodeWrite(ctx, obj)
	o, ok := old.(*corev1.Node)
	if n == nil || !ok {
		return nil
	}
	switch {
	case !equality.Semantic.DeepEqual(n.Spec.Taints, o.Spec.Taints):
		return nodeForbidden(n.Name, fmt.Sprintf("node %q is not allowed to modify taints", node))
	case n.Spec.PodCIDR != o.Spec.PodCIDR || !slices.Equal(n.Spec.PodCIDRs, o.Spec.PodCIDRs):
		return nodeForbidden(n.Name, fmt.Sprintf("node %q is not allowed to modify pod CIDRs", node))
	case o.Spec.ProviderID != "" && n.Spec.ProviderID != o.Spec.ProviderID:
		return nodeForbidden(n.Name, fmt.Sprintf("node %q is not allowed to modify providerID", node))
	}
	if bad := forbiddenLabels(n.Labels, o.Labels); len(bad) > 0 {
		return nodeForbidden(n.Name, fmt.Sprintf("node %q is not allowed to modify labels: %s", node, strings.Join(bad, ", ")))
	}
	return nil
}

// nodeWrite returns the Node of a write and the writing node's name, or nil when the
// writer is not a node.
func nodeWrite(ctx context.Context, obj runtime.Object) (*corev1.Node, string) {
	u := auth.UserFrom(ctx)
	if u == nil {
		return nil, ""
	}
	node, isNode := u.NodeName()
	n, ok := obj.(*corev1.Node)
	if !isNode || !ok {
		return nil, ""
	}
	return n, node
}

func nodeForbidden(name, why string) error {
	return apierrors.NewForbidden(schema.GroupResource{Resource: "nodes"}, name, fmt.Errorf("%s", why))
}

// forbiddenLabels returns, sorted, the labels of next that differ from old (added,
// changed or removed) and that a kubelet may not set.
func forbiddenLabels(next, old map[string]string) []string {
	var bad []string
	keys := maps.Clone(next)
	if keys == nil {
		keys = map[string]string{}
	}
	maps.Copy(keys, old)
	for k := range keys {
		nv, inNext := next[k]
		ov, inOld := old[k]
		if inNext == inOld && nv == ov {
			continue
		}
		if !kubeletMaySet(k) {
			bad = append(bad, k)
		}
	}
	slices.Sort(bad)
	return bad
}

// kubeletLabels are the labels of the kubernetes.io namespaces a kubelet may set.
var kubeletLabels = map[string]bool{
	corev1.LabelHostname: true, corev1.LabelOSStable: true, corev1.LabelArchStable: true,
	"beta.kubernetes.io/os": true, "beta.kubernetes.io/arch": true, corev1.LabelInstanceType: true,
	corev1.LabelInstanceTypeStable: true, corev1.LabelFailureDomainBetaRegion: true, corev1.LabelFailureDomainBetaZone: true,
	corev1.LabelTopologyRegion: true, corev1.LabelTopologyZone: true,
}

// kubeletMaySet reports whether a kubelet may set the label key: any outside the
// kubernetes.io and k8s.io namespaces, and of those the kubelet's own.
func kubeletMaySet(key string) bool {
	ns, _, ok := strings.Cut(key, "/")
	if !ok {
		return true
	}
	within := func(domain string) bool { return ns == domain || strings.HasSuffix(ns, "."+domain) }
	if within("node-restriction.kubernetes.io") {
		return false
	}
	if !within("kubernetes.io") && !within("k8s.io") {
		return true
	}
	return kubeletLabels[key] || within("kubelet.kubernetes.io") || within("node.kubernetes.io")
}
