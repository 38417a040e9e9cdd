package agent

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// desiredRoutes returns the routes to other nodes' pods: each node's pod CIDR via its
// internal address, host-gw style.
func desiredRoutes(self string, nodes []*corev1.Node) map[string]string {
	want := map[string]string{}
	for _, n := range nodes {
		if n.Name == self || n.Spec.PodCIDR == "" {
			continue
		}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				want[n.Spec.PodCIDR] = a.Address
				break
			}
		}
	}
	return want
}

// runRoutes keeps the host's routes to other nodes' pods as the Nodes say, until ctx
// ends.
func (a *Agent) runRoutes(ctx context.Context, factory informers.SharedInformerFactory) error {
	if a.cfg.SyncRoutes == nil {
		return nil
	}
	nodes := factory.Core().V1().Nodes()
	changed := make(chan struct{}, 1)
	poke := func(any) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: poke, UpdateFunc: func(_, n any) { poke(n) }, DeleteFunc: poke,
	}); err != nil {
		return err
	}
	a.running.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			all, err := nodes.Lister().List(labels.Everything())
			if err != nil {
				continue
			}
			if err := a.cfg.SyncRoutes(ctx, desiredRoutes(a.cfg.NodeName, all)); err != nil && ctx.Err() == nil {
				a.log.Warn("routes to other nodes' pods", "err", err)
			}
		}
	})
	return nil
}
