package satoken

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/podium/podium/internal/auth"
)

// Objects finds what tokens name, in the API server's cache.
type Objects interface {
	ServiceAccount(namespace, name string) (*corev1.ServiceAccount, bool)
	Pod(namespace, name string) (*corev1.Pod, bool)
	Secret(namespace, name string) (*corev1.Secret, bool)
	Node(name string) (*corev1.Node, bool)
}

// Groups of every service account, and of those of one namespace (with the namespace
// appended).
const (
	AllServiceAccountsGroup = "system:serviceaccounts"
	namespaceGroupPrefix    = "system:serviceaccounts:"
)

// The extra of a bound token's user, as upstream names it.
const (
	extraPodName      = "authentication.kubernetes.io/pod-name"
	extraPodUID       = "authentication.kubernetes.io/pod-uid"
	extraNodeName     = "authentication.kubernetes.io/node-name"
	extraNodeUID      = "authentication.kubernetes.io/node-uid"
	extraCredentialID = "authentication.kubernetes.io/credential-id"
)

// Authenticator authenticates service account tokens. It keeps what it found for a
// token for CacheTTL (as upstream's token cache does), so that a client sending its
// token with every request does not pay for the signature each time; a token whose
// object is deleted therefore works up to CacheTTL longer.
type Authenticator struct {
	keys      *Keys
	audiences []string // the API server's own
	objects   Objects

	mu    sync.Mutex
	cache map[cacheKey]cached
}

// CacheTTL is how long a token's user is kept.
const CacheTTL = 10 * time.Second

// maxCached bounds the cache; when full it is emptied.
const maxCached = 10000

type cacheKey struct {
	token     [sha256.Size]byte
	audiences string
}

type cached struct {
	user      *auth.User
	audiences []string
	until     time.Time
}

var _ auth.Authenticator = (*Authenticator)(nil)

// NewAuthenticator returns the authenticator of the tokens keys issued, for the API
// server whose audiences are given.
func NewAuthenticator(keys *Keys, audiences []string, objects Objects) *Authenticator {
	return &Authenticator{keys: keys, audiences: audiences, objects: objects, cache: map[cacheKey]cached{}}
}

// Authenticate implements auth.Authenticator for the bearer tokens of requests.
func (a *Authenticator) Authenticate(r *http.Request) (*auth.User, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	u, _, err := a.AuthenticateToken(r.Context(), strings.TrimSpace(token), nil)
	return u, err == nil
}

// ErrNotOurs is the answer for a token that is not a service account token of this
// cluster's.
var ErrNotOurs = errors.New("not a service account token of this cluster")

// AuthenticateToken checks a token for audiences (the API server's when none): it
// returns its user and the audiences it is valid for, or why it is not valid.
func (a *Authenticator) AuthenticateToken(_ context.Context, token string, audiences []string) (*auth.User, []string, error) {
	if strings.Count(token, ".") != 2 {
		return nil, nil, ErrNotOurs
	}
	key := cacheKey{token: sha256.Sum256([]byte(token)), audiences: strings.Join(audiences, "\x00")}
	now := a.keys.now()
	a.mu.Lock()
	c, ok := a.cache[key]
	a.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.user, c.audiences, nil
	}
	u, auds, until, err := a.authenticate(token, audiences)
	if err != nil {
		return nil, nil, err
	}
	a.mu.Lock()
	if len(a.cache) >= maxCached {
		clear(a.cache)
	}
	if limit := now.Add(CacheTTL); until.IsZero() || until.After(limit) {
		until = limit
	}
	a.cache[key] = cached{user: u, audiences: auds, until: until}
	a.mu.Unlock()
	return u, auds, nil
}

// AuthenticateTokenUncached is AuthenticateToken without the cache, for measuring what
// the cache saves.
func (a *Authenticator) AuthenticateTokenUncached(token string, audiences []string) (*auth.User, []string, error) {
	u, auds, _, err := a.authenticate(token, audiences)
	return u, auds, err
}

// authenticate checks a token; until is when it expires.
func (a *Authenticator) authenticate(token string, audiences []string) (u *auth.User, auds []string, until time.Time, err error) {
	parsed, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, nil, until, ErrNotOurs
	}
	var unverified jwt.Claims
	if err := parsed.UnsafeClaimsWithoutVerification(&unverified); err != nil {
		return nil, nil, until, ErrNotOurs
	}
	if len(audiences) == 0 {
		audiences = a.audiences
	}
	switch unverified.Issuer {
	case a.keys.issuer:
		u, auds, err = a.bound(parsed, audiences)
		if unverified.Expiry != nil {
			until = unverified.Expiry.Time()
		}
		return u, auds, until, err
	case LegacyIssuer:
		u, auds, err = a.legacy(parsed, token, audiences)
		return u, auds, a.keys.now().Add(CacheTTL), err
	}
	return nil, nil, until, ErrNotOurs
}

func (a *Authenticator) bound(parsed *jwt.JSONWebToken, audiences []string) (*auth.User, []string, error) {
	var c claims
	if err := parsed.Claims(&a.keys.key.PublicKey, &c); err != nil {
		return nil, nil, ErrNotOurs
	}
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: a.keys.issuer, Time: a.keys.now()}, time.Minute); err != nil {
		return nil, nil, fmt.Errorf("invalid token: %w", err)
	}
	var valid []string
	for _, want := range audiences {
		if slices.Contains(c.Audience, want) {
			valid = append(valid, want)
		}
	}
	if len(valid) == 0 {
		return nil, nil, errors.New("token audiences are invalid")
	}
	k := c.Kubernetes
	if k == nil || k.ServiceAccount == nil || k.Namespace == "" {
		return nil, nil, errors.New("token lacks its service account")
	}
	extra := map[string][]string{}
	if c.ID != "" {
		extra[extraCredentialID] = []string{"JTI=" + c.ID}
	}
	if k.Pod != nil {
		pod, ok := a.objects.Pod(k.Namespace, k.Pod.Name)
		if err := sameObject("pod", k.Namespace+"/"+k.Pod.Name, ok, uidOf(pod, ok), k.Pod.UID); err != nil {
			return nil, nil, err
		}
		extra[extraPodName], extra[extraPodUID] = []string{k.Pod.Name}, []string{string(k.Pod.UID)}
	}
	if k.Secret != nil {
		secret, ok := a.objects.Secret(k.Namespace, k.Secret.Name)
		if err := sameObject("secret", k.Namespace+"/"+k.Secret.Name, ok, uidOf(secret, ok), k.Secret.UID); err != nil {
			return nil, nil, err
		}
	}
	if k.Node != nil {
		node, ok := a.objects.Node(k.Node.Name)
		if err := sameObject("node", k.Node.Name, ok, uidOf(node, ok), k.Node.UID); err != nil {
			return nil, nil, err
		}
		extra[extraNodeName], extra[extraNodeUID] = []string{k.Node.Name}, []string{string(k.Node.UID)}
	}
	u, err := a.account(k.Namespace, k.ServiceAccount.Name, k.ServiceAccount.UID)
	if err != nil {
		return nil, nil, err
	}
	if len(extra) > 0 {
		u.Extra = extra
	}
	return u, valid, nil
}

func (a *Authenticator) legacy(parsed *jwt.JSONWebToken, token string, audiences []string) (*auth.User, []string, error) {
	var c legacyClaims
	if err := parsed.Claims(&a.keys.key.PublicKey, &c); err != nil {
		return nil, nil, ErrNotOurs
	}
	if c.Namespace == "" || c.Secret == "" || c.Account == "" {
		return nil, nil, errors.New("token lacks its secret or service account")
	}
	secret, ok := a.objects.Secret(c.Namespace, c.Secret)
	if !ok || secret.DeletionTimestamp != nil {
		return nil, nil, fmt.Errorf("secret %s/%s of the token is not found", c.Namespace, c.Secret)
	}
	if secret.Type != corev1.SecretTypeServiceAccountToken || secret.Annotations[corev1.ServiceAccountNameKey] != c.Account ||
		subtle.ConstantTimeCompare(secret.Data[corev1.ServiceAccountTokenKey], []byte(token)) != 1 {
		return nil, nil, errors.New("token does not match its secret")
	}
	u, err := a.account(c.Namespace, c.Account, types.UID(c.AccountID))
	// Legacy tokens name no audience: they are good for the API server's.
	return u, audiences, err
}

// account is the user of a service account that must exist with uid.
func (a *Authenticator) account(namespace, name string, uid types.UID) (*auth.User, error) {
	sa, ok := a.objects.ServiceAccount(namespace, name)
	if err := sameObject("service account", namespace+"/"+name, ok, uidOf(sa, ok), uid); err != nil {
		return nil, err
	}
	return &auth.User{Name: ServiceAccountUser(namespace, name), UID: string(sa.UID),
		Groups: []string{AllServiceAccountsGroup, namespaceGroupPrefix + namespace, auth.AuthenticatedGroup}}, nil
}

// uidOf is the UID of an object a lookup found.
func uidOf(obj interface{ GetUID() types.UID }, found bool) types.UID {
	if !found {
		return ""
	}
	return obj.GetUID()
}

// sameObject reports why a token's object does not hold: gone, or replaced by another
// of its name.
func sameObject(kind, name string, found bool, have, want types.UID) error {
	switch {
	case !found:
		return fmt.Errorf("%s %s of the token is not found", kind, name)
	case want != "" && have != want:
		return fmt.Errorf("%s %s has UID %s, not the token's %s", kind, name, have, want)
	}
	return nil
}
