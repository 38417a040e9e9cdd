package serviceaccount

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"

	"github.com/podium/podium/internal/controller/reconcile"
)

// Name is the ServiceAccount every namespace has.
const Name = "default"

// Controller keeps the default ServiceAccount in every active namespace.
type Controller struct {
	client     kubernetes.Interface
	namespaces corelisters.NamespaceLister
	accounts   corelisters.ServiceAccountLister
	loop       *reconcile.Loop
}

// New returns the controller; factory's informers must be started by the caller.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client}
	c.loop = reconcile.New("serviceaccount", c.sync, log)
	nsInformer := factory.Core().V1().Namespaces()
	saInformer := factory.Core().V1().ServiceAccounts()
	c.namespaces, c.accounts = nsInformer.Lister(), saInformer.Lister()
	if _, err := nsInformer.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if ns, ok := obj.(*corev1.Namespace); ok {
			return ns.Name
		}
		return ""
	})); err != nil {
		return nil, err
	}
	if _, err := saInformer.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if sa, ok := obj.(*corev1.ServiceAccount); ok && sa.Name == Name {
			return sa.Namespace
		}
		return ""
	})); err != nil {
		return nil, err
	}
	return c, nil
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) { c.loop.Run(ctx, 1) }

func (c *Controller) sync(ctx context.Context, namespace string) (time.Duration, error) {
	ns, err := c.namespaces.Get(namespace)
	if apierrors.IsNotFound(err) || (err == nil && (ns.DeletionTimestamp != nil || ns.Status.Phase == corev1.NamespaceTerminating)) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if _, err := c.accounts.ServiceAccounts(namespace).Get(Name); err == nil {
		return 0, nil
	}
	_, err = c.client.CoreV1().ServiceAccounts(namespace).Create(ctx,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: Name}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return 0, nil
	}
	return 0, err
}
