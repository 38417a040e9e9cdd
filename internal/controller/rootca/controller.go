package rootca

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

// Name and Key are the ConfigMap and the key that hold the CA.
const (
	Name = "kube-root-ca.crt"
	Key  = "ca.crt"
)

// Controller keeps kube-root-ca.crt in every active namespace.
type Controller struct {
	client     kubernetes.Interface
	ca         string
	namespaces corelisters.NamespaceLister
	configMaps corelisters.ConfigMapLister
	loop       *reconcile.Loop
}

// New returns the controller publishing caPEM; factory's informers must be started by
// the caller. Only ConfigMaps named kube-root-ca.crt need to be in factory.
func New(client kubernetes.Interface, caPEM []byte, namespaces, configMaps informers.SharedInformerFactory, log *slog.Logger) (*Controller, error) {
	c := &Controller{client: client, ca: string(caPEM)}
	c.loop = reconcile.New("root-ca-publisher", c.sync, log)
	nsInformer := namespaces.Core().V1().Namespaces()
	cmInformer := configMaps.Core().V1().ConfigMaps()
	c.namespaces, c.configMaps = nsInformer.Lister(), cmInformer.Lister()
	if _, err := nsInformer.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if ns, ok := obj.(*corev1.Namespace); ok {
			return ns.Name
		}
		return ""
	})); err != nil {
		return nil, err
	}
	if _, err := cmInformer.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if cm, ok := obj.(*corev1.ConfigMap); ok && cm.Name == Name {
			return cm.Namespace
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
	cms := c.client.CoreV1().ConfigMaps(namespace)
	cm, err := c.configMaps.ConfigMaps(namespace).Get(Name)
	switch {
	case apierrors.IsNotFound(err):
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: Name}, Data: map[string]string{Key: c.ca}}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) || apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return 0, nil
		}
		return 0, err
	case err != nil:
		return 0, err
	case cm.Data[Key] == c.ca && len(cm.Data) == 1 && len(cm.BinaryData) == 0:
		return 0, nil
	}
	next := cm.DeepCopy()
	next.Data, next.BinaryData = map[string]string{Key: c.ca}, nil
	_, err = cms.Update(ctx, next, metav1.UpdateOptions{})
	return 0, err
}
