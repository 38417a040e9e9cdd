package job

import (
	"context"
	"log/slog"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/controller/expectations"
	"github.com/podium/podium/internal/controller/reconcile"
)

const (
	// workers is how many Jobs are synced in parallel, as upstream's default.
	workers = 5
	// batchPeriod delays the sync a pod or status change asks for, so that a burst
	// of pod updates makes one sync.
	batchPeriod = time.Second
)

var jobKind = batchv1.SchemeGroupVersion.WithKind("Job")

// Controller is the Job controller.
type Controller struct {
	client      kubernetes.Interface
	jobs        batchlisters.JobLister
	pods        corelisters.PodLister
	exp         *expectations.Expectations
	finalizers  *finalizerExpectations
	backoff     *backoffStore
	loop        *reconcile.Loop // Job keys
	orphans     *reconcile.Loop // keys of pods whose tracking finalizer may have to go
	clock       clock.Clock
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the Job controller; factory's informers (Jobs and Pods) must be started
// by the caller, and Run called once they have synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	return newController(client, factory, clock.RealClock{}, log)
}

func newController(client kubernetes.Interface, factory informers.SharedInformerFactory, clk clock.Clock, log *slog.Logger) (*Controller, error) {
	c := &Controller{
		client:     client,
		exp:        expectations.New(clk.Now),
		finalizers: newFinalizerExpectations(),
		backoff:    newBackoffStore(),
		clock:      clk,
		log:        log.With("controller", "job"),
	}
	c.loop = reconcile.New("job", c.sync, log)
	c.orphans = reconcile.New("job-orphan-pod", c.syncOrphan, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "job-controller"})

	jobInf := factory.Batch().V1().Jobs()
	podInf := factory.Core().V1().Pods()
	c.jobs, c.pods = jobInf.Lister(), podInf.Lister()
	if _, err := jobInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.jobAdded,
		UpdateFunc: c.jobUpdated,
		DeleteFunc: c.jobDeleted,
	}); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podAdded,
		UpdateFunc: c.podUpdated,
		DeleteFunc: func(obj any) { c.podGone(obj, true) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs Jobs until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	go c.orphans.Run(ctx, 1)
	c.loop.Run(ctx, workers)
}

func keyOf(obj metav1.Object) string { return obj.GetNamespace() + "/" + obj.GetName() }

// managedElsewhere reports whether spec.managedBy hands job to another controller.
func managedElsewhere(job *batchv1.Job) bool {
	return job.Spec.ManagedBy != nil && *job.Spec.ManagedBy != batchv1.JobControllerName
}

// owner returns the Job a controller reference names, if it exists with that UID.
func (c *Controller) owner(namespace string, ref *metav1.OwnerReference) *batchv1.Job {
	if ref == nil || ref.Kind != jobKind.Kind || ref.APIVersion != jobKind.GroupVersion().String() {
		return nil
	}
	job, err := c.jobs.Jobs(namespace).Get(ref.Name)
	if err != nil || job.UID != ref.UID {
		return nil
	}
	return job
}

// matching returns the Jobs whose selector picks pod.
func (c *Controller) matching(pod *corev1.Pod) []*batchv1.Job {
	jobs, err := c.jobs.Jobs(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []*batchv1.Job
	for _, job := range jobs {
		sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, job)
	}
	return out
}

func (c *Controller) jobAdded(obj any) {
	if job, ok := obj.(*batchv1.Job); ok {
		c.loop.Add(keyOf(job))
	}
}

func (c *Controller) jobUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*batchv1.Job), newObj.(*batchv1.Job)
	key := keyOf(cur)
	if cur.Generation == old.Generation {
		c.loop.AddAfter(key, batchPeriod)
	} else {
		c.loop.Add(key) // a spec change is acted on at once
	}
	if finished(cur) {
		c.releaseFinalizers(cur)
	}
	if cur.Status.StartTime != nil && cur.Spec.ActiveDeadlineSeconds != nil {
		if old.Spec.ActiveDeadlineSeconds == nil || *old.Spec.ActiveDeadlineSeconds != *cur.Spec.ActiveDeadlineSeconds {
			left := secs(*cur.Spec.ActiveDeadlineSeconds) - c.clock.Since(cur.Status.StartTime.Time)
			c.loop.AddAfter(key, left)
		}
	}
}

func (c *Controller) jobDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	job, ok := obj.(*batchv1.Job)
	if !ok {
		return
	}
	c.loop.Add(keyOf(job))
	c.releaseFinalizers(job)
}

// releaseFinalizers queues the pods of job that still carry the tracking finalizer
// for the orphan worker, which removes it once job is gone or finished.
func (c *Controller) releaseFinalizers(job *batchv1.Job) {
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return
	}
	pods, _ := c.pods.Pods(job.Namespace).List(sel)
	for _, p := range pods {
		if metav1.IsControlledBy(p, job) && hasTrackingFinalizer(p) {
			c.orphans.Add(keyOf(p))
		}
	}
}

func (c *Controller) podAdded(obj any) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		// Seen first while being deleted (after a restart): a deletion to observe,
		// not a creation.
		c.podGone(pod, false)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if job := c.owner(pod.Namespace, ref); job != nil {
			c.exp.Created(keyOf(job))
			c.loop.AddAfter(keyOf(job), batchPeriod)
		}
		return
	}
	if hasTrackingFinalizer(pod) {
		c.orphans.Add(keyOf(pod))
	}
	for _, job := range c.matching(pod) {
		c.loop.AddAfter(keyOf(job), batchPeriod)
	}
}

func (c *Controller) podUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil {
		// A pod being deleted gracefully counts as deleted from now on.
		c.podGone(cur, false)
		return
	}
	// The finalizer is judged on cur alone: adds and removals during an ownership
	// change may collapse into one event.
	finalizerGone := !hasTrackingFinalizer(cur)
	oldRef, curRef := metav1.GetControllerOf(old), metav1.GetControllerOf(cur)
	refChanged := !equality.Semantic.DeepEqual(oldRef, curRef)
	if refChanged && oldRef != nil {
		if job := c.owner(old.Namespace, oldRef); job != nil {
			if finalizerGone {
				c.finalizers.observed(keyOf(job), cur.UID)
			}
			c.loop.AddAfter(keyOf(job), batchPeriod)
		}
	}
	if curRef != nil {
		if job := c.owner(cur.Namespace, curRef); job != nil {
			if finalizerGone {
				c.finalizers.observed(keyOf(job), cur.UID)
			}
			c.loop.AddAfter(keyOf(job), batchPeriod)
		}
		return
	}
	if !finalizerGone {
		c.orphans.Add(keyOf(cur))
	}
	if refChanged || !labels.Equals(old.Labels, cur.Labels) {
		for _, job := range c.matching(cur) {
			c.loop.AddAfter(keyOf(job), batchPeriod)
		}
	}
}

// podGone observes a pod deleted (final) or being deleted.
func (c *Controller) podGone(obj any, final bool) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	withFinalizer := hasTrackingFinalizer(pod)
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		if withFinalizer {
			c.orphans.Add(keyOf(pod))
		}
		return
	}
	job := c.owner(pod.Namespace, ref)
	if job == nil || finished(job) {
		// No sync of job will remove the finalizer.
		if withFinalizer {
			c.orphans.Add(keyOf(pod))
		}
		return
	}
	key := keyOf(job)
	c.exp.Deleted(key, pod.UID)
	if final || !withFinalizer {
		c.finalizers.observed(key, pod.UID)
	}
	c.loop.AddAfter(key, batchPeriod)
}
