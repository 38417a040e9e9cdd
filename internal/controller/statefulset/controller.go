package statefulset

import (
	"context"
	"errors"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/kubectl/pkg/util/podutils"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/controller/expectations"
	"github.com/podium/podium/internal/controller/reconcile"
)

// workers is how many StatefulSets are synced in parallel.
const workers = 5

var (
	controllerKind = appsv1.SchemeGroupVersion.WithKind("StatefulSet")
	podKind        = corev1.SchemeGroupVersion.WithKind("Pod")
)

// Controller is the StatefulSet controller.
type Controller struct {
	client      kubernetes.Interface
	sets        appslisters.StatefulSetLister
	pods        corelisters.PodLister
	revisions   appslisters.ControllerRevisionLister
	exp         *expectations.Expectations
	loop        *reconcile.Loop
	clock       clock.Clock
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the StatefulSet controller. It uses factory's StatefulSet, Pod and
// ControllerRevision informers, which the caller must start; Run is called once they
// have synced. PersistentVolumeClaims are read and written through client alone.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, clock: clock.RealClock{}, log: log.With("controller", "statefulset")}
	c.exp = expectations.New(func() time.Time { return c.clock.Now() })
	c.loop = reconcile.New("statefulset", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "statefulset-controller"})

	setInf, podInf, revInf := factory.Apps().V1().StatefulSets(), factory.Core().V1().Pods(), factory.Apps().V1().ControllerRevisions()
	c.sets, c.pods, c.revisions = setInf.Lister(), podInf.Lister(), revInf.Lister()
	if _, err := setInf.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		key, _ := cache.MetaNamespaceKeyFunc(obj)
		return key
	})); err != nil {
		return nil, err
	}
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.podAdded,
		UpdateFunc: c.podUpdated,
		DeleteFunc: c.podDeleted,
	}); err != nil {
		return nil, err
	}
	// Revisions are only read: the informer serves the lister.
	revInf.Informer()
	return c, nil
}

// Run syncs StatefulSets until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	c.loop.Run(ctx, workers)
}

// owner returns the key and the StatefulSet a controller reference names, if it exists
// with that UID.
func (c *Controller) owner(namespace string, ref *metav1.OwnerReference) (string, *appsv1.StatefulSet) {
	if ref == nil || ref.Kind != controllerKind.Kind || ref.APIVersion != controllerKind.GroupVersion().String() {
		return "", nil
	}
	set, err := c.sets.StatefulSets(namespace).Get(ref.Name)
	if err != nil || set.UID != ref.UID {
		return "", nil
	}
	return namespace + "/" + set.Name, set
}

// matching returns the keys of the StatefulSets whose selector picks pod.
func (c *Controller) matching(pod *corev1.Pod) []string {
	sets, err := c.sets.StatefulSets(pod.Namespace).List(labels.Everything())
	if err != nil {
		return nil
	}
	var out []string
	for _, set := range sets {
		sel, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pod.Namespace+"/"+set.Name)
	}
	return out
}

func (c *Controller) podAdded(obj any) {
	pod := obj.(*corev1.Pod)
	if pod.DeletionTimestamp != nil {
		// Seen first while being deleted (after a restart): a deletion to observe.
		c.podDeleted(pod)
		return
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		if key, _ := c.owner(pod.Namespace, ref); key != "" {
			c.exp.Created(key)
			c.loop.Add(key)
		}
		return
	}
	for _, key := range c.matching(pod) {
		c.loop.Add(key)
	}
}

func (c *Controller) podUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
		// A deletion the controller asked for is observed once the pod is terminating.
		if key, _ := c.owner(cur.Namespace, metav1.GetControllerOf(cur)); key != "" {
			c.exp.Deleted(key, cur.UID)
		}
	}
	oldRef, curRef := metav1.GetControllerOf(old), metav1.GetControllerOf(cur)
	if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
		if key, _ := c.owner(old.Namespace, oldRef); key != "" {
			c.loop.Add(key)
		}
	}
	if curRef != nil {
		key, set := c.owner(cur.Namespace, curRef)
		if key == "" {
			return
		}
		c.loop.Add(key)
		// A pod that just became ready is available minReadySeconds later.
		if set.Spec.MinReadySeconds > 0 && !podutils.IsPodReady(old) && podutils.IsPodReady(cur) {
			c.loop.AddAfter(key, time.Duration(set.Spec.MinReadySeconds)*time.Second+time.Second)
		}
		return
	}
	if !labels.Equals(old.Labels, cur.Labels) || oldRef != nil {
		for _, key := range c.matching(cur) {
			c.loop.Add(key)
		}
	}
}

func (c *Controller) podDeleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if key, _ := c.owner(pod.Namespace, metav1.GetControllerOf(pod)); key != "" {
		c.exp.Deleted(key, pod.UID)
		c.loop.Add(key)
	}
}

// sync brings one StatefulSet's revisions, claims and pods one step closer to its spec
// and writes its status.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	cached, err := c.sets.StatefulSets(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	set := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(set.Spec.Selector)
	if err != nil {
		c.log.Warn("invalid selector", "statefulset", key, "err", err)
		return 0, nil // retrying does not fix it
	}
	claimer := c.claimer(set, selector)
	revs, err := c.listRevisions(ctx, set, claimer)
	if err != nil {
		return 0, err
	}
	all, err := c.pods.Pods(set.Namespace).List(labels.Everything())
	if err != nil {
		return 0, err
	}
	pods, err := claimer.Pods(ctx, all)
	if err != nil {
		return 0, err
	}
	rv, err := c.syncRevisions(ctx, set, revs)
	if err != nil {
		return 0, errors.Join(err, c.truncateHistory(ctx, set, pods, revs, nil, nil))
	}
	now := c.clock.Now()
	status := computeStatus(set, pods, rv, now)
	var runErr error
	if set.DeletionTimestamp == nil && c.exp.Satisfied(key) {
		c.exp.Forget(key) // met, or expired: start afresh
		var updated int
		updated, runErr = c.execute(ctx, key, set, decide(set, pods, rv, now))
		status.CurrentReplicas -= int32(updated)
	}
	completeRollingUpdate(set, &status)
	statusErr := c.writeStatus(ctx, set, status)
	histErr := c.truncateHistory(ctx, set, pods, revs, rv.current, rv.update)
	if err := errors.Join(runErr, statusErr, histErr); err != nil {
		return 0, err
	}
	if set.Spec.MinReadySeconds > 0 && status.AvailableReplicas != replicas(set) {
		return time.Duration(set.Spec.MinReadySeconds) * time.Second, nil
	}
	return 0, nil
}
