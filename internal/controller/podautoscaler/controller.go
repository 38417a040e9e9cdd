package podautoscaler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	autoscalinglisters "k8s.io/client-go/listers/autoscaling/v2"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned/typed/metrics/v1beta1"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/controller/reconcile"
)

// Upstream's defaults for kube-controller-manager's --horizontal-pod-autoscaler-*
// flags.
const (
	// syncPeriod is how often each autoscaler is synced.
	syncPeriod = 15 * time.Second
	// defaultTolerance is how far the usage ratio may stray from 1 without a scale,
	// where the behavior sets no tolerance.
	defaultTolerance = 0.1
	// downscaleStabilization is the scale-down stabilization window of autoscalers
	// without a behavior, or whose behavior sets none.
	downscaleStabilization = 5 * time.Minute
	// cpuInitializationPeriod and initialReadinessDelay: see readiness.
	cpuInitializationPeriod = 5 * time.Minute
	initialReadinessDelay   = 30 * time.Second

	workers = 5
)

// Controller is the HorizontalPodAutoscaler controller.
type Controller struct {
	client      kubernetes.Interface
	scales      scale.ScalesGetter
	mapper      apimeta.RESTMapper
	metrics     MetricsSource
	hpas        autoscalinglisters.HorizontalPodAutoscalerLister
	pods        corelisters.PodLister
	loop        *reconcile.Loop
	clock       clock.Clock
	broadcaster record.EventBroadcaster
	recorder    record.EventRecorder
	log         *slog.Logger

	tolerance              float64
	downscaleStabilization time.Duration
	readiness              readiness

	selectors *selectorStore

	mu        sync.Mutex          // guards histories
	histories map[string]*history // by autoscaler key
}

// New returns the HorizontalPodAutoscaler controller. It reads and writes targets'
// scale subresource through scales, finding their resource with mapper, reads pod
// usage from metrics, and uses factory's autoscaling/v2 HorizontalPodAutoscaler and
// pod informers, which the caller must start; Run must be called once they have
// synced.
func New(client kubernetes.Interface, scales scale.ScalesGetter, mapper apimeta.RESTMapper, metrics MetricsSource,
	factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{
		client: client, scales: scales, mapper: mapper, metrics: metrics,
		clock: clock.RealClock{}, log: log.With("controller", "horizontalpodautoscaler"),
		tolerance: defaultTolerance, downscaleStabilization: downscaleStabilization,
		readiness: readiness{cpuInitialization: cpuInitializationPeriod, initialDelay: initialReadinessDelay},
		selectors: newSelectorStore(), histories: map[string]*history{},
	}
	c.loop = reconcile.New("horizontalpodautoscaler", c.sync, log)
	c.broadcaster = record.NewBroadcaster()
	c.recorder = c.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "horizontal-pod-autoscaler"})

	hpaInf := factory.Autoscaling().V2().HorizontalPodAutoscalers()
	c.hpas = hpaInf.Lister()
	c.pods = factory.Core().V1().Pods().Lister()
	if _, err := hpaInf.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.added,
		UpdateFunc: c.updated,
		DeleteFunc: c.deleted,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// NewForConfig returns the controller with the scale and metrics clients of cfg,
// finding scale targets through client's discovery.
func NewForConfig(cfg *rest.Config, client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery()))
	scales, err := scale.NewForConfig(rest.CopyConfig(cfg), mapper, dynamic.LegacyAPIPathResolverFunc,
		scale.NewDiscoveryScaleKindResolver(client.Discovery()))
	if err != nil {
		return nil, fmt.Errorf("scale client: %w", err)
	}
	metrics, err := metricsclient.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("resource metrics client: %w", err)
	}
	return New(client, scales, mapper, NewMetricsSource(metrics), factory, log)
}

// Run syncs autoscalers until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: c.client.CoreV1().Events("")})
	defer c.broadcaster.Shutdown()
	c.loop.Run(ctx, workers)
}

// added queues a new autoscaler at once.
func (c *Controller) added(obj any) {
	hpa, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok {
		return
	}
	c.selectors.add(hpa.Namespace, hpa.Name)
	c.loop.Add(hpa.Namespace + "/" + hpa.Name)
}

// updated queues an autoscaler at once when its spec changed (its generation moved);
// other changes, such as this controller's own status writes, wait for the next
// period, so that they do not make it sync again straight away.
func (c *Controller) updated(oldObj, obj any) {
	old, ok1 := oldObj.(*autoscalingv2.HorizontalPodAutoscaler)
	hpa, ok2 := obj.(*autoscalingv2.HorizontalPodAutoscaler)
	if !ok1 || !ok2 {
		return
	}
	if old.Generation != hpa.Generation {
		c.added(hpa)
		return
	}
	c.loop.AddAfter(hpa.Namespace+"/"+hpa.Name, syncPeriod)
}

func (c *Controller) deleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if hpa, ok := obj.(*autoscalingv2.HorizontalPodAutoscaler); ok {
		c.selectors.remove(hpa.Namespace, hpa.Name)
	}
}

// sync syncs one autoscaler and asks to be called again a period later. Its failures
// are in the autoscaler's conditions and events; they are retried at the next period
// too, not sooner.
func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	hpa, err := c.hpas.HorizontalPodAutoscalers(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		c.mu.Lock()
		delete(c.histories, key)
		c.mu.Unlock()
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if err := c.reconcile(ctx, key, hpa); err != nil && ctx.Err() == nil {
		c.log.Warn("sync failed", "horizontalpodautoscaler", key, "err", err)
	}
	return syncPeriod, nil
}

// historyOf returns the history of the autoscaler key, new if it has none.
func (c *Controller) historyOf(key string) *history {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := c.histories[key]
	if h == nil {
		h = &history{}
		c.histories[key] = h
	}
	return h
}
