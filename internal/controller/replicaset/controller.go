package replicaset

import (
	"context"
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
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/kubectl/pkg/util/podutils"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/controller/expectations"
	"github.com/podium/podium/internal/controller/podclaim"
	"github.com/podium/podium/internal/controller/reconcile"
)

// workers is how many ReplicaSets are synced in parallel.
const workers = 5

// Controller is the ReplicaSet controller.
type Controller struct {
	client      kubernetes.Interface
	src         source
	pods        corelisters.PodLister
	exp         *expectations.Expectations
	loop        *reconcile.Loop
	clock       clock.Clock
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the ReplicaSet controller; factory's informers must be started by the
// caller, and Run called once they have synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	return newController("replicaset", "replicaset-controller", client, newReplicaSets(client, factory), factory, log)
}

// NewReplicationManager returns the same controller for ReplicationControllers.
func NewReplicationManager(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	return newController("replicationcontroller", "replication-controller", client, newReplicationControllers(client, factory), factory, log)
}

func newController(name, component string, client kubernetes.Interface, src source, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, src: src, clock: clock.RealClock{}, log: log.With("controller", name)}
	c.exp = expectations.New(c.clock.Now)
	c.loop = reconcile.New(name, c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: component})

	podInf := factory.Core().V1().Pods()
	c.pods = podInf.Lister()
	if _, err := src.informer().AddEventHandler(c.loop.Handler(func(obj any) string {
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
	return c, nil
}

// Run syncs ReplicaSets until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	c.loop.Run(ctx, workers)
}

// owner returns the key of the ReplicaSet a controller reference names, if it exists
// with that UID.
func (c *Controller) owner(namespace string, ref *metav1.OwnerReference) (string, *appsv1.ReplicaSet) {
	kind := c.src.kind()
	if ref == nil || ref.Kind != kind.Kind || ref.APIVersion != kind.GroupVersion().String() {
		return "", nil
	}
	rs, err := c.src.get(namespace, ref.Name)
	if err != nil || rs.UID != ref.UID {
		return "", nil
	}
	return namespace + "/" + rs.Name, rs
}

// matching returns the keys of the ReplicaSets whose selector picks pod.
func (c *Controller) matching(pod *corev1.Pod) []string {
	sets, err := c.src.list(pod.Namespace)
	if err != nil {
		return nil
	}
	var out []string
	for _, rs := range sets {
		sel, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		out = append(out, pod.Namespace+"/"+rs.Name)
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
	if key, _ := c.owner(pod.Namespace, metav1.GetControllerOf(pod)); key != "" {
		c.exp.Created(key)
		c.loop.Add(key)
		return
	}
	if metav1.GetControllerOf(pod) == nil {
		for _, key := range c.matching(pod) {
			c.loop.Add(key)
		}
	}
}

func (c *Controller) podUpdated(oldObj, newObj any) {
	old, cur := oldObj.(*corev1.Pod), newObj.(*corev1.Pod)
	if old.ResourceVersion == cur.ResourceVersion {
		return
	}
	if cur.DeletionTimestamp != nil && old.DeletionTimestamp == nil {
		// A pod being deleted gracefully counts as deleted from now on.
		c.podDeleted(cur)
		if !labels.Equals(old.Labels, cur.Labels) {
			c.podDeleted(old)
		}
		return
	}
	oldRef, curRef := metav1.GetControllerOf(old), metav1.GetControllerOf(cur)
	if oldRef != nil && (curRef == nil || oldRef.UID != curRef.UID) {
		if key, _ := c.owner(old.Namespace, oldRef); key != "" {
			c.loop.Add(key)
		}
	}
	if curRef != nil {
		key, rs := c.owner(cur.Namespace, curRef)
		if key == "" {
			return
		}
		c.loop.Add(key)
		// A pod that just became ready is available minReadySeconds later.
		if rs.Spec.MinReadySeconds > 0 && !podutils.IsPodReady(old) && podutils.IsPodReady(cur) {
			c.loop.AddAfter(key, time.Duration(rs.Spec.MinReadySeconds)*time.Second+time.Second)
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

// sync brings one ReplicaSet's pods to its replicas and writes its status.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	rs, err := c.src.get(namespace, name)
	if apierrors.IsNotFound(err) {
		c.exp.Forget(key)
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	selector, err := metav1.LabelSelectorAsSelector(rs.Spec.Selector)
	if err != nil {
		c.log.Warn("invalid selector", "replicaset", key, "err", err)
		return 0, nil
	}
	needsSync := c.exp.Satisfied(key) && rs.DeletionTimestamp == nil
	all, err := c.pods.Pods(namespace).List(labels.Everything())
	if err != nil {
		return 0, err
	}
	claimer := &podclaim.Claimer{Client: c.client, Owner: rs, OwnerKind: c.src.kind(), Selector: selector,
		Live: func(ctx context.Context) (metav1.Object, error) { return c.src.getLive(ctx, rs.Namespace, rs.Name) }}
	owned, err := claimer.Pods(ctx, activePods(all))
	if err != nil {
		return 0, err
	}
	var manageErr error
	if needsSync {
		c.exp.Forget(key) // met, or expired: start afresh
		manageErr = c.manage(ctx, key, rs, owned)
	}
	status := c.status(rs, owned, manageErr)
	updated, err := c.writeStatus(ctx, rs, status)
	if err != nil {
		return 0, err
	}
	if manageErr != nil {
		return 0, manageErr
	}
	replicas := *rs.Spec.Replicas
	if rs.Spec.MinReadySeconds > 0 && updated.Status.ReadyReplicas == replicas && updated.Status.AvailableReplicas != replicas {
		return time.Duration(rs.Spec.MinReadySeconds) * time.Second, nil
	}
	return 0, nil
}

// activePods drops the pods that have ended or are being deleted.
func activePods(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed && p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}
