package allocationrepair

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/claims"
	"github.com/podium/podium/internal/nodeipam"
	"github.com/podium/podium/internal/servicealloc"
)

// Claims is what the controller does with the claims store.
type Claims interface {
	Release(ctx context.Context, item, owner string) error
	List(ctx context.Context, prefix string) ([]claims.Claim, error)
	Remove(ctx context.Context, c claims.Claim) error
}

// grace is how old a claim nothing holds must be before the sweep removes it: longer
// than a create takes from its admission to its storage, webhooks included.
const grace = time.Minute

// Controller gives claims back.
type Controller struct {
	claims   Claims
	services listersv1.ServiceLister
	nodes    listersv1.NodeLister
	synced   []cache.InformerSynced
	clock    clock.PassiveClock
	log      *slog.Logger
	deleted  chan func(context.Context)
}

// New returns the controller; its informers come from factory, started by the caller.
func New(c Claims, factory informers.SharedInformerFactory, clk clock.PassiveClock, log *slog.Logger) (*Controller, error) {
	svcs, nodes := factory.Core().V1().Services(), factory.Core().V1().Nodes()
	ctl := &Controller{claims: c, services: svcs.Lister(), nodes: nodes.Lister(), clock: clk, log: log,
		synced:  []cache.InformerSynced{svcs.Informer().HasSynced, nodes.Informer().HasSynced},
		deleted: make(chan func(context.Context), 256)}
	if _, err := svcs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if svc, ok := tombstone(obj).(*corev1.Service); ok {
			ctl.queue(func(ctx context.Context) { ctl.release(ctx, serviceItems(svc), key(svc.Namespace, svc.Name)) })
		}
	}}); err != nil {
		return nil, err
	}
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if n, ok := tombstone(obj).(*corev1.Node); ok {
			ctl.queue(func(ctx context.Context) { ctl.release(ctx, nodeItems(n), n.Name) })
		}
	}}); err != nil {
		return nil, err
	}
	return ctl, nil
}

// queue hands a release to Run; when too many wait, it is left to the sweep.
func (c *Controller) queue(release func(context.Context)) {
	select {
	case c.deleted <- release:
	default:
	}
}

func tombstone(obj any) any {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return t.Obj
	}
	return obj
}

func key(namespace, name string) string { return namespace + "/" + name }

// Run gives back the claims of deleted objects as they go, and sweeps every minute,
// until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	sweep := time.NewTicker(grace)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case release := <-c.deleted:
			release(ctx)
		case <-sweep.C:
			if err := c.Sweep(ctx); err != nil {
				c.log.Warn("sweeping allocation claims", "err", err)
			}
		}
	}
}

func (c *Controller) release(ctx context.Context, items []string, owner string) {
	for _, item := range items {
		if err := c.claims.Release(ctx, item, owner); err != nil {
			c.log.Warn("giving back an allocation claim", "item", item, "owner", owner, "err", err)
		}
	}
}

// Sweep removes the claims older than the grace period that their owner does not hold.
func (c *Controller) Sweep(ctx context.Context) error {
	all, err := c.claims.List(ctx, "")
	if err != nil {
		return err
	}
	now := c.clock.Now()
	for _, cl := range all {
		if now.Sub(cl.At) < grace || c.held(cl) {
			continue
		}
		if err := c.claims.Remove(ctx, cl); err != nil {
			return fmt.Errorf("removing the claim of %s: %w", cl.Item, err)
		}
		c.log.Info("removed an allocation claim nothing holds", "item", cl.Item, "owner", cl.Owner)
	}
	return nil
}

// held reports whether the claim's owner holds its item, as the caches show.
func (c *Controller) held(cl claims.Claim) bool {
	switch {
	case strings.HasPrefix(cl.Item, "services/"):
		ns, name, ok := strings.Cut(cl.Owner, "/")
		if !ok {
			return false
		}
		svc, err := c.services.Services(ns).Get(name)
		return err == nil && slices.Contains(serviceItems(svc), cl.Item)
	case strings.HasPrefix(cl.Item, "nodes/"):
		n, err := c.nodes.Get(cl.Owner)
		return err == nil && slices.Contains(nodeItems(n), cl.Item)
	}
	return true // not ours to judge
}

// serviceItems names the claims of what svc holds.
func serviceItems(svc *corev1.Service) []string {
	var out []string
	for _, ip := range svc.Spec.ClusterIPs {
		out = append(out, servicealloc.ClaimItem("ip/"+ip))
	}
	if ip := svc.Spec.ClusterIP; ip != "" && !slices.Contains(svc.Spec.ClusterIPs, ip) {
		out = append(out, servicealloc.ClaimItem("ip/"+ip))
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			out = append(out, servicealloc.ClaimItem(fmt.Sprintf("port/%d", p.NodePort)))
		}
	}
	if hc := svc.Spec.HealthCheckNodePort; hc != 0 {
		out = append(out, servicealloc.ClaimItem(fmt.Sprintf("port/%d", hc)))
	}
	return out
}

// nodeItems names the claims of what n holds.
func nodeItems(n *corev1.Node) []string {
	var out []string
	for _, c := range n.Spec.PodCIDRs {
		out = append(out, nodeipam.ClaimItem(c))
	}
	if c := n.Spec.PodCIDR; c != "" && !slices.Contains(n.Spec.PodCIDRs, c) {
		out = append(out, nodeipam.ClaimItem(c))
	}
	return out
}
