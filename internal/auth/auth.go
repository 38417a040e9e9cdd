package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
)

// Groups a user may belong to.
const (
	MastersGroup = "system:masters"
	NodesGroup   = "system:nodes"
	// NodeUserPrefix starts the user name of a node: system:node:NAME.
	NodeUserPrefix = "system:node:"
	AdminUser      = "system:admin"
	// AnonymousUser and UnauthenticatedGroup are who a request without credentials
	// comes from; AuthenticatedGroup holds everyone else.
	AnonymousUser        = "system:anonymous"
	UnauthenticatedGroup = "system:unauthenticated"
	AuthenticatedGroup   = "system:authenticated"
)

// Anonymous is the user of a request without credentials.
func Anonymous() *User { return &User{Name: AnonymousUser, Groups: []string{UnauthenticatedGroup}} }

// PublicPath reports whether anyone, even without credentials, may GET path: the
// health checks and the version, as upstream's system:public-info-viewer role allows.
func PublicPath(path string) bool {
	switch path {
	case "/healthz", "/livez", "/readyz", "/version", "/version/":
		return true
	}
	for _, p := range []string{"/healthz/", "/livez/", "/readyz/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// discoveryPath reports whether path is API discovery or the OpenAPI documents, which
// every authenticated user may read (upstream's system:discovery role).
func discoveryPath(path string) bool {
	for _, p := range []string{"/api", "/apis", "/openapi"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// User is an authenticated identity.
type User struct {
	Name   string
	UID    string
	Groups []string
	// Extra is what the authenticator knows besides (a service account token's pod).
	Extra map[string][]string
}

type ctxKey int

const userKey ctxKey = 0

// WithUser returns ctx carrying the user of its request.
func WithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

// UserFrom returns the user ctx carries, or nil.
func UserFrom(ctx context.Context) *User {
	u, _ := ctx.Value(userKey).(*User)
	return u
}

// NodeName returns the node a user is, if it is one.
func (u *User) NodeName() (string, bool) {
	for _, g := range u.Groups {
		if g == NodesGroup && strings.HasPrefix(u.Name, NodeUserPrefix) {
			return strings.TrimPrefix(u.Name, NodeUserPrefix), true
		}
	}
	return "", false
}

// Authenticator identifies the user of a request.
type Authenticator interface {
	// Authenticate returns the request's user, or false when the request carries no
	// valid credential.
	Authenticate(r *http.Request) (*User, bool)
}

// Attributes describe what a request does.
type Attributes struct {
	Verb        string // get, list, watch, create, update, patch, delete, deletecollection
	Group       string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	// Path is the URL path of a request for no resource (/healthz, /api); Resource is
	// then empty.
	Path string
}

// Authorizer decides whether a user may do something.
type Authorizer interface {
	// Authorize returns true when u may do a; otherwise false and the reason.
	Authorize(ctx context.Context, u *User, a Attributes) (bool, string)
}

// BootstrappersGroup holds the users of bootstrap tokens: the join token lets its
// holder ask for a node's client certificate and nothing else.
const BootstrappersGroup = "system:bootstrappers"

// BootstrapUser is the user of the join token: system:bootstrap:ID, as upstream names
// the users of bootstrap tokens, with ID the first six hex digits of the token's
// SHA-256 (so that the name tells tokens apart without giving any of one away).
func BootstrapUser(joinToken string) string {
	sum := sha256.Sum256([]byte(joinToken))
	return "system:bootstrap:" + hex.EncodeToString(sum[:3])
}

// Tokens authenticates bearer tokens: the admin token, and the cluster's join token as
// a bootstrap token (BootstrapUser in system:bootstrappers).
type Tokens struct {
	admin, join string
}

var _ Authenticator = (*Tokens)(nil)

// NewTokens returns an authenticator for the admin token and the join token.
func NewTokens(admin, join string) *Tokens { return &Tokens{admin: admin, join: join} }

// Authenticate implements Authenticator.
func (t *Tokens) Authenticate(r *http.Request) (*User, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	token = strings.TrimSpace(token)
	if equal(token, t.admin) {
		return &User{Name: AdminUser, Groups: []string{MastersGroup, AuthenticatedGroup}}, true
	}
	if equal(token, t.join) {
		return &User{Name: BootstrapUser(t.join), Groups: []string{BootstrappersGroup, AuthenticatedGroup}}, true
	}
	return nil, false
}

func equal(a, b string) bool {
	return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// ClientCerts authenticates the client certificate a request's connection presented,
// which the TLS handshake has verified against the cluster CA: the user is its common
// name, its groups its organizations, as upstream's x509 authenticator reads them.
type ClientCerts struct{}

var _ Authenticator = ClientCerts{}

// Authenticate implements Authenticator.
func (ClientCerts) Authenticate(r *http.Request) (*User, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil, false
	}
	leaf := r.TLS.VerifiedChains[0][0]
	if leaf.Subject.CommonName == "" {
		return nil, false
	}
	groups := append(slices.Clone(leaf.Subject.Organization), AuthenticatedGroup)
	return &User{Name: leaf.Subject.CommonName, Groups: groups}, true
}

// FirstOf authenticates with the first of its authenticators that knows the request.
type FirstOf []Authenticator

var _ Authenticator = FirstOf(nil)

// Authenticate implements Authenticator.
func (f FirstOf) Authenticate(r *http.Request) (*User, bool) {
	for _, a := range f {
		if u, ok := a.Authenticate(r); ok {
			return u, true
		}
	}
	return nil, false
}
