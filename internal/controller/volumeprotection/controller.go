package volumeprotection

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	ephemeralvolume "k8s.io/component-helpers/storage/ephemeral"

	"github.com/podium/podium/internal/admission"
	"github.com/podium/podium/internal/controller/reconcile"
)

// Controller removes the finalizers.
type Controller struct {
	client  kubernetes.Interface
	claims  corelisters.PersistentVolumeClaimLister
	volumes corelisters.PersistentVolumeLister
	pods    corelisters.PodLister
	synced  []cache.InformerSynced
	loop    *reconcile.Loop
}

// Keys name a claim ("pvc/NS/NAME") or a volume ("pv/NAME").
const (
	claimKey  = "pvc/"
	volumeKey = "pv/"
)

// New returns the controller; the caller starts the informer factory.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	core := factory.Core().V1()
	c := &Controller{client: client, claims: core.PersistentVolumeClaims().Lister(), volumes: core.PersistentVolumes().Lister(),
		pods: core.Pods().Lister(), synced: []cache.InformerSynced{core.PersistentVolumeClaims().Informer().HasSynced,
			core.PersistentVolumes().Informer().HasSynced, core.Pods().Informer().HasSynced}}
	c.loop = reconcile.New("volume-protection", c.sync, log)
	_, _ = core.PersistentVolumeClaims().Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		key, _ := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		return claimKey + key
	}))
	_, _ = core.PersistentVolumes().Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		key, _ := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		return volumeKey + key
	}))
	// A pod that goes, or finishes, may free the claims it names.
	_, _ = core.Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: func(_, obj any) { c.podClaims(obj) },
		DeleteFunc: c.podClaims,
	})
	return c
}

func (c *Controller) podClaims(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	for _, v := range pod.Spec.Volumes {
		switch {
		case v.PersistentVolumeClaim != nil:
			c.loop.Add(claimKey + pod.Namespace + "/" + v.PersistentVolumeClaim.ClaimName)
		case v.Ephemeral != nil:
			c.loop.Add(claimKey + pod.Namespace + "/" + ephemeralvolume.VolumeClaimName(pod, &v))
		}
	}
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	c.loop.Run(ctx, 2)
}

func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	if rest, ok := strings.CutPrefix(key, volumeKey); ok {
		return 0, c.syncVolume(ctx, rest)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(strings.TrimPrefix(key, claimKey))
	if err != nil {
		return 0, nil
	}
	pvc, err := c.claims.PersistentVolumeClaims(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil || pvc.DeletionTimestamp == nil || !slices.Contains(pvc.Finalizers, admission.ClaimProtectionFinalizer) {
		return 0, err
	}
	used, err := c.inUse(pvc)
	if err != nil || used {
		return 0, err
	}
	return 0, release(ctx, c.client.CoreV1().PersistentVolumeClaims(ns).Patch, pvc.Name, pvc.UID, pvc.Finalizers, admission.ClaimProtectionFinalizer)
}

// inUse reports whether a pod of the claim's namespace uses it: a scheduled pod that
// names it, or a pod not finished whose generic ephemeral volume it is.
func (c *Controller) inUse(pvc *corev1.PersistentVolumeClaim) (bool, error) {
	pods, err := c.pods.Pods(pvc.Namespace).List(labels.Everything())
	if err != nil {
		return false, err
	}
	for _, pod := range pods {
		if pod.Spec.NodeName == "" {
			continue // the agent does not start a pod whose claim is being deleted
		}
		finished := pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
		for _, v := range pod.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == pvc.Name {
				return true, nil
			}
			if v.Ephemeral != nil && !finished && pod.Name+"-"+v.Name == pvc.Name && metav1.IsControlledBy(pvc, pod) {
				return true, nil
			}
		}
	}
	return false, nil
}

func (c *Controller) syncVolume(ctx context.Context, name string) error {
	pv, err := c.volumes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil || pv.DeletionTimestamp == nil || !slices.Contains(pv.Finalizers, admission.VolumeProtectionFinalizer) ||
		pv.Status.Phase == corev1.VolumeBound {
		return err
	}
	return release(ctx, c.client.CoreV1().PersistentVolumes().Patch, pv.Name, pv.UID, pv.Finalizers, admission.VolumeProtectionFinalizer)
}

// release removes finalizer from an object's finalizers with patch (a typed client's
// Patch), the object's UID as a precondition.
func release[T any](ctx context.Context, patch func(context.Context, string, types.PatchType, []byte, metav1.PatchOptions, ...string) (T, error),
	name string, uid types.UID, finalizers []string, finalizer string) error {
	rest := slices.DeleteFunc(slices.Clone(finalizers), func(f string) bool { return f == finalizer })
	data, err := json.Marshal(map[string]any{"metadata": map[string]any{"uid": uid, "finalizers": rest}})
	if err != nil {
		return err
	}
	_, err = patch(ctx, name, types.MergePatchType, data, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}
