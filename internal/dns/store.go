package dns

import (
	"fmt"
	"net/netip"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Index names added to the shared informers; the prefix keeps them apart from other
// users' indexes.
const (
	indexClusterIP = "podium-dns/cluster-ip" // Service by each of spec.clusterIPs
	indexService   = "podium-dns/service"    // EndpointSlice by NS/SERVICE
	indexAddress   = "podium-dns/address"    // EndpointSlice by each endpoint address
)

// store reads Services, EndpointSlices and Namespaces from shared informer caches.
// Its methods are safe for concurrent use; returned objects are the cache's and must
// not be modified.
type store struct {
	services   cache.SharedIndexInformer
	slices     cache.SharedIndexInformer
	namespaces cache.SharedIndexInformer
	clock      clock.Clock
	modified   atomic.Int64 // Unix time of the last change seen
}

func newStore(factory informers.SharedInformerFactory, clk clock.Clock) (*store, error) {
	s := &store{
		services:   factory.Core().V1().Services().Informer(),
		slices:     factory.Discovery().V1().EndpointSlices().Informer(),
		namespaces: factory.Core().V1().Namespaces().Informer(),
		clock:      clk,
	}
	s.modified.Store(clk.Now().Unix())
	if err := addIndexers(s.services, cache.Indexers{indexClusterIP: clusterIPKeys}); err != nil {
		return nil, fmt.Errorf("services informer: %w", err)
	}
	if err := addIndexers(s.slices, cache.Indexers{indexService: sliceServiceKeys, indexAddress: sliceAddressKeys}); err != nil {
		return nil, fmt.Errorf("endpointslices informer: %w", err)
	}
	touch := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.touch() },
		UpdateFunc: func(any, any) { s.touch() },
		DeleteFunc: func(any) { s.touch() },
	}
	for _, inf := range []cache.SharedIndexInformer{s.services, s.slices, s.namespaces} {
		if _, err := inf.AddEventHandler(touch); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// addIndexers adds the indexers that the informer does not have yet (a second server
// on the same factory reuses the first one's).
func addIndexers(inf cache.SharedIndexInformer, want cache.Indexers) error {
	have := inf.GetIndexer().GetIndexers()
	add := cache.Indexers{}
	for name, f := range want {
		if _, ok := have[name]; !ok {
			add[name] = f
		}
	}
	if len(add) == 0 {
		return nil
	}
	return inf.AddIndexers(add)
}

func (s *store) touch() { s.modified.Store(s.clock.Now().Unix()) }

// serial is the SOA serial: the Unix time of the last change seen.
func (s *store) serial() uint32 { return uint32(s.modified.Load()) }

// synced reports whether every informer has listed once.
func (s *store) synced() bool {
	return s.services.HasSynced() && s.slices.HasSynced() && s.namespaces.HasSynced()
}

func (s *store) namespaceExists(name string) bool {
	_, ok, _ := s.namespaces.GetIndexer().GetByKey(name)
	return ok
}

func (s *store) service(ns, name string) *corev1.Service {
	obj, ok, _ := s.services.GetIndexer().GetByKey(ns + "/" + name)
	if !ok {
		return nil
	}
	svc, _ := obj.(*corev1.Service)
	return svc
}

// endpointSlices returns the slices of Service ns/name.
func (s *store) endpointSlices(ns, name string) []*discoveryv1.EndpointSlice {
	return slicesOf(s.slices.GetIndexer().ByIndex(indexService, ns+"/"+name))
}

// servicesByIP returns the Services with ip (canonical form) among their ClusterIPs.
func (s *store) servicesByIP(ip string) []*corev1.Service {
	objs, _ := s.services.GetIndexer().ByIndex(indexClusterIP, ip)
	out := make([]*corev1.Service, 0, len(objs))
	for _, o := range objs {
		if svc, ok := o.(*corev1.Service); ok {
			out = append(out, svc)
		}
	}
	return out
}

// slicesByIP returns the slices with an endpoint address ip (canonical form), ready
// or not.
func (s *store) slicesByIP(ip string) []*discoveryv1.EndpointSlice {
	return slicesOf(s.slices.GetIndexer().ByIndex(indexAddress, ip))
}

func slicesOf(objs []any, _ error) []*discoveryv1.EndpointSlice {
	out := make([]*discoveryv1.EndpointSlice, 0, len(objs))
	for _, o := range objs {
		if es, ok := o.(*discoveryv1.EndpointSlice); ok {
			out = append(out, es)
		}
	}
	return out
}

func clusterIPKeys(obj any) ([]string, error) {
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return nil, nil
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	var keys []string
	for _, ip := range ips {
		if a, err := netip.ParseAddr(ip); err == nil {
			keys = append(keys, a.String())
		}
	}
	return keys, nil
}

func sliceServiceKeys(obj any) ([]string, error) {
	es, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return nil, nil
	}
	name := es.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return nil, nil
	}
	return []string{es.Namespace + "/" + name}, nil
}

func sliceAddressKeys(obj any) ([]string, error) {
	es, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok || es.AddressType == discoveryv1.AddressTypeFQDN {
		return nil, nil
	}
	var keys []string
	for _, ep := range es.Endpoints {
		for _, addr := range ep.Addresses {
			if a, err := netip.ParseAddr(addr); err == nil {
				keys = append(keys, a.String())
			}
		}
	}
	return keys, nil
}
