package servicelb

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/controller/reconcile"
)

// workers is how many Services are looked at in parallel.
const workers = 2

// Controller keeps the ingress addresses of LoadBalancer Services.
type Controller struct {
	client   kubernetes.Interface
	services corelisters.ServiceLister
	nodes    corelisters.NodeLister
	loop     *reconcile.Loop
}

// New returns the controller; factory's Service and Node informers must be started by
// the caller, and Run called once they have synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client}
	c.loop = reconcile.New("servicelb", c.sync, log)
	svc, nodes := factory.Core().V1().Services(), factory.Core().V1().Nodes()
	c.services, c.nodes = svc.Lister(), nodes.Lister()
	if _, err := svc.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		key, _ := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		return key
	})); err != nil {
		return nil, err
	}
	// A node that comes, goes or changes its addresses or readiness changes every
	// LoadBalancer Service's addresses.
	if _, err := nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.queueAll() },
		UpdateFunc: func(old, cur any) { c.nodeUpdated(old, cur) },
		DeleteFunc: func(any) { c.queueAll() },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run keeps the Services' addresses until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.loop.Run(ctx, workers) }

func (c *Controller) nodeUpdated(old, cur any) {
	o, ok1 := old.(*corev1.Node)
	n, ok2 := cur.(*corev1.Node)
	if ok1 && ok2 && ready(o) == ready(n) && slices.Equal(nodeAddresses(o), nodeAddresses(n)) {
		return
	}
	c.queueAll()
}

func (c *Controller) queueAll() {
	svcs, err := c.services.List(labels.Everything())
	if err != nil {
		return
	}
	for _, s := range svcs {
		if s.Spec.Type == corev1.ServiceTypeLoadBalancer {
			c.loop.Add(s.Namespace + "/" + s.Name)
		}
	}
}

func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.LoadBalancerClass != nil {
		return 0, nil // not a load balancer's, or another one's: its status is its writers'
	}
	want, err := c.ingress()
	if err != nil {
		return 0, err
	}
	if equality.Semantic.DeepEqual(want, svc.Status.LoadBalancer.Ingress) || (len(want) == 0 && len(svc.Status.LoadBalancer.Ingress) == 0) {
		return 0, nil
	}
	next := svc.DeepCopy()
	next.Status.LoadBalancer.Ingress = want
	_, err = c.client.CoreV1().Services(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return 0, nil // gone, or changed: its update queues it again
	}
	return 0, err
}

// ingress returns the addresses of the ready nodes, sorted.
func (c *Controller) ingress() ([]corev1.LoadBalancerIngress, error) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	for _, n := range nodes {
		if ready(n) {
			addrs = append(addrs, nodeAddresses(n)...)
		}
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	addrs = slices.Compact(addrs)
	var out []corev1.LoadBalancerIngress
	for _, a := range addrs {
		out = append(out, corev1.LoadBalancerIngress{IP: a.String(), IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)})
	}
	return out, nil
}

// nodeAddresses returns a node's IPv4 addresses the Service is served on: its external
// ones when it has any, else its internal ones (k3s's choice).
func nodeAddresses(n *corev1.Node) []netip.Addr {
	pick := func(t corev1.NodeAddressType) []netip.Addr {
		var out []netip.Addr
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); a.Type == t && err == nil && ip.Is4() {
				out = append(out, ip)
			}
		}
		return out
	}
	if ext := pick(corev1.NodeExternalIP); len(ext) > 0 {
		return ext
	}
	return pick(corev1.NodeInternalIP)
}

func ready(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
