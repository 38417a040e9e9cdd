package satokens

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/podium/podium/internal/controller/reconcile"
	"github.com/podium/podium/internal/satoken"
)

// Issuer signs the tokens; satoken.Keys is one.
type Issuer interface {
	IssueLegacy(namespace, secret string, account satoken.Ref) (string, error)
}

// Controller fills and removes service account token Secrets.
type Controller struct {
	client   kubernetes.Interface
	secrets  corelisters.SecretLister
	accounts corelisters.ServiceAccountLister
	synced   []cache.InformerSynced
	issuer   Issuer
	caPEM    []byte
	loop     *reconcile.Loop
}

// New returns the controller on factory's Secret and ServiceAccount informers, which
// the caller starts.
func New(client kubernetes.Interface, factory informers.SharedInformerFactory, issuer Issuer, caPEM []byte, log *slog.Logger) (*Controller, error) {
	secrets, accounts := factory.Core().V1().Secrets(), factory.Core().V1().ServiceAccounts()
	c := &Controller{client: client, secrets: secrets.Lister(), accounts: accounts.Lister(), issuer: issuer, caPEM: caPEM,
		synced: []cache.InformerSynced{secrets.Informer().HasSynced, accounts.Informer().HasSynced}}
	c.loop = reconcile.New("serviceaccount-token", c.sync, log)
	if _, err := secrets.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		if s, ok := obj.(*corev1.Secret); ok && s.Type == corev1.SecretTypeServiceAccountToken {
			return s.Namespace + "/" + s.Name
		}
		return ""
	})); err != nil {
		return nil, err
	}
	// An account's change or deletion looks at its namespace's token Secrets again.
	if _, err := accounts.Informer().AddEventHandler(c.loop.Handler(func(obj any) string {
		sa, ok := obj.(*corev1.ServiceAccount)
		if !ok {
			return ""
		}
		all, _ := c.secrets.Secrets(sa.Namespace).List(labels.Everything())
		for _, s := range all {
			if s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == sa.Name {
				c.loop.Add(s.Namespace + "/" + s.Name)
			}
		}
		return ""
	})); err != nil {
		return nil, err
	}
	return c, nil
}

// Run works until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return
	}
	c.loop.Run(ctx, 1)
}

func (c *Controller) sync(ctx context.Context, key string) (time.Duration, error) {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return 0, nil
	}
	secret, err := c.secrets.Secrets(namespace).Get(name)
	if apierrors.IsNotFound(err) || err == nil && (secret.Type != corev1.SecretTypeServiceAccountToken || secret.DeletionTimestamp != nil) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	account := secret.Annotations[corev1.ServiceAccountNameKey]
	sa, err := c.accounts.ServiceAccounts(namespace).Get(account)
	if apierrors.IsNotFound(err) {
		// The informer may lag behind a new account: ask the API before deleting.
		sa, err = c.client.CoreV1().ServiceAccounts(namespace).Get(ctx, account, metav1.GetOptions{})
	}
	uid := secret.Annotations[corev1.ServiceAccountUIDKey]
	if apierrors.IsNotFound(err) || err == nil && uid != "" && uid != string(sa.UID) {
		// The account is gone, or this Secret was another's of its name.
		err := c.client.CoreV1().Secrets(namespace).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &secret.UID}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return 0, nil
		}
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	if len(secret.Data[corev1.ServiceAccountTokenKey]) > 0 && uid != "" {
		return 0, nil
	}
	token, err := c.issuer.IssueLegacy(namespace, name, satoken.Ref{Name: sa.Name, UID: sa.UID})
	if err != nil {
		return 0, err
	}
	next := secret.DeepCopy()
	if next.Annotations == nil {
		next.Annotations = map[string]string{}
	}
	next.Annotations[corev1.ServiceAccountUIDKey] = string(sa.UID)
	if next.Data == nil {
		next.Data = map[string][]byte{}
	}
	next.Data[corev1.ServiceAccountTokenKey] = []byte(token)
	next.Data[corev1.ServiceAccountRootCAKey] = c.caPEM
	next.Data[corev1.ServiceAccountNamespaceKey] = []byte(namespace)
	_, err = c.client.CoreV1().Secrets(namespace).Update(ctx, next, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
		return 0, nil // the informer brings the new version
	}
	return 0, err
}
