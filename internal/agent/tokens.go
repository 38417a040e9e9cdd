package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// tokens keeps the service account tokens of the pods' projected volumes, as the
// kubelet's token manager: a token is asked for (bound to its pod) the first time and
// asked for anew once 80% of its life or 24 hours have passed, whichever comes first;
// the volume's refresh then writes the new one.
type tokens struct {
	client kubernetes.Interface
	now    func() time.Time

	mu    sync.Mutex
	cache map[tokenKey]tokenEntry
}

type tokenKey struct {
	pod        types.UID
	account    string
	audience   string
	expiration int64
}

type tokenEntry struct {
	token         string
	issued, renew time.Time
	expires       time.Time
}

func newTokens(client kubernetes.Interface) *tokens {
	return &tokens{client: client, now: time.Now, cache: map[tokenKey]tokenEntry{}}
}

// maxTokenAge is the longest a token is kept before a new one is asked for.
const maxTokenAge = 24 * time.Hour

// get returns the token of a pod's projection.
func (t *tokens) get(ctx context.Context, pod *corev1.Pod, p *corev1.ServiceAccountTokenProjection) (string, error) {
	exp := int64(3600)
	if p.ExpirationSeconds != nil {
		exp = *p.ExpirationSeconds
	}
	key := tokenKey{pod: pod.UID, account: pod.Spec.ServiceAccountName, audience: p.Audience, expiration: exp}
	now := t.now()
	t.mu.Lock()
	e, ok := t.cache[key]
	t.mu.Unlock()
	if ok && now.Before(e.renew) {
		return e.token, nil
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: &exp,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
	}}
	if p.Audience != "" {
		req.Spec.Audiences = []string{p.Audience}
	}
	out, err := t.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, req, metav1.CreateOptions{})
	if err != nil {
		if ok && now.Before(e.expires) {
			return e.token, nil // the old one still works; the next refresh asks again
		}
		return "", fmt.Errorf("requesting a token for service account %q: %w", pod.Spec.ServiceAccountName, err)
	}
	exps := out.Status.ExpirationTimestamp.Time
	life := exps.Sub(now)
	e = tokenEntry{token: out.Status.Token, expires: exps, renew: now.Add(min(life*4/5, maxTokenAge))}
	t.mu.Lock()
	t.cache[key] = e
	t.mu.Unlock()
	return e.token, nil
}

// forget drops the tokens of a pod that is gone.
func (t *tokens) forget(uid types.UID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.cache {
		if k.pod == uid {
			delete(t.cache, k)
		}
	}
}
