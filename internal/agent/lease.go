package agent

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
)

// LeaseNamespace holds the nodes' heartbeats.
const LeaseNamespace = "kube-node-lease"

// LeaseDuration is the lease's duration, upstream's 40 s.
const LeaseDuration = 40

// renewLease creates or renews the node's Lease, owned by its Node.
func renewLease(ctx context.Context, client kubernetes.Interface, node *metav1.ObjectMeta, clk clock.PassiveClock) error {
	leases := client.CoordinationV1().Leases(LeaseNamespace)
	now := metav1.NewMicroTime(clk.Now())
	lease, err := leases.Get(ctx, node.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = leases.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: node.Name, OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(node.Name), LeaseDurationSeconds: ptr.To(int32(LeaseDuration)), RenewTime: &now},
		}, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	lease.Spec.HolderIdentity = ptr.To(node.Name)
	lease.Spec.LeaseDurationSeconds = ptr.To(int32(LeaseDuration))
	lease.Spec.RenewTime = &now
	_, err = leases.Update(ctx, lease, metav1.UpdateOptions{})
	return err
}

// every runs fn now and then every interval until ctx ends.
func every(ctx context.Context, clk clock.WithTicker, interval time.Duration, fn func()) {
	t := clk.NewTicker(interval)
	defer t.Stop()
	fn()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
			fn()
		}
	}
}
