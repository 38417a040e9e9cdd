package endpointslicemirroring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

	"github.com/podium/podium/internal/controller/reconcile"
	"github.com/podium/podium/internal/controller/slicetracker"
)

const (
	// workers is how many Endpoints are mirrored in parallel, as upstream's default.
	workers = 5
	// staleRetry is how long a sync waits for the slice cache to catch up with the
	// controller's own writes.
	staleRetry = 100 * time.Millisecond
	// leaderAnnotation marks Endpoints used as leader-election records, never mirrored.
	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
)

// Controller is the EndpointSlice mirroring controller.
type Controller struct {
	client      kubernetes.Interface
	endpoints   corelisters.EndpointsLister
	services    corelisters.ServiceLister
	slices      discoverylisters.EndpointSliceLister
	tracker     *slicetracker.Tracker
	loop        *reconcile.Loop
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the mirroring controller; it uses factory's Endpoints, Service and
// EndpointSlice informers, which the caller starts, and Run is called once they have
// synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, tracker: slicetracker.New(), log: log.With("controller", "endpointslicemirroring")}
	c.loop = reconcile.New("endpointslicemirroring", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "endpoint-slice-mirroring-controller"})

	epInf := factory.Core().V1().Endpoints()
	svcInf := factory.Core().V1().Services()
	sliceInf := factory.Discovery().V1().EndpointSlices()
	c.endpoints, c.services, c.slices = epInf.Lister(), svcInf.Lister(), sliceInf.Lister()

	if _, err := epInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if ep, ok := obj.(*corev1.Endpoints); ok && shouldMirror(ep) {
				c.loop.Add(ep.Namespace + "/" + ep.Name)
			}
		},
		UpdateFunc: func(oldObj, newObj any) {
			old, cur := oldObj.(*corev1.Endpoints), newObj.(*corev1.Endpoints)
			if shouldMirror(old) || shouldMirror(cur) {
				c.loop.Add(cur.Namespace + "/" + cur.Name)
			}
		},
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if ep, ok := obj.(*corev1.Endpoints); ok && shouldMirror(ep) {
				c.loop.Add(ep.Namespace + "/" + ep.Name)
			}
		},
	}); err != nil {
		return nil, err
	}
	if _, err := svcInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { c.serviceChanged(nil, obj) },
		UpdateFunc: func(oldObj, newObj any) {
			c.serviceChanged(oldObj.(*corev1.Service), newObj)
		},
		DeleteFunc: func(obj any) { c.serviceChanged(nil, obj) },
	}); err != nil {
		return nil, err
	}
	if _, err := sliceInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.sliceAdded,
		UpdateFunc: c.sliceUpdated,
		DeleteFunc: c.sliceDeleted,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run mirrors Endpoints until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	c.loop.Run(ctx, workers)
}

// shouldMirror reports whether ep may be mirrored at all, its Service aside.
func shouldMirror(ep *corev1.Endpoints) bool {
	if ep.Labels[discoveryv1.LabelSkipMirror] == "true" {
		return false
	}
	_, leader := ep.Annotations[leaderAnnotation]
	return !leader
}

// serviceChanged queues the Endpoints of a Service without a selector when it comes
// or goes, and of one whose selector appears or disappears (old is nil on add and
// delete).
func (c *Controller) serviceChanged(old *corev1.Service, obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	svc, ok := obj.(*corev1.Service)
	if !ok {
		return
	}
	if old == nil && len(svc.Spec.Selector) > 0 {
		return
	}
	if old != nil && (len(old.Spec.Selector) == 0) == (len(svc.Spec.Selector) == 0) {
		return
	}
	c.loop.Add(svc.Namespace + "/" + svc.Name)
}

func mirrored(s *discoveryv1.EndpointSlice) bool {
	return s.Labels[discoveryv1.LabelManagedBy] == managedBy
}

// sliceKey is the key of the Endpoints a slice belongs to; "" for none.
func sliceKey(s *discoveryv1.EndpointSlice) string {
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return ""
	}
	return s.Namespace + "/" + name
}

func (c *Controller) sliceAdded(obj any) {
	s := obj.(*discoveryv1.EndpointSlice)
	if key := sliceKey(s); key != "" && mirrored(s) && c.tracker.ChangedByOthers(key, s) {
		c.loop.Add(key)
	}
}

func (c *Controller) sliceUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*discoveryv1.EndpointSlice), newObj.(*discoveryv1.EndpointSlice)
	oldKey, key := sliceKey(old), sliceKey(cur)
	if oldKey != key {
		// Someone relabelled a slice: both Endpoints need a look.
		for _, k := range []string{oldKey, key} {
			if k != "" {
				c.loop.Add(k)
			}
		}
		return
	}
	if key != "" && (mirrored(old) != mirrored(cur) || (mirrored(cur) && c.tracker.ChangedByOthers(key, cur))) {
		c.loop.Add(key)
	}
}

func (c *Controller) sliceDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	s, ok := obj.(*discoveryv1.EndpointSlice)
	if !ok {
		return
	}
	if key := sliceKey(s); key != "" && mirrored(s) && !c.tracker.Gone(key, s) {
		c.loop.Add(key)
	}
}

// sync mirrors the Endpoints key, or deletes its mirrored slices when it is not to
// be mirrored.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	ep, err := c.endpoints.Endpoints(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, c.removeAll(ctx, key)
	}
	if err != nil {
		return 0, err
	}
	if !shouldMirror(ep) {
		return 0, c.removeAll(ctx, key)
	}
	svc, err := c.services.Services(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, c.removeAll(ctx, key)
	}
	if err != nil {
		return 0, err
	}
	if len(svc.Spec.Selector) > 0 {
		return 0, c.removeAll(ctx, key) // the Endpoints controller's, not custom
	}

	existing, err := c.mirroredFor(namespace, name)
	if err != nil {
		return 0, err
	}
	if c.tracker.Stale(key, existing) {
		return staleRetry, nil
	}
	d := mirror(ep)
	if d.invalid > 0 {
		c.recorder.Eventf(ep, corev1.EventTypeWarning, "InvalidIPAddress",
			"Skipped %d invalid IP addresses when mirroring to EndpointSlices", d.invalid)
	}
	if d.skipped > d.invalid {
		c.recorder.Eventf(ep, corev1.EventTypeWarning, "TooManyAddressesToMirror",
			"A max of %d addresses can be mirrored to EndpointSlices per Endpoints subset. %d addresses were skipped",
			maxPerSubset, d.skipped)
	}
	return 0, c.apply(ctx, key, ep, planFor(ep, existing, d))
}

func (c *Controller) mirroredFor(namespace, name string) ([]*discoveryv1.EndpointSlice, error) {
	return c.slices.EndpointSlices(namespace).List(labels.Set{
		discoveryv1.LabelServiceName: name,
		discoveryv1.LabelManagedBy:   managedBy,
	}.AsSelectorPreValidated())
}

// apply carries out p for the Endpoints ep; no slice is created for Endpoints being
// deleted.
func (c *Controller) apply(ctx context.Context, key string, ep *corev1.Endpoints, p plan) error {
	api := c.client.DiscoveryV1().EndpointSlices(ep.Namespace)
	if ep.DeletionTimestamp == nil {
		for _, s := range p.create {
			created, err := api.Create(ctx, s, metav1.CreateOptions{})
			if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
				return nil // creates fail until the namespace is gone
			}
			if err != nil {
				return fmt.Errorf("creating EndpointSlice for Endpoints %s: %w", key, err)
			}
			c.tracker.Wrote(key, created)
		}
	}
	for _, s := range p.update {
		updated, err := api.Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("updating EndpointSlice %s for Endpoints %s: %w", s.Name, key, err)
		}
		c.tracker.Wrote(key, updated)
	}
	return c.remove(ctx, key, p.remove)
}

// removeAll deletes every slice mirrored for the Endpoints key.
func (c *Controller) removeAll(ctx context.Context, key string) error {
	namespace, name, _ := cache.SplitMetaNamespaceKey(key)
	list, err := c.mirroredFor(namespace, name)
	if err != nil {
		return err
	}
	return c.remove(ctx, key, list)
}

func (c *Controller) remove(ctx context.Context, key string, list []*discoveryv1.EndpointSlice) error {
	var errs []error
	for _, s := range list {
		var opts metav1.DeleteOptions
		if s.UID != "" {
			opts.Preconditions = &metav1.Preconditions{UID: &s.UID}
		}
		err := c.client.DiscoveryV1().EndpointSlices(s.Namespace).Delete(ctx, s.Name, opts)
		switch {
		case err == nil:
			c.tracker.Deleted(key, s)
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
			// Already gone, or the name is another slice's now.
		default:
			errs = append(errs, fmt.Errorf("deleting EndpointSlice %s for Endpoints %s: %w", s.Name, key, err))
		}
	}
	return errors.Join(errs...)
}
