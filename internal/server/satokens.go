package server

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/apiserver"
	"github.com/podium/podium/internal/pki"
	"github.com/podium/podium/internal/satoken"
)

// Issuer is the iss of service account tokens, and the API server's audience, as
// kubeadm and k3s set them.
const Issuer = "https://kubernetes.default.svc.cluster.local"

// saTokens issues service account tokens and checks them.
type saTokens struct {
	*satoken.Keys
	*satoken.Authenticator
}

func serviceAccountTokens(creds *pki.Credentials, api func() *apiserver.Server) (*saTokens, error) {
	keys, err := satoken.NewKeys(Issuer, creds.ServiceAccountKey)
	if err != nil {
		return nil, err
	}
	return &saTokens{Keys: keys, Authenticator: satoken.NewAuthenticator(keys, []string{Issuer}, cachedObjects{api: api})}, nil
}

// cachedObjects finds what tokens name in the API server's watch cache.
type cachedObjects struct{ api func() *apiserver.Server }

func cached[T any](c cachedObjects, resource, namespace, name string) (T, bool) {
	var zero T
	obj, ok := c.api().CachedObject(schema.GroupResource{Resource: resource}, namespace, name)
	if !ok {
		return zero, false
	}
	t, ok := obj.(T)
	return t, ok
}

func (c cachedObjects) ServiceAccount(namespace, name string) (*corev1.ServiceAccount, bool) {
	return cached[*corev1.ServiceAccount](c, "serviceaccounts", namespace, name)
}

func (c cachedObjects) Pod(namespace, name string) (*corev1.Pod, bool) {
	return cached[*corev1.Pod](c, "pods", namespace, name)
}

func (c cachedObjects) Secret(namespace, name string) (*corev1.Secret, bool) {
	return cached[*corev1.Secret](c, "secrets", namespace, name)
}

func (c cachedObjects) Node(name string) (*corev1.Node, bool) {
	return cached[*corev1.Node](c, "nodes", "", name)
}
