package endpoints

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/podium/podium/internal/controller/reconcile"
)

const (
	// workers is how many Services are synced in parallel, as upstream's default.
	workers = 5
	// truncated is the value of the over-capacity annotation on a truncated object.
	truncated = "truncated"
	// leaderAnnotation marks Endpoints used as leader-election records; they have no
	// Service and are never deleted as leftovers.
	leaderAnnotation = "control-plane.alpha.kubernetes.io/leader"
)

// Controller is the Endpoints controller.
type Controller struct {
	client      kubernetes.Interface
	services    corelisters.ServiceLister
	pods        corelisters.PodLister
	endpoints   corelisters.EndpointsLister
	loop        *reconcile.Loop
	triggers    *triggerTimes
	written     *replaced
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the Endpoints controller; it uses factory's Service, Pod and Endpoints
// informers, which the caller starts, and Run is called once they have synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{
		client:   client,
		triggers: newTriggerTimes(),
		written:  &replaced{versions: map[string]string{}},
		log:      log.With("controller", "endpoint"),
	}
	c.loop = reconcile.New("endpoint", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "endpoint-controller"})

	svcInf := factory.Core().V1().Services()
	podInf := factory.Core().V1().Pods()
	epInf := factory.Core().V1().Endpoints()
	c.services, c.pods, c.endpoints = svcInf.Lister(), podInf.Lister(), epInf.Lister()

	if _, err := svcInf.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		key, _ := cache.MetaNamespaceKeyFunc(obj)
		return key
	})); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podChanged,
		UpdateFunc: c.podUpdated,
		DeleteFunc: c.podChanged,
	}); err != nil {
		return nil, err
	}
	// The controller's own objects are watched so that a managed Endpoints changed or
	// deleted by someone else is put back.
	if _, err := epInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { c.endpointsChanged(obj) },
		DeleteFunc: c.endpointsChanged,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs Services until ctx ends. It first queues every Endpoints object, so that
// those left by Services deleted while the controller was not running are deleted.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	c.queueLeftovers()
	c.loop.Run(ctx, workers)
}

func (c *Controller) queueLeftovers() {
	all, err := c.endpoints.List(labels.Everything())
	if err != nil {
		c.log.Warn("listing Endpoints; leftovers of deleted Services stay", "err", err)
		return
	}
	for _, ep := range all {
		if _, ok := ep.Annotations[leaderAnnotation]; ok {
			continue
		}
		c.loop.Add(ep.Namespace + "/" + ep.Name)
	}
}

// selecting returns the keys of the Services whose selector picks pod.
func (c *Controller) selecting(pod *corev1.Pod) []string {
	svcs, err := c.services.Services(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var keys []string
	for _, svc := range svcs {
		if len(svc.Spec.Selector) == 0 {
			continue
		}
		if labels.Set(svc.Spec.Selector).AsSelectorPreValidated().Matches(labels.Set(pod.Labels)) {
			keys = append(keys, svc.Namespace+"/"+svc.Name)
		}
	}
	return keys
}

func (c *Controller) podChanged(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	for _, key := range c.selecting(pod) {
		c.loop.Add(key)
	}
}

// podUpdated queues the Services selecting the pod before or after the change.
func (c *Controller) podUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	c.podChanged(cur)
	if !maps.Equal(old.Labels, cur.Labels) {
		c.podChanged(old)
	}
}

func (c *Controller) endpointsChanged(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	ep, ok := obj.(*corev1.Endpoints)
	if !ok {
		return
	}
	if svc, err := c.services.Services(ep.Namespace).Get(ep.Name); err == nil && managed(svc) {
		c.loop.Add(ep.Namespace + "/" + ep.Name)
	}
}

// managed reports whether the controller writes svc's Endpoints.
func managed(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && len(svc.Spec.Selector) > 0
}

// sync brings the Endpoints of the Service key to what its pods say, or deletes
// them if the Service is gone.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	svc, err := c.services.Services(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		c.triggers.forget(key)
		c.written.forget(key)
		err := c.client.CoreV1().Endpoints(namespace).Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return 0, fmt.Errorf("deleting endpoints %s of a deleted service: %w", key, err)
		}
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if !managed(svc) {
		return 0, nil
	}
	pods, err := c.pods.Pods(namespace).List(labels.Set(svc.Spec.Selector).AsSelectorPreValidated())
	if err != nil {
		return 0, err
	}
	// Observed on every sync, written or not, so that a trigger time is only
	// reported once.
	trigger := c.triggers.observe(key, svc, pods)
	want := desired(svc, pods)

	cur, err := c.endpoints.Endpoints(namespace).Get(name)
	create := apierrors.IsNotFound(err)
	if err != nil && !create {
		return 0, err
	}
	if !create {
		if c.written.is(key, cur) {
			// The cache has not seen the last write yet; its arrival queues the
			// Service again.
			return 0, nil
		}
		if upToDate(cur, want) {
			return 0, nil
		}
	}

	next := want.next(cur, trigger)
	eps := c.client.CoreV1().Endpoints(namespace)
	if create {
		next.Name, next.Namespace = name, namespace
		_, err = eps.Create(ctx, next, metav1.CreateOptions{})
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return 0, nil // creates fail until the namespace is gone
		}
		if err != nil {
			c.recorder.Eventf(next, corev1.EventTypeWarning, "FailedToCreateEndpoint",
				"Failed to create endpoint for service %v/%v: %v", namespace, name, err)
			return 0, err
		}
		return 0, nil
	}
	updated, err := eps.Update(ctx, next, metav1.UpdateOptions{})
	if err != nil {
		c.recorder.Eventf(next, corev1.EventTypeWarning, "FailedToUpdateEndpoint",
			"Failed to update endpoint %v/%v: %v", namespace, name, err)
		return 0, err
	}
	if updated.ResourceVersion != cur.ResourceVersion {
		c.written.mark(key, cur)
	}
	return 0, nil
}

// wanted is the content the controller owns in a Service's Endpoints.
type wanted struct {
	subsets   []corev1.EndpointSubset
	labels    map[string]string
	truncated bool
}

func desired(svc *corev1.Service, pods []*corev1.Pod) wanted {
	w := wanted{subsets: desiredSubsets(svc, pods), labels: maps.Clone(svc.Labels)}
	if w.truncated = truncate(w.subsets); w.truncated {
		kept := w.subsets[:0]
		for _, ss := range w.subsets {
			if len(ss.Addresses)+len(ss.NotReadyAddresses) > 0 {
				kept = append(kept, ss)
			}
		}
		w.subsets = kept
	}
	if w.labels == nil {
		w.labels = map[string]string{}
	}
	if svc.Spec.ClusterIP == corev1.ClusterIPNone || svc.Spec.ClusterIP == "" {
		w.labels[corev1.IsHeadlessService] = ""
	} else {
		delete(w.labels, corev1.IsHeadlessService)
	}
	return w
}

// upToDate reports whether cur already has w's subsets, labels and over-capacity
// annotation. Target resource versions are not compared: a pod's updates that do
// not move its endpoints must not rewrite them.
func upToDate(cur *corev1.Endpoints, w wanted) bool {
	value, marked := cur.Annotations[corev1.EndpointsOverCapacity]
	if w.truncated != marked || (marked && value != truncated) {
		return false
	}
	return equality.Semantic.DeepEqual(cur.Labels, w.labels) &&
		equality.Semantic.DeepEqual(withoutTargetVersions(cur.Subsets), w.subsets)
}

func withoutTargetVersions(subsets []corev1.EndpointSubset) []corev1.EndpointSubset {
	out := make([]corev1.EndpointSubset, len(subsets))
	for i := range subsets {
		ss := subsets[i].DeepCopy()
		for _, list := range [][]corev1.EndpointAddress{ss.Addresses, ss.NotReadyAddresses} {
			for j := range list {
				if list[j].TargetRef != nil {
					list[j].TargetRef.ResourceVersion = ""
				}
			}
		}
		out[i] = *ss
	}
	return out
}

// next returns the Endpoints to write: cur (nil to create) with w's content and
// annotations; trigger is the last-change trigger time (zero: none to report).
func (w wanted) next(cur *corev1.Endpoints, trigger time.Time) *corev1.Endpoints {
	var ep *corev1.Endpoints
	if cur == nil {
		ep = &corev1.Endpoints{}
	} else {
		ep = cur.DeepCopy()
	}
	ep.Subsets, ep.Labels = w.subsets, w.labels
	annotations := maps.Clone(ep.Annotations)
	if annotations == nil {
		annotations = map[string]string{}
	}
	if trigger.IsZero() {
		delete(annotations, corev1.EndpointsLastChangeTriggerTime)
	} else {
		annotations[corev1.EndpointsLastChangeTriggerTime] = trigger.UTC().Format(time.RFC3339Nano)
	}
	if w.truncated {
		annotations[corev1.EndpointsOverCapacity] = truncated
	} else {
		delete(annotations, corev1.EndpointsOverCapacity)
	}
	ep.Annotations = annotations
	return ep
}

// replaced remembers, per Service, the resourceVersion of the Endpoints the last
// update replaced, so that a sync does not act on a cache still holding it.
type replaced struct {
	mu       sync.Mutex        // guards versions
	versions map[string]string // by Service key
}

func (r *replaced) mark(key string, old *corev1.Endpoints) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.versions[key] = old.ResourceVersion
}

func (r *replaced) is(key string, cached *corev1.Endpoints) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.versions[key]
	return ok && v == cached.ResourceVersion
}

func (r *replaced) forget(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.versions, key)
}
