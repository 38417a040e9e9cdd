package admission

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podium/podium/internal/auth"
)

func TestNodeRestriction(t *testing.T) {
	asNode := auth.WithUser(context.Background(), &auth.User{Name: auth.NodeUserPrefix + "n1", Groups: []string{auth.NodesGroup, auth.AuthenticatedGroup}})
	asAdmin := auth.WithUser(context.Background(), &auth.User{Name: auth.AdminUser, Groups: []string{auth.MastersGroup, auth.AuthenticatedGroup}})
	node := func(labels map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: labels}, Spec: corev1.NodeSpec{Taints: taints, PodCIDR: "10.42.1.0/24"}}
	}
	registered := node(map[string]string{corev1.LabelHostname: "n1", "team": "a"}, corev1.Taint{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule})
	var nr NodeRestriction
	for _, tc := range []struct {
		name   string
		ctx    context.Context
		create *corev1.Node
		update *corev1.Node
		ok     bool
	}{
		{name: "registers with the kubelet's labels", ctx: asNode, create: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{
			corev1.LabelHostname: "n1", corev1.LabelOSStable: "linux", "node.kubernetes.io/exclude-from-external-load-balancers": "", "example.com/disk": "ssd"}}}, ok: true},
		{name: "registers as a control-plane node", ctx: asNode, create: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}}}},
		{name: "registers with a pod CIDR of its choosing", ctx: asNode, create: &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{PodCIDR: "10.42.9.0/24"}}},
		{name: "adds a label of its own namespace", ctx: asNode, update: node(map[string]string{corev1.LabelHostname: "n1", "team": "a", "kubelet.kubernetes.io/x": "y"},
			registered.Spec.Taints...), ok: true},
		{name: "gives itself a role", ctx: asNode, update: node(map[string]string{corev1.LabelHostname: "n1", "team": "a", "node-role.kubernetes.io/master": ""}, registered.Spec.Taints...)},
		{name: "removes its taint", ctx: asNode, update: node(registered.Labels)},
		{name: "the admin removes its taint", ctx: asAdmin, update: node(registered.Labels), ok: true},
	} {
		var err error
		if tc.create != nil {
			// Both phases, as the server runs them.
			if err = nr.AdmitCreate(tc.ctx, tc.create); err == nil {
				err = nr.ValidateCreate(tc.ctx, tc.create)
			}
		} else {
			err = nr.ValidateUpdate(tc.ctx, tc.update, registered)
		}
		if tc.ok && err != nil || !tc.ok && !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
