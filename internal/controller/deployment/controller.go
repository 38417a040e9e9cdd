package deployment

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/controller/reconcile"
)

// workers is how many Deployments are synced in parallel.
const workers = 5

var controllerKind = appsv1.SchemeGroupVersion.WithKind("Deployment")

// Controller is the Deployment controller.
type Controller struct {
	client      kubernetes.Interface
	deployments appslisters.DeploymentLister
	sets        appslisters.ReplicaSetLister
	pods        corelisters.PodLister
	loop        *reconcile.Loop
	clock       clock.Clock
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the Deployment controller; factory's informers must be started by the
// caller, and Run called once they have synced.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, clock: clock.RealClock{}, log: log.With("controller", "deployment")}
	c.loop = reconcile.New("deployment", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "deployment-controller"})

	dInf, rsInf, podInf := factory.Apps().V1().Deployments(), factory.Apps().V1().ReplicaSets(), factory.Core().V1().Pods()
	c.deployments, c.sets, c.pods = dInf.Lister(), rsInf.Lister(), podInf.Lister()
	if _, err := dInf.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		key, _ := cache.MetaNamespaceKeyFunc(obj)
		return key
	})); err != nil {
		return nil, err
	}
	if _, err := rsInf.Informer().AddEventHandler(c.loop.Handler(c.keysOfSet)); err != nil {
		return nil, err
	}
	// Recreate waits for the old pods to end: their deletion is worth a look.
	if _, err := podInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{DeleteFunc: func(obj any) {
		if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = d.Obj
		}
		if pod, ok := obj.(*corev1.Pod); ok {
			if ref := metav1.GetControllerOf(pod); ref != nil && ref.Kind == "ReplicaSet" {
				if rs, err := c.sets.ReplicaSets(pod.Namespace).Get(ref.Name); err == nil && rs.UID == ref.UID {
					if key := c.keysOfSet(rs); key != "" {
						c.loop.Add(key)
					}
				}
			}
		}
	}}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs Deployments until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	c.loop.Run(ctx, workers)
}

// keysOfSet returns the key of the Deployment a ReplicaSet belongs to: its controller,
// or, for an orphan, the first Deployment whose selector picks it.
func (c *Controller) keysOfSet(obj any) string {
	rs, ok := obj.(*appsv1.ReplicaSet)
	if !ok {
		return ""
	}
	if ref := metav1.GetControllerOf(rs); ref != nil {
		if ref.Kind != controllerKind.Kind {
			return ""
		}
		d, err := c.deployments.Deployments(rs.Namespace).Get(ref.Name)
		if err != nil || d.UID != ref.UID {
			return ""
		}
		return rs.Namespace + "/" + d.Name
	}
	ds, err := c.deployments.Deployments(rs.Namespace).List(labels.Everything())
	if err != nil {
		return ""
	}
	for _, d := range ds {
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(rs.Labels)) {
			return rs.Namespace + "/" + d.Name
		}
	}
	return ""
}

// sync rolls, scales or just reports one Deployment.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	cached, err := c.deployments.Deployments(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	d := cached.DeepCopy()
	selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || selector.Empty() {
		c.recorder.Eventf(d, corev1.EventTypeWarning, "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.")
		if d.Status.ObservedGeneration < d.Generation {
			d.Status.ObservedGeneration = d.Generation
			_, err := c.client.AppsV1().Deployments(namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{})
			return 0, ignoreGone(err)
		}
		return 0, nil
	}
	sets, err := c.claim(ctx, d, selector)
	if err != nil {
		return 0, err
	}
	if d.DeletionTimestamp != nil {
		return 0, c.syncStatusOnly(ctx, d, sets)
	}
	if err := c.checkPaused(ctx, d); err != nil {
		return 0, err
	}
	if d.Spec.Paused || c.isScalingEvent(d, sets) {
		return c.scaleOnly(ctx, d, sets)
	}
	if d.Spec.Strategy.Type == appsv1.RecreateDeploymentStrategyType {
		return c.rolloutRecreate(ctx, d, sets)
	}
	return c.rolloutRolling(ctx, d, sets)
}

// claim returns the ReplicaSets that are d's, adopting orphans its selector picks and
// releasing owned ones it no longer picks (unless d is being deleted).
func (c *Controller) claim(ctx context.Context, d *appsv1.Deployment, selector labels.Selector) ([]*appsv1.ReplicaSet, error) {
	all, err := c.sets.ReplicaSets(d.Namespace).List(labels.Everything())
	if err != nil {
		return nil, err
	}
	var owned []*appsv1.ReplicaSet
	var errs []error
	for _, rs := range all {
		matches := selector.Matches(labels.Set(rs.Labels))
		ref := metav1.GetControllerOf(rs)
		switch {
		case ref != nil && ref.UID == d.UID && matches:
			owned = append(owned, rs)
		case ref != nil && ref.UID == d.UID && d.DeletionTimestamp == nil:
			errs = append(errs, c.patchOwner(ctx, rs, map[string]any{"$patch": "delete", "uid": d.UID}))
		case ref == nil && matches && d.DeletionTimestamp == nil:
			if err := c.patchOwner(ctx, rs, controllerRef(d)); err != nil {
				errs = append(errs, err)
				continue
			}
			adopted := rs.DeepCopy()
			adopted.OwnerReferences = append(adopted.OwnerReferences, controllerRef(d))
			owned = append(owned, adopted)
		}
	}
	return owned, errors.Join(errs...)
}

// patchOwner adds ref to rs's owner references, or removes one ({"$patch": "delete"}).
func (c *Controller) patchOwner(ctx context.Context, rs *appsv1.ReplicaSet, ref any) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"ownerReferences": []any{ref}, "uid": rs.UID}})
	if err != nil {
		return err
	}
	_, err = c.client.AppsV1().ReplicaSets(rs.Namespace).Patch(ctx, rs.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{})
	return ignoreGone(err)
}

func controllerRef(d *appsv1.Deployment) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{APIVersion: controllerKind.GroupVersion().String(), Kind: controllerKind.Kind,
		Name: d.Name, UID: d.UID, Controller: &yes, BlockOwnerDeletion: &yes}
}

// ignoreGone drops NotFound: what was to be written is gone.
func ignoreGone(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
