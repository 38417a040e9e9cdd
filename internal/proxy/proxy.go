package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/knftables"

	"github.com/podium/podium/internal/proxy/netpol"
)

// Timing of the syncs.
const (
	// minInterval is the least time between the starts of two syncs: changes that come
	// closer together are written in one.
	minInterval = 100 * time.Millisecond
	// retryAfter is the wait after a failed write.
	retryAfter = time.Second
	// fullResync is how often the whole table is written again, undoing what anything
	// else may have changed in it.
	fullResync = time.Hour
)

// Config is what a Proxy needs besides its informers.
type Config struct {
	// NodeName is the node the Proxy runs on: endpoints on it are local.
	NodeName string
	// ClusterCIDR is the range of every pod's address; traffic from elsewhere to a
	// ClusterIP is masqueraded. Empty: none is.
	ClusterCIDR string
	// ServiceCIDR is the range of the Services' cluster IPs; traffic to one no
	// Service has is dropped. Empty: it is not.
	ServiceCIDR string
	// NetworkPolicies turns on their enforcement for the node's pods; the factory then
	// also watches every pod, namespace and NetworkPolicy of the cluster.
	NetworkPolicies bool
	// NFT programs the table; nil: the kernel's, through the nft tool.
	NFT knftables.Interface
	// Synced, when set, is told of every sync that wrote the table (or found nothing
	// to change): when it began and ended.
	Synced func(start, end time.Time)
	// Clock times the syncs; nil: the real one.
	Clock  clock.WithTicker
	Logger *slog.Logger
}

// Proxy keeps the node's table in step with the cluster's Services and EndpointSlices.
type Proxy struct {
	cfg      Config
	services corelisters.ServiceLister
	slices   discoverylisters.EndpointSliceLister
	// pods, namespaces and policies are set with Config.NetworkPolicies.
	pods       corelisters.PodLister
	namespaces corelisters.NamespaceLister
	policies   networkinglisters.NetworkPolicyLister
	synced     []cache.InformerSynced
	table      table
	kick       chan struct{}
	health     *healthChecks
	log        *slog.Logger
}

// New returns a Proxy on factory's Service and EndpointSlice informers, which the
// caller starts; Run syncs.
func New(factory informers.SharedInformerFactory, cfg Config) (*Proxy, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NFT == nil {
		nft, err := knftables.New(knftables.IPv4Family, tableName)
		if err != nil {
			return nil, fmt.Errorf("nftables: %w", err)
		}
		cfg.NFT = nft
	}
	log := cfg.Logger.With("component", "proxy")
	p := &Proxy{cfg: cfg, table: table{nft: cfg.NFT}, kick: make(chan struct{}, 1), health: newHealthChecks(log), log: log}
	svc, eps := factory.Core().V1().Services(), factory.Discovery().V1().EndpointSlices()
	p.services, p.slices = svc.Lister(), eps.Lister()
	changed := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { p.changed() },
		UpdateFunc: func(any, any) { p.changed() },
		DeleteFunc: func(any) { p.changed() },
	}
	informers := []cache.SharedIndexInformer{svc.Informer(), eps.Informer()}
	if cfg.NetworkPolicies {
		pods, ns, np := factory.Core().V1().Pods(), factory.Core().V1().Namespaces(), factory.Networking().V1().NetworkPolicies()
		p.pods, p.namespaces, p.policies = pods.Lister(), ns.Lister(), np.Lister()
		informers = append(informers, ns.Informer(), np.Informer())
		// Most pod updates are status changes that no policy looks at.
		if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { p.podChanged() },
			UpdateFunc: func(old, cur any) { p.podUpdated(old, cur) },
			DeleteFunc: func(any) { p.podChanged() },
		}); err != nil {
			return nil, err
		}
		p.synced = append(p.synced, pods.Informer().HasSynced)
	}
	for _, inf := range informers {
		if _, err := inf.AddEventHandler(changed); err != nil {
			return nil, err
		}
		p.synced = append(p.synced, inf.HasSynced)
	}
	return p, nil
}

// podChanged syncs for a pod that came or went, when there are policies to enforce.
func (p *Proxy) podChanged() {
	if l, err := p.policies.List(labels.Everything()); err == nil && len(l) > 0 {
		p.changed()
	}
}

// podUpdated syncs when a pod changed in what policies select and match: its labels,
// namespace, node, addresses, phase, host networking or container ports.
func (p *Proxy) podUpdated(old, cur any) {
	o, ok1 := old.(*corev1.Pod)
	n, ok2 := cur.(*corev1.Pod)
	if ok1 && ok2 && maps.Equal(o.Labels, n.Labels) && o.Spec.NodeName == n.Spec.NodeName && o.Status.PodIP == n.Status.PodIP &&
		o.Status.Phase == n.Status.Phase && o.Spec.HostNetwork == n.Spec.HostNetwork && o.Generation == n.Generation {
		return
	}
	p.podChanged()
}

func (p *Proxy) changed() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Run syncs the table, once the informers have synced and then after every change,
// until ctx ends. The table stays when it ends: the rules serve while the agent is away.
func (p *Proxy) Run(ctx context.Context) {
	if err := ensureBridgeNetfilter(); err != nil {
		p.log.Warn("pods on one bridge cannot reach each other through Services", "err", err)
	}
	if !cache.WaitForCacheSync(ctx.Done(), p.synced...) {
		return
	}
	defer p.health.close()
	p.changed()
	full := p.cfg.Clock.NewTicker(fullResync)
	defer full.Stop()
	var retry <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
		case <-retry:
		case <-full.C():
			p.table.applied = nil
		}
		retry = nil
		start := p.cfg.Clock.Now()
		if err := p.sync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("writing the service rules", "err", err)
			retry = p.cfg.Clock.After(retryAfter)
			continue
		}
		if p.cfg.Synced != nil {
			p.cfg.Synced(start, p.cfg.Clock.Now())
		}
		if wait := minInterval - p.cfg.Clock.Since(start); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-p.cfg.Clock.After(wait):
			}
		}
	}
}

// sync writes the table for the Services and EndpointSlices as the caches hold them.
func (p *Proxy) sync(ctx context.Context) error {
	services, err := p.services.List(labels.Everything())
	if err != nil {
		return err
	}
	all, err := p.slices.List(labels.Everything())
	if err != nil {
		return err
	}
	in := &input{node: p.cfg.NodeName, clusterCIDR: p.cfg.ClusterCIDR, serviceCIDR: p.cfg.ServiceCIDR, services: services,
		slices: map[types.NamespacedName][]*discoveryv1.EndpointSlice{}}
	for _, s := range all {
		if _, headless := s.Labels[corev1.IsHeadlessService]; headless {
			continue // as kube-proxy, which does not watch them
		}
		if name := s.Labels[discoveryv1.LabelServiceName]; name != "" {
			key := types.NamespacedName{Namespace: s.Namespace, Name: name}
			in.slices[key] = append(in.slices[key], s)
		}
	}
	if p.cfg.NetworkPolicies {
		np := &netpol.Input{Node: p.cfg.NodeName}
		if np.Pods, err = p.pods.List(labels.Everything()); err != nil {
			return err
		}
		if np.Namespaces, err = p.namespaces.List(labels.Everything()); err != nil {
			return err
		}
		if np.Policies, err = p.policies.List(labels.Everything()); err != nil {
			return err
		}
		np.Peers = dnsStandIns(in.slices[clusterDNSService])
		in.policies = np
	}
	if err := p.table.write(ctx, build(in)); err != nil {
		return err
	}
	p.health.sync(wantedHealthChecks(in))
	return nil
}

// Remove deletes the node's table (when the node is taken down for good).
func Remove(ctx context.Context) error {
	nft, err := knftables.New(knftables.IPv4Family, tableName)
	if err != nil {
		return err
	}
	t := table{nft: nft}
	return t.remove(ctx)
}

// bridgeNetfilter is the switch that sends traffic between two pods on one bridge
// through the ip family's hooks: without it, the reply of a pod that got a connection
// through a ClusterIP goes to its client straight over the bridge, with the pod's own
// address, and the client drops it.
const bridgeNetfilter = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// ensureBridgeNetfilter loads br_netfilter if need be and turns the switch on.
func ensureBridgeNetfilter() error {
	if _, err := os.Stat(bridgeNetfilter); err != nil {
		if out, err := exec.Command("modprobe", "br_netfilter").CombinedOutput(); err != nil {
			return fmt.Errorf("modprobe br_netfilter: %v: %s", err, out)
		}
	}
	return os.WriteFile(bridgeNetfilter, []byte("1"), 0o644)
}

// clusterDNSService is the cluster DNS's Service, as upstream names it.
var clusterDNSService = types.NamespacedName{Namespace: metav1.NamespaceSystem, Name: "kube-dns"}

// dnsStandIns stands in for the pods of upstream's cluster DNS (CoreDNS, labelled
// k8s-app=kube-dns in kube-system, with the ports dns and dns-tcp) at the addresses of
// the kube-dns endpoints that are not pods: podium's own DNS server, at the nodes'
// addresses. NetworkPolicies that let pods reach the cluster DNS by selecting those pods,
// as is usual, then let them reach podium's.
func dnsStandIns(slices []*discoveryv1.EndpointSlice) []*corev1.Pod {
	var out []*corev1.Pod
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		var ports []corev1.ContainerPort
		for _, sp := range s.Ports {
			if sp.Port != nil {
				ports = append(ports, corev1.ContainerPort{Name: ptr.Deref(sp.Name, ""), ContainerPort: *sp.Port, Protocol: ptr.Deref(sp.Protocol, corev1.ProtocolTCP)})
			}
		}
		for _, e := range s.Endpoints {
			if len(e.Addresses) == 0 || (e.TargetRef != nil && e.TargetRef.Kind == "Pod") {
				continue
			}
			out = append(out, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: clusterDNSService.Namespace, Name: "kube-dns-" + e.Addresses[0], Labels: map[string]string{"k8s-app": "kube-dns"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "dns", Ports: ports}}},
				Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: e.Addresses[0]},
			})
		}
	}
	return out
}
