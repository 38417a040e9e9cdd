package pernamespace

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
)

// EnsureFunc brings the object of one active namespace to its desired state.
type EnsureFunc func(ctx context.Context, namespace string) error

// Controller runs an EnsureFunc for every active namespace.
type Controller struct {
	loop *reconcile.Loop
}

// New returns a controller named name that ensures the object called object in every
// active namespace; objects is the informer of that object's kind. The namespaces come
// from factory, whose informers the caller starts.
func New(name, object string, factory informers.SharedInformerFactory, objects cache.SharedIndexInformer, ensure EnsureFunc, log *slog.Logger) (*Controller, error) {
	namespaces := factory.Core().V1().Namespaces()
	lister := namespaces.Lister()
	c := &Controller{}
	c.loop = reconcile.New(name, func(ctx context.Context, ns string) (time.Duration, error) {
		n, err := lister.Get(ns)
		if apierrors.IsNotFound(err) || (err == nil && (n.DeletionTimestamp != nil || n.Status.Phase == corev1.NamespaceTerminating)) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		return 0, ensure(ctx, ns)
	}, log)
	if _, err := namespaces.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if ns, ok := obj.(*corev1.Namespace); ok {
			return ns.Name
		}
		return ""
	})); err != nil {
		return nil, err
	}
	if _, err := objects.AddEventHandler(c.loop.Handler(func(obj any) string {
		if m, ok := obj.(metav1.Object); ok && m.GetName() == object {
			return m.GetNamespace()
		}
		return ""
	})); err != nil {
		return nil, err
	}
	return c, nil
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.loop.Run(ctx, 1) }

// Settled reports whether a create or update error means there is nothing left to do:
// the object exists already, or its namespace is being terminated.
func Settled(err error) bool {
	return err == nil || apierrors.IsAlreadyExists(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause)
}
