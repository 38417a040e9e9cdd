package resourcequota

import (
	"context"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quota "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
)

// resync is how often every quota is recomputed though nothing changed, as upstream's
// default.
const resync = 5 * time.Minute

// Controller keeps the quotas' status.
type Controller struct {
	client   kubernetes.Interface
	quotas   corelisters.ResourceQuotaLister
	synced   []cache.InformerSynced
	registry quota.Registry
	counter  func(schema.GroupResource) quota.Evaluator
	loop     *reconcile.Loop
}

// New returns the controller, computing usage with registry's evaluators, and with an
// object count evaluator made by counter for any other count/RESOURCE.GROUP a quota
// names; counted are the informers whose changes call for a recount (the caller starts
// them).
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, registry quota.Registry,
	counter func(schema.GroupResource) quota.Evaluator, counted []cache.SharedIndexInformer, log *slog.Logger) *Controller {
	inf := factory.Core().V1().ResourceQuotas()
	c := &Controller{client: client, quotas: inf.Lister(), registry: registry, counter: counter,
		synced: []cache.InformerSynced{inf.Informer().HasSynced}}
	c.loop = reconcile.New("resourcequota", c.sync, log)
	_, _ = inf.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		key, _ := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
		return key
	}))
	for _, i := range counted {
		c.synced = append(c.synced, i.HasSynced)
		_, _ = i.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    c.namespaceOf,
			UpdateFunc: func(_, obj any) { c.namespaceOf(obj) },
			DeleteFunc: c.namespaceOf,
		})
	}
	return c
}

// namespaceOf queues every quota of obj's namespace.
func (c *Controller) namespaceOf(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil || m.GetNamespace() == "" {
		return
	}
	quotas, err := c.quotas.ResourceQuotas(m.GetNamespace()).List(labels.Everything())
	if err != nil {
		return
	}
	for _, q := range quotas {
		c.loop.Add(q.Namespace + "/" + q.Name)
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
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	q, err := c.quotas.ResourceQuotas(ns).Get(name)
	if apierrors.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	c.addCounters(q.Spec.Hard)
	used, err := quota.CalculateUsage(ns, q.Spec.Scopes, q.Spec.Hard, c.registry, q.Spec.ScopeSelector)
	if err != nil {
		return 0, err
	}
	status := corev1.ResourceQuotaStatus{Hard: q.Spec.Hard.DeepCopy(), Used: used}
	if apiequality.Semantic.DeepEqual(status, q.Status) {
		return resync, nil
	}
	next := q.DeepCopy()
	next.Status = status
	if _, err := c.client.CoreV1().ResourceQuotas(ns).UpdateStatus(ctx, next, metav1.UpdateOptions{}); err != nil && !apierrors.IsNotFound(err) {
		if apierrors.IsConflict(err) {
			return time.Millisecond, nil // the informer brings the newer one
		}
		return 0, err
	}
	return resync, nil
}

// addCounters adds an object count evaluator for each count/RESOURCE.GROUP of hard
// that no evaluator covers yet, as upstream's controller does for every resource.
func (c *Controller) addCounters(hard corev1.ResourceList) {
	for name := range hard {
		rest, ok := strings.CutPrefix(string(name), "count/")
		if !ok || c.counter == nil {
			continue
		}
		gr := schema.ParseGroupResource(rest)
		if c.registry.Get(gr) == nil {
			c.registry.Add(c.counter(gr))
		}
	}
}
