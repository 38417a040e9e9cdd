package node

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/connlimit"
)

// How long the agent keeps the API server's answers, as the kubelet's webhook
// authorizer does by default.
const (
	allowedTTL = 5 * time.Minute
	deniedTTL  = 30 * time.Second
)

// guard admits the requests of the agent's endpoint as the kubelet does: the client
// presents a certificate of the cluster CA (its user and groups), and the API server
// says, through a SubjectAccessReview, whether that user may do the request's verb on
// this node's subresource (nodes/proxy, nodes/log, ...). Others get 401 or 403.
type guard struct {
	node    string
	reviews func(ctx context.Context, sar *authorizationv1.SubjectAccessReview) (*authorizationv1.SubjectAccessReview, error)
	now     func() time.Time

	mu    sync.Mutex
	cache map[string]verdict
}

type verdict struct {
	allowed bool
	until   time.Time
}

func newGuard(node string, client kubernetes.Interface) *guard {
	return &guard{node: node, now: time.Now, cache: map[string]verdict{},
		reviews: func(ctx context.Context, sar *authorizationv1.SubjectAccessReview) (*authorizationv1.SubjectAccessReview, error) {
			return client.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		}}
}

// wrap returns h behind the guard.
func (g *guard) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := auth.ClientCerts{}.Authenticate(r)
		if !ok {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		connlimit.Prove(r.Context())
		verb := verbOf(r.Method)
		subs := subresourcesOf(r.URL.Path)
		for _, sub := range subs {
			ok, err := g.allowed(r.Context(), u, verb, sub)
			if err != nil {
				http.Error(w, fmt.Sprintf("Authorization error (user=%s, verb=%s, resource=nodes, subresource=%s)", u.Name, verb, sub), http.StatusInternalServerError)
				return
			}
			if ok {
				h.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, fmt.Sprintf("Forbidden (user=%s, verb=%s, resource=nodes, subresource(s)=%v)", u.Name, verb, subs), http.StatusForbidden)
	})
}

// verbOf is the API verb of an HTTP method, as the kubelet maps them.
func verbOf(method string) string {
	switch method {
	case http.MethodPost:
		return "create"
	case http.MethodPut:
		return "update"
	case http.MethodPatch:
		return "patch"
	case http.MethodDelete:
		return "delete"
	}
	return "get"
}

// under reports whether path is prefix or below it.
func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// subresourcesOf lists the node subresources that admit a request for path, in the
// order asked: the fine-grained one first (pods, healthz), then the one upstream's
// kubelet has always asked for (stats, metrics, log, or else proxy).
func subresourcesOf(path string) []string {
	var out []string
	switch {
	case under(path, "/pods"), under(path, "/runningpods"):
		out = append(out, "pods")
	case under(path, "/healthz"):
		out = append(out, "healthz")
	case under(path, "/configz"):
		out = append(out, "configz")
	}
	switch {
	case under(path, "/stats"):
		return append(out, "stats")
	case under(path, "/metrics"):
		return append(out, "metrics")
	case under(path, "/logs"):
		return append(out, "log")
	case under(path, "/checkpoint"):
		return append(out, "checkpoint")
	}
	return append(out, "proxy")
}

func (g *guard) allowed(ctx context.Context, u *auth.User, verb, sub string) (bool, error) {
	key := strings.Join([]string{u.Name, strings.Join(u.Groups, ","), verb, sub}, "\x00")
	now := g.now()
	g.mu.Lock()
	v, ok := g.cache[key]
	g.mu.Unlock()
	if ok && now.Before(v.until) {
		return v.allowed, nil
	}
	sar, err := g.reviews(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.Name, Groups: u.Groups,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Version: "v1", Resource: "nodes", Subresource: sub, Name: g.node},
	}})
	if err != nil {
		return false, err
	}
	ttl := deniedTTL
	if sar.Status.Allowed {
		ttl = allowedTTL
	}
	g.mu.Lock()
	if len(g.cache) > 4096 { // users are few; a flood of them only empties the cache
		clear(g.cache)
	}
	g.cache[key] = verdict{allowed: sar.Status.Allowed, until: now.Add(ttl)}
	g.mu.Unlock()
	return sar.Status.Allowed, nil
}
