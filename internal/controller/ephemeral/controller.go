package ephemeral

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	ephemeralvolume "k8s.io/component-helpers/storage/ephemeral"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/controller/reconcile"
)

// Controller creates the claims of pods' ephemeral volumes.
type Controller struct {
	client      kubernetes.Interface
	pods        corelisters.PodLister
	claims      corelisters.PersistentVolumeClaimLister
	synced      []cache.InformerSynced
	loop        *reconcile.Loop
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
}

// New returns the controller; the caller starts the informer factory.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	core := factory.Core().V1()
	c := &Controller{client: client, pods: core.Pods().Lister(), claims: core.PersistentVolumeClaims().Lister(),
		synced: []cache.InformerSynced{core.Pods().Informer().HasSynced, core.PersistentVolumeClaims().Informer().HasSynced}}
	c.loop = reconcile.New("ephemeral-volume", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "ephemeral_volume"})
	_, _ = core.Pods().Informer().AddEventHandler(cache.FilteringResourceEventHandler{
		FilterFunc: func(obj any) bool {
			pod, ok := obj.(*corev1.Pod)
			return ok && hasEphemeral(pod)
		},
		Handler: c.loop.Handler(func(obj any) string {
			key, _ := cache.MetaNamespaceKeyFunc(obj)
			return key
		}),
	})
	// A claim that goes while its pod needs it is made again.
	_, _ = core.PersistentVolumeClaims().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if claim, ok := obj.(*corev1.PersistentVolumeClaim); ok {
				if ref := metav1.GetControllerOf(claim); ref != nil && ref.Kind == "Pod" {
					c.loop.Add(claim.Namespace + "/" + ref.Name)
				}
			}
		},
	})
	return c
}

func hasEphemeral(pod *corev1.Pod) bool {
	for _, v := range pod.Spec.Volumes {
		if v.Ephemeral != nil {
			return true
		}
	}
	return false
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	c.loop.Run(ctx, 2)
}

func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	pod, err := c.pods.Pods(ns).Get(name)
	if err != nil || pod.DeletionTimestamp != nil {
		return 0, nil
	}
	for _, v := range pod.Spec.Volumes {
		if v.Ephemeral == nil || v.Ephemeral.VolumeClaimTemplate == nil {
			continue
		}
		claimName := ephemeralvolume.VolumeClaimName(pod, &v)
		if existing, err := c.claims.PersistentVolumeClaims(ns).Get(claimName); err == nil {
			if !metav1.IsControlledBy(existing, pod) {
				c.recorder.Eventf(pod, corev1.EventTypeWarning, "FailedBinding", "PVC %s/%s was not created for pod %s/%s (pod is not owner)", ns, claimName, ns, pod.Name)
			}
			continue
		}
		t := v.Ephemeral.VolumeClaimTemplate
		claim := &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: claimName, Namespace: ns, Labels: t.Labels, Annotations: t.Annotations,
				OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID,
					Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}},
			Spec: *t.Spec.DeepCopy(),
		}
		if _, err := c.client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, claim, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return 0, err
		}
	}
	return 0, nil
}
