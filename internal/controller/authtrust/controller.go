package authtrust

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
	"github.com/podium/podium/internal/pki"
	"github.com/podium/podium/internal/rbacpolicy"
)

// The headers the API server names the user in when it proxies, as upstream's
// defaults (kubeadm sets the same).
var (
	userHeaders  = []string{"X-Remote-User"}
	uidHeaders   = []string{"X-Remote-Uid"}
	groupHeaders = []string{"X-Remote-Group"}
	extraPrefix  = []string{"X-Remote-Extra-"}
)

// Data is the ConfigMap's content for a cluster CA and a front proxy CA.
func Data(clientCA, frontProxyCA []byte) map[string]string {
	list := func(v []string) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	return map[string]string{
		"client-ca-file":                     string(clientCA),
		"requestheader-client-ca-file":       string(frontProxyCA),
		"requestheader-allowed-names":        list([]string{pki.FrontProxyClientUser}),
		"requestheader-username-headers":     list(userHeaders),
		"requestheader-uid-headers":          list(uidHeaders),
		"requestheader-group-headers":        list(groupHeaders),
		"requestheader-extra-headers-prefix": list(extraPrefix),
	}
}

// Controller keeps the ConfigMap.
type Controller struct {
	client  kubernetes.Interface
	lister  corelisters.ConfigMapLister
	synced  cache.InformerSynced
	data    map[string]string
	loop    *reconcile.Loop
	factory informers.SharedInformerFactory
}

// New returns the controller keeping data (see Data) in the ConfigMap. It watches that
// ConfigMap alone, with an informer factory of its own that Run starts.
func New(client kubernetes.Interface, data map[string]string, log *slog.Logger) *Controller {
	factory := informers.NewSharedInformerFactoryWithOptions(client, 12*time.Hour, informers.WithNamespace(metav1.NamespaceSystem),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", rbacpolicy.ExtensionAuthentication).String()
		}))
	inf := factory.Core().V1().ConfigMaps()
	c := &Controller{client: client, lister: inf.Lister(), synced: inf.Informer().HasSynced, data: data, factory: factory}
	c.loop = reconcile.New("cluster-authentication-trust", c.sync, log)
	_, _ = inf.Informer().AddEventHandler(c.loop.Handler(func(any) string { return rbacpolicy.ExtensionAuthentication }))
	return c
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	if !cache.WaitForCacheSync(ctx.Done(), c.synced) {
		return
	}
	c.loop.Add(rbacpolicy.ExtensionAuthentication)
	c.loop.Run(ctx, 1)
}

func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	cms := c.client.CoreV1().ConfigMaps(metav1.NamespaceSystem)
	cm, err := c.lister.ConfigMaps(metav1.NamespaceSystem).Get(name)
	switch {
	case apierrors.IsNotFound(err):
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: c.data}, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return 0, nil // the informer brings it
		}
		return 0, err
	case err != nil:
		return 0, err
	case maps.Equal(cm.Data, c.data):
		return 0, nil
	}
	next := cm.DeepCopy()
	next.Data = c.data
	_, err = cms.Update(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		return 0, nil
	}
	return 0, err
}
