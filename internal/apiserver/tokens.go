package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/auth"
	"github.com/podium/podium/internal/satoken"
	"github.com/podium/podium/internal/storage"
)

// ServiceAccountTokens issues service account tokens (TokenRequest), publishes how to
// check them (the issuer's OpenID discovery), and checks them (TokenReview).
type ServiceAccountTokens interface {
	Issue(satoken.Request) (string, time.Time, error)
	Discovery(jwksURI string) []byte
	JWKS() []byte
	AuthenticateToken(ctx context.Context, token string, audiences []string) (*auth.User, []string, error)
}

// Token lifetimes, as upstream's TokenRequest: an hour unless asked, ten minutes at
// least.
const (
	defaultTokenSeconds = 3600
	minTokenSeconds     = 600
	maxTokenSeconds     = 1 << 32
)

var tokenRequestKind = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")

// serveOIDC answers the issuer's discovery document and key set.
func (s *Server) serveOIDC(mux *http.ServeMux) {
	t := s.cfg.ServiceAccountTokens
	if t == nil {
		return
	}
	discovery, jwks := t.Discovery(""), t.JWKS()
	for path, doc := range map[string][]byte{satoken.DiscoveryPath: discovery, satoken.JWKSPath: jwks} {
		ct := "application/json"
		if path == satoken.JWKSPath {
			ct = "application/jwk-set+json"
		}
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Header().Set("Cache-Control", "public, max-age=3600")
			_, _ = w.Write(doc)
		})
	}
}

// createToken serves POST serviceaccounts/NAME/token: a TokenRequest, answered with a
// token for the account, bound to the object the request names.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, res *resource, ri requestInfo) {
	fail := func(err error) { s.writeError(w, r, err, res.groupResource(), ri.Name) }
	t := s.cfg.ServiceAccountTokens
	if t == nil {
		fail(apierrors.NewServiceUnavailable("service account tokens are not issued"))
		return
	}
	if ri.Verb != "create" {
		s.methodNotAllowed(w, r, res, ri)
		return
	}
	req := &authenticationv1.TokenRequest{}
	if err := s.decodeInto(r, req); err != nil {
		fail(err)
		return
	}
	out, err := s.issueToken(r.Context(), userFrom(r.Context()), ri.Namespace, ri.Name, req)
	if err != nil {
		fail(err)
		return
	}
	mt, ok := s.codecs.negotiate(r.Header.Get("Accept"), false)
	if !ok {
		mt = mediaType{info: s.codecs.byType[mediaJSON]}
	}
	s.encode(w, mt, http.StatusCreated, s.withKind(out, tokenRequestKind))
}

func (s *Server) issueToken(ctx context.Context, u *auth.User, namespace, name string, req *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
	gk := tokenRequestKind.GroupKind()
	if req.Name != "" && req.Name != name {
		return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified")})
	}
	if req.Namespace != "" && req.Namespace != namespace {
		return nil, apierrors.NewInvalid(gk, name, field.ErrorList{field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified")})
	}
	sa := &corev1.ServiceAccount{}
	if err := s.cfg.Store.Get(ctx, storage.Key("serviceaccounts", namespace, name), sa); err != nil {
		return nil, notFound(err, "serviceaccounts", name)
	}
	if req.UID != "" && req.UID != sa.UID {
		return nil, apierrors.NewConflict(schema.GroupResource{Group: gk.Group, Resource: gk.Kind}, name,
			fmt.Errorf("the UID in the token request (%s) does not match the UID of the service account (%s)", req.UID, sa.UID))
	}
	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = s.cfg.APIAudiences
	}
	if req.Spec.ExpirationSeconds == nil {
		req.Spec.ExpirationSeconds = ptr.To[int64](defaultTokenSeconds)
	}
	seconds := *req.Spec.ExpirationSeconds
	var errs field.ErrorList
	if seconds < minTokenSeconds {
		errs = append(errs, field.Invalid(field.NewPath("spec", "expirationSeconds"), seconds, "may not specify a duration less than 10 minutes"))
	} else if seconds > maxTokenSeconds {
		errs = append(errs, field.Invalid(field.NewPath("spec", "expirationSeconds"), seconds, "may not specify a duration larger than 2^32 seconds"))
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(gk, "", errs)
	}
	issue := satoken.Request{Namespace: namespace, Account: satoken.Ref{Name: sa.Name, UID: sa.UID},
		Audiences: req.Spec.Audiences, Expiration: time.Duration(seconds) * time.Second}
	node, isNode := u.NodeName()
	if ref := req.Spec.BoundObjectRef; ref != nil {
		bound, err := s.boundObject(ctx, namespace, ref)
		if err != nil {
			return nil, err
		}
		switch b := bound.(type) {
		case *corev1.Pod:
			if b.Spec.ServiceAccountName != name {
				return nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", name))
			}
			issue.Pod = &satoken.Ref{Name: b.Name, UID: b.UID}
			if b.Spec.NodeName != "" {
				if n, ok := s.CachedObject(schema.GroupResource{Resource: "nodes"}, "", b.Spec.NodeName); ok {
					issue.Node = &satoken.Ref{Name: b.Spec.NodeName, UID: n.(*corev1.Node).UID}
				}
			}
			if isNode && b.Spec.NodeName != node {
				return nil, apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts/token"}, name,
					fmt.Errorf("node %q can only create tokens for pods bound to it", node))
			}
		case *corev1.Secret:
			issue.Secret = &satoken.Ref{Name: b.Name, UID: b.UID}
		case *corev1.Node:
			issue.Node = &satoken.Ref{Name: b.Name, UID: b.UID}
		}
	}
	if isNode && issue.Pod == nil {
		return nil, apierrors.NewForbidden(schema.GroupResource{Resource: "serviceaccounts/token"}, name,
			fmt.Errorf("node %q can only create tokens bound to pods bound to it", node))
	}
	token, exp, err := s.cfg.ServiceAccountTokens.Issue(issue)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to generate token: %v", err))
	}
	req.CreationTimestamp = metav1.NewTime(s.clock.Now())
	req.Namespace, req.Name = namespace, name
	req.Status = authenticationv1.TokenRequestStatus{Token: token, ExpirationTimestamp: metav1.NewTime(exp)}
	return req, nil
}

// boundObject returns the object a token is to be bound to: a pod or secret of the
// account's namespace, or a node, whose UID is the reference's when it names one.
func (s *Server) boundObject(ctx context.Context, namespace string, ref *authenticationv1.BoundObjectReference) (runtime.Object, error) {
	var (
		obj      runtime.Object
		resource string
	)
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil || gv.Group != "" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)))
	}
	switch ref.Kind {
	case "Pod":
		obj, resource = &corev1.Pod{}, "pods"
	case "Secret":
		obj, resource = &corev1.Secret{}, "secrets"
	case "Node":
		obj, resource, namespace = &corev1.Node{}, "nodes", ""
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)))
	}
	if err := s.cfg.Store.Get(ctx, storage.Key(resource, namespace, ref.Name), obj); err != nil {
		return nil, notFound(err, resource, ref.Name)
	}
	m, _ := obj.(metav1.Object)
	if ref.UID != "" && m.GetUID() != ref.UID {
		return nil, apierrors.NewConflict(schema.GroupResource{Resource: ref.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	return obj, nil
}

// serveTokenReview says whose a token is, for the audiences the review names (the API
// server's when none).
func serveTokenReview(s *Server, _ *auth.User, r *http.Request, obj runtime.Object, _ requestInfo) (runtime.Object, error) {
	in := obj.(*authenticationv1.TokenReview)
	if in.Spec.Token == "" {
		return nil, apierrors.NewInvalid(authenticationv1.SchemeGroupVersion.WithKind("TokenReview").GroupKind(), "",
			field.ErrorList{field.Required(field.NewPath("spec", "token"), "")})
	}
	in.Status = authenticationv1.TokenReviewStatus{}
	var (
		u    *auth.User
		auds []string
		err  error
	)
	if t := s.cfg.ServiceAccountTokens; t != nil {
		u, auds, err = t.AuthenticateToken(r.Context(), in.Spec.Token, in.Spec.Audiences)
	}
	if u == nil && s.cfg.Authenticator != nil && (len(in.Spec.Audiences) == 0 || sameAudiences(in.Spec.Audiences, s.cfg.APIAudiences)) {
		// The server's other tokens (the admin's, the join token) are good for its
		// own audiences only.
		probe, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, "/", nil)
		probe.Header.Set("Authorization", "Bearer "+in.Spec.Token)
		if other, ok := s.cfg.Authenticator.Authenticate(probe); ok {
			u, auds, err = other, s.cfg.APIAudiences, nil
		}
	}
	if u == nil {
		if err == nil || err == satoken.ErrNotOurs {
			err = fmt.Errorf("invalid bearer token")
		}
		in.Status.Error = err.Error()
		return in, nil
	}
	in.Status.Authenticated = true
	in.Status.User = userInfo(u)
	if len(in.Spec.Audiences) > 0 {
		in.Status.Audiences = auds
	}
	return in, nil
}

func sameAudiences(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

// notFound words a missing object of the core group as the API does.
func notFound(err error, resource, name string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
	}
	return err
}
