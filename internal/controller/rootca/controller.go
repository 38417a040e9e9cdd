package rootca

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/controller/pernamespace"
)

// Name and Key are the ConfigMap and the key that hold the CA.
const (
	Name = "kube-root-ca.crt"
	Key  = "ca.crt"
)

// New returns the controller publishing caPEM as kube-root-ca.crt in every active
// namespace. The namespaces come from namespaces, the ConfigMaps from configMaps (which
// need hold only those named kube-root-ca.crt); the caller starts both.
func New(client kubernetes.Interface, caPEM []byte, namespaces, configMaps informers.SharedInformerFactory, log *slog.Logger) (*pernamespace.Controller, error) {
	ca := string(caPEM)
	cmInformer := configMaps.Core().V1().ConfigMaps()
	lister := cmInformer.Lister()
	return pernamespace.New("root-ca-publisher", Name, namespaces, cmInformer.Informer(), func(ctx context.Context, namespace string) error {
		cms := client.CoreV1().ConfigMaps(namespace)
		cm, err := lister.ConfigMaps(namespace).Get(Name)
		switch {
		case apierrors.IsNotFound(err):
			_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: Name}, Data: map[string]string{Key: ca}}, metav1.CreateOptions{})
			if pernamespace.Settled(err) {
				return nil
			}
			return err
		case err != nil:
			return err
		case cm.Data[Key] == ca && len(cm.Data) == 1 && len(cm.BinaryData) == 0:
			return nil
		}
		next := cm.DeepCopy()
		next.Data, next.BinaryData = map[string]string{Key: ca}, nil
		_, err = cms.Update(ctx, next, metav1.UpdateOptions{})
		return err
	}, log)
}
