package endpointslice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/kubectl/pkg/util/podutils"

	"github.com/podium/podium/internal/controller/endpoints"
	"github.com/podium/podium/internal/controller/reconcile"
	"github.com/podium/podium/internal/controller/slicetracker"
)

const (
	// workers is how many Services are synced in parallel, as upstream's default.
	workers = 5
	// maxEndpointsPerSlice is upstream's default --max-endpoints-per-slice.
	maxEndpointsPerSlice = 100
	// sliceChangeDelay is how long after an outside change to one of its slices a
	// Service is synced, so that changes to several slices are handled together.
	sliceChangeDelay = time.Second
	// staleCacheDelay is how soon a Service whose cached slices lag the controller's
	// own writes is looked at again.
	staleCacheDelay = 100 * time.Millisecond
)

// Controller is the EndpointSlice controller.
type Controller struct {
	client      kubernetes.Interface
	services    corelisters.ServiceLister
	pods        corelisters.PodLister
	nodes       corelisters.NodeLister
	slices      discoverylisters.EndpointSliceLister
	tracker     *slicetracker.Tracker
	maxPerSlice int
	loop        *reconcile.Loop
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the EndpointSlice controller; factory's Service, Pod, Node and
// EndpointSlice informers must be started by the caller, and Run called once they
// have synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, tracker: slicetracker.New(), maxPerSlice: maxEndpointsPerSlice, log: log.With("controller", "endpointslice")}
	c.loop = reconcile.New("endpointslice", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "endpoint-slice-controller"})

	svcInf := factory.Core().V1().Services()
	podInf := factory.Core().V1().Pods()
	nodeInf := factory.Core().V1().Nodes()
	sliceInf := factory.Discovery().V1().EndpointSlices()
	c.services, c.pods, c.nodes, c.slices = svcInf.Lister(), podInf.Lister(), nodeInf.Lister(), sliceInf.Lister()

	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{svcInf.Informer(), c.loop.Handler(func(obj any) string {
			key, _ := cache.MetaNamespaceKeyFunc(obj)
			return key
		})},
		{podInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.podAdded, UpdateFunc: c.podUpdated, DeleteFunc: c.podDeleted}},
		{nodeInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.nodeAdded, UpdateFunc: c.nodeUpdated}},
		{sliceInf.Informer(), cache.ResourceEventHandlerFuncs{AddFunc: c.sliceAdded, UpdateFunc: c.sliceUpdated, DeleteFunc: c.sliceDeleted}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Run keeps the Services' EndpointSlices until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	c.loop.Run(ctx, workers)
}

// ours reports whether s is managed by this controller.
func ours(s *discoveryv1.EndpointSlice) bool {
	return s.Labels[discoveryv1.LabelManagedBy] == managedBy
}

// sliceSelector selects the controller's slices of the Service name.
func sliceSelector(name string) labels.Selector {
	return labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: managedBy})
}

// sync brings the slices of the Service key to its pods, or deletes them when the
// Service is gone or not served.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	cached, err := c.slices.EndpointSlices(namespace).List(sliceSelector(name))
	if err != nil {
		return 0, err
	}
	cached = slices.DeleteFunc(slices.Clone(cached), func(s *discoveryv1.EndpointSlice) bool { return s.DeletionTimestamp != nil })
	svc, err := c.services.Services(namespace).Get(name)
	if apierrors.IsNotFound(err) || (err == nil && !served(svc)) {
		return 0, c.deleteSlices(ctx, cached)
	}
	if err != nil {
		return 0, err
	}
	if c.tracker.Stale(key, cached) {
		return staleCacheDelay, nil
	}
	pods, err := c.pods.Pods(namespace).List(labels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return 0, err
	}

	var p plan
	var missing []string
	addrTypes := addressTypes(svc)
	for _, t := range addrTypes {
		groups, m := desiredGroups(svc, pods, t, c.node)
		missing = append(missing, m...)
		existing := slices.DeleteFunc(slices.Clone(cached), func(s *discoveryv1.EndpointSlice) bool { return s.AddressType != t })
		p.add(planSlices(svc, t, groups, existing, c.maxPerSlice))
	}
	for _, s := range cached {
		if !slices.Contains(addrTypes, s.AddressType) {
			p.delete = append(p.delete, s)
		}
	}
	if err := c.apply(ctx, svc, p); err != nil {
		c.recorder.Eventf(svc, corev1.EventTypeWarning, "FailedToUpdateEndpointSlices",
			"Error updating Endpoint Slices for Service %s/%s: %v", svc.Namespace, svc.Name, err)
		return 0, err
	}
	if len(missing) > 0 {
		// Retried until the Nodes appear; the pods are left out meanwhile.
		return 0, fmt.Errorf("service %s: pods %v skipped: their Node is not found", key, slices.Compact(slices.Sorted(slices.Values(missing))))
	}
	return 0, nil
}

// node returns the Node called name from the cache.
func (c *Controller) node(name string) (*corev1.Node, bool) {
	n, err := c.nodes.Get(name)
	return n, err == nil
}

// apply makes p's writes for svc: creates (unless svc is being deleted, so as not to
// race the garbage collector), updates, then deletes. It stops at the first failure.
func (c *Controller) apply(ctx context.Context, svc *corev1.Service, p plan) error {
	api := c.client.DiscoveryV1().EndpointSlices(svc.Namespace)
	if svc.DeletionTimestamp == nil {
		for _, s := range p.create {
			created, err := api.Create(ctx, s, metav1.CreateOptions{})
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // creates fail until the namespace is gone
			}
			if err != nil {
				return fmt.Errorf("creating EndpointSlice for Service %s/%s: %w", svc.Namespace, svc.Name, err)
			}
			c.tracker.Wrote(serviceKey(created), created)
		}
	}
	for _, s := range p.update {
		updated, err := api.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("updating EndpointSlice %s for Service %s/%s: %w", s.Name, svc.Namespace, svc.Name, err)
		}
		c.tracker.Wrote(serviceKey(updated), updated)
	}
	return c.deleteSlices(ctx, p.delete)
}

// deleteSlices deletes the slices; ones already gone count as deleted.
func (c *Controller) deleteSlices(ctx context.Context, del []*discoveryv1.EndpointSlice) error {
	var errs []error
	for _, s := range del {
		var opts metav1.DeleteOptions
		if s.UID != "" {
			opts.Preconditions = &metav1.Preconditions{UID: &s.UID}
		}
		err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Delete(ctx, s.Name, opts)
		switch {
		case err == nil:
			c.tracker.Deleted(serviceKey(s), s)
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			// Gone already, or the name now holds another slice the next sync sees.
		default:
			errs = append(errs, fmt.Errorf("deleting EndpointSlice %s/%s: %w", s.Namespace, s.Name, err))
		}
	}
	return errors.Join(errs...)
}

// servicesOf returns the keys of the Services in namespace whose selector picks a pod
// with the labels podLabels.
func (c *Controller) servicesOf(namespace string, podLabels map[string]string) map[string]bool {
	out := map[string]bool{}
	services, err := c.services.Services(namespace).List(labels.Everything())
	if err != nil {
		return out
	}
	for _, svc := range services {
		if len(svc.Spec.Selector) > 0 && labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(podLabels)) {
			out[namespace+"/"+svc.Name] = true
		}
	}
	return out
}

func (c *Controller) queue(keys map[string]bool) {
	for key := range keys {
		c.loop.Add(key)
	}
}

func (c *Controller) podAdded(obj any) {
	pod := obj.(*corev1.Pod)
	c.queue(c.servicesOf(pod.Namespace, pod.Labels))
}

func (c *Controller) podUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if !maps.Equal(old.Labels, cur.Labels) {
		// Services the pod joins or leaves, and those it stays in if its endpoint changed.
		before, after := c.servicesOf(old.Namespace, old.Labels), c.servicesOf(cur.Namespace, cur.Labels)
		changed := endpointChanged(old, cur)
		for key := range before {
			if changed || !after[key] {
				c.loop.Add(key)
			}
		}
		for key := range after {
			if changed || !before[key] {
				c.loop.Add(key)
			}
		}
		return
	}
	if endpointChanged(old, cur) {
		c.queue(c.servicesOf(cur.Namespace, cur.Labels))
	}
}

// endpointChanged reports whether cur may have another endpoint than old in a slice.
func endpointChanged(old, cur *corev1.Pod) bool {
	return !old.DeletionTimestamp.Equal(cur.DeletionTimestamp) ||
		podutils.IsPodReady(old) != podutils.IsPodReady(cur) ||
		endpoints.IncludePod(old, true) != endpoints.IncludePod(cur, true) ||
		!slices.Equal(old.Status.PodIPs, cur.Status.PodIPs) || old.Status.PodIP != cur.Status.PodIP ||
		old.Spec.NodeName != cur.Spec.NodeName ||
		old.Spec.Hostname != cur.Spec.Hostname || old.Spec.Subdomain != cur.Spec.Subdomain
}

func (c *Controller) podDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if pod, ok := obj.(*corev1.Pod); ok {
		c.queue(c.servicesOf(pod.Namespace, pod.Labels))
	}
}

// nodeAdded syncs the Services of the node's pods, which were left out while it was
// missing.
func (c *Controller) nodeAdded(obj any) {
	c.queueNodeServices(obj.(*corev1.Node).Name)
}

// nodeUpdated syncs the Services of the node's pods when its zone changes.
func (c *Controller) nodeUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Node), newObj.(*corev1.Node)
	if old.Labels[corev1.LabelTopologyZone] != cur.Labels[corev1.LabelTopologyZone] {
		c.queueNodeServices(cur.Name)
	}
}

func (c *Controller) queueNodeServices(node string) {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return
	}
	for _, pod := range pods {
		if pod.Spec.NodeName == node && endpoints.IncludePod(pod, true) {
			c.queue(c.servicesOf(pod.Namespace, pod.Labels))
		}
	}
}

// queueFor syncs the Service of slice s after sliceChangeDelay.
func (c *Controller) queueFor(s *discoveryv1.EndpointSlice) {
	if name := s.Labels[discoveryv1.LabelServiceName]; name != "" {
		c.loop.AddAfter(s.Namespace+"/"+name, sliceChangeDelay)
	}
}

// sliceAdded repairs a slice of ours the controller did not write (or not last).
func (c *Controller) sliceAdded(obj any) {
	s := obj.(*discoveryv1.EndpointSlice)
	if ours(s) && c.tracker.ChangedByOthers(serviceKey(s), s) {
		c.queueFor(s)
	}
}

// sliceUpdated repairs a slice of ours changed by someone else, and syncs the
// Services involved when a slice moves into or out of the controller's care.
func (c *Controller) sliceUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*discoveryv1.EndpointSlice), newObj.(*discoveryv1.EndpointSlice)
	if ours(old) && (!ours(cur) || serviceKey(old) != serviceKey(cur)) {
		c.tracker.Gone(serviceKey(old), old)
	}
	switch {
	case ours(old) != ours(cur) || (serviceKey(old) != serviceKey(cur) && (ours(old) || ours(cur))):
		c.queueFor(old)
		c.queueFor(cur)
	case ours(cur) && c.tracker.ChangedByOthers(serviceKey(cur), cur):
		c.queueFor(cur)
	}
}

// sliceDeleted recreates a slice of ours deleted by someone else.
func (c *Controller) sliceDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if ok && ours(s) && !c.tracker.Gone(serviceKey(s), s) {
		c.queueFor(s)
	}
}
