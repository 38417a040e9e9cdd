package serviceaccount

import (
	"context"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/controller/pernamespace"
)

// Name is the ServiceAccount every namespace has.
const Name = "default"

// New returns the controller keeping the default ServiceAccount in every active
// namespace; factory's informers must be started by the caller.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, log *slog.Logger) (*pernamespace.Controller, error) {
	accounts := factory.Core().V1().ServiceAccounts()
	lister := accounts.Lister()
	return pernamespace.New("serviceaccount", Name, factory, accounts.Informer(), func(ctx context.Context, namespace string) error {
		if _, err := lister.ServiceAccounts(namespace).Get(Name); err == nil {
			return nil
		}
		_, err := client.CoreV1().ServiceAccounts(namespace).Create(ctx,
			&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: Name}}, metav1.CreateOptions{})
		if pernamespace.Settled(err) {
			return nil
		}
		return err
	}, log)
}
