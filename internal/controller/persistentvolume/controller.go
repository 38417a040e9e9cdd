package persistentvolume

import (
	"context"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"github.com/podium/podium/internal/controller/reconcile"
)

// Keys name a claim ("pvc/NS/NAME") or a volume ("pv/NAME").
const (
	claimKey  = "pvc/"
	volumeKey = "pv/"
)

// resync is how often a claim that waits (Pending) is looked at again, as upstream's
// --pvclaimbinder-sync-period.
const resync = 15 * time.Second

// Controller binds claims and volumes.
type Controller struct {
	client      kubernetes.Interface
	claims      corelisters.PersistentVolumeClaimLister
	volumes     corelisters.PersistentVolumeLister
	classes     storagelisters.StorageClassLister
	pods        corelisters.PodLister
	synced      []cache.InformerSynced
	loop        *reconcile.Loop
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger
}

// New returns the controller; the caller starts the informer factory.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) *Controller {
	core, storage := factory.Core().V1(), factory.Storage().V1()
	c := &Controller{client: client, claims: core.PersistentVolumeClaims().Lister(), volumes: core.PersistentVolumes().Lister(),
		classes: storage.StorageClasses().Lister(), pods: core.Pods().Lister(), log: log.With("controller", "persistentvolume-binder"),
		synced: []cache.InformerSynced{core.PersistentVolumeClaims().Informer().HasSynced, core.PersistentVolumes().Informer().HasSynced,
			storage.StorageClasses().Informer().HasSynced, core.Pods().Informer().HasSynced}}
	c.loop = reconcile.New("persistentvolume-binder", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "persistentvolume-controller"})
	_, _ = core.PersistentVolumeClaims().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.claimChanged,
		UpdateFunc: func(_, obj any) { c.claimChanged(obj) },
		DeleteFunc: c.claimChanged,
	})
	_, _ = core.PersistentVolumes().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.volumeChanged,
		UpdateFunc: func(_, obj any) { c.volumeChanged(obj) },
		DeleteFunc: c.volumeChanged,
	})
	// A new or changed class may let waiting claims provision.
	_, _ = storage.StorageClasses().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.pendingClaims() },
		UpdateFunc: func(_, _ any) { c.pendingClaims() },
	})
	core.Pods().Informer()
	return c
}

func (c *Controller) claimChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	claim, ok := obj.(*corev1.PersistentVolumeClaim)
	if !ok {
		return
	}
	c.loop.Add(claimKey + claim.Namespace + "/" + claim.Name)
	if claim.Spec.VolumeName != "" {
		c.loop.Add(volumeKey + claim.Spec.VolumeName)
	}
}

func (c *Controller) volumeChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pv, ok := obj.(*corev1.PersistentVolume)
	if !ok {
		return
	}
	c.loop.Add(volumeKey + pv.Name)
	if ref := pv.Spec.ClaimRef; ref != nil {
		c.loop.Add(claimKey + ref.Namespace + "/" + ref.Name)
	} else if pv.Status.Phase == corev1.VolumeAvailable {
		c.pendingClaims() // it may satisfy one of them
	}
}

// pendingClaims queues every claim that waits for a volume.
func (c *Controller) pendingClaims() {
	claims, err := c.claims.List(labels.Everything())
	if err != nil {
		return
	}
	for _, claim := range claims {
		if claim.Spec.VolumeName == "" {
			c.loop.Add(claimKey + claim.Namespace + "/" + claim.Name)
		}
	}
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
	if name, ok := strings.CutPrefix(key, volumeKey); ok {
		pv, err := c.volumes.Get(name)
		if err != nil {
			return 0, nil // gone: nothing to reclaim
		}
		return 0, c.syncVolume(ctx, pv)
	}
	ns, name, err := cache.SplitMetaNamespaceKey(strings.TrimPrefix(key, claimKey))
	if err != nil {
		return 0, nil
	}
	claim, err := c.claims.PersistentVolumeClaims(ns).Get(name)
	if err != nil {
		return 0, nil
	}
	return c.syncClaim(ctx, claim)
}
