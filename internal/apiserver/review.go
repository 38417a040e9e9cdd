package apiserver

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/auth"
)

// A review is a resource that is only created, answers about a user, and stores
// nothing: SelfSubjectReview (who am I), and the access reviews (may this user do
// that), as upstream serves them for `kubectl auth whoami` and `kubectl auth can-i`.
type review struct {
	gv         schema.GroupVersion
	resource   string
	kind       string
	namespaced bool
	// self reviews are open to every authenticated user; the others need the
	// authorizer's leave to create them.
	self  bool
	new   func() runtime.Object
	serve func(s *Server, u *auth.User, r *http.Request, obj runtime.Object, ri requestInfo) (runtime.Object, error)
}

var (
	authenticationV1 = authenticationv1.SchemeGroupVersion
	authorizationV1  = authorizationv1.SchemeGroupVersion
)

var reviews = []review{
	{gv: authenticationV1, resource: "selfsubjectreviews", kind: "SelfSubjectReview", self: true,
		new: func() runtime.Object { return &authenticationv1.SelfSubjectReview{} }, serve: serveSelfSubjectReview},
	{gv: authenticationV1, resource: "tokenreviews", kind: "TokenReview",
		new: func() runtime.Object { return &authenticationv1.TokenReview{} }, serve: serveTokenReview},
	{gv: authorizationV1, resource: "selfsubjectaccessreviews", kind: "SelfSubjectAccessReview", self: true,
		new: func() runtime.Object { return &authorizationv1.SelfSubjectAccessReview{} }, serve: serveSelfSubjectAccessReview},
	{gv: authorizationV1, resource: "selfsubjectrulesreviews", kind: "SelfSubjectRulesReview", self: true,
		new: func() runtime.Object { return &authorizationv1.SelfSubjectRulesReview{} }, serve: serveSelfSubjectRulesReview},
	{gv: authorizationV1, resource: "subjectaccessreviews", kind: "SubjectAccessReview",
		new: func() runtime.Object { return &authorizationv1.SubjectAccessReview{} }, serve: serveSubjectAccessReview},
	{gv: authorizationV1, resource: "localsubjectaccessreviews", kind: "LocalSubjectAccessReview", namespaced: true,
		new: func() runtime.Object { return &authorizationv1.LocalSubjectAccessReview{} }, serve: serveSubjectAccessReview},
}

// reviewsOf returns the reviews of one group version.
func reviewsOf(gv schema.GroupVersion) []review {
	var out []review
	for _, rv := range reviews {
		if rv.gv == gv {
			out = append(out, rv)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].resource < out[j].resource })
	return out
}

// serveReview answers a request for a review; it returns false when ri names none.
func (s *Server) serveReview(w http.ResponseWriter, r *http.Request, ri requestInfo) bool {
	var rv *review
	for i := range reviews {
		if reviews[i].gv.Group == ri.Group && reviews[i].gv.Version == ri.Version && reviews[i].resource == ri.Resource {
			rv = &reviews[i]
		}
	}
	if rv == nil || ri.Name != "" || ri.Subresource != "" {
		return false
	}
	gr := schema.GroupResource{Group: ri.Group, Resource: ri.Resource}
	fail := func(err error) { s.writeError(w, r, err, gr, "") }
	if rv.namespaced != (ri.Namespace != "") {
		fail(apierrors.NewNotFound(gr, ""))
		return true
	}
	if ri.Verb != "create" {
		fail(apierrors.NewMethodNotSupported(gr, ri.Verb))
		return true
	}
	u := userFrom(r.Context())
	if u == nil {
		fail(apierrors.NewUnauthorized("Unauthorized"))
		return true
	}
	if az := s.cfg.Authorizer; az != nil && !rv.self {
		a := auth.Attributes{Verb: "create", Group: ri.Group, Resource: ri.Resource, Namespace: ri.Namespace}
		if ok, reason := az.Authorize(r.Context(), u, a); !ok {
			fail(apierrors.NewForbidden(gr, "", errorString(reason)))
			return true
		}
	}
	mt, ok := s.codecs.negotiate(r.Header.Get("Accept"), false)
	if !ok {
		// A Table, say, which reviews are not served as.
		fail(apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "",
			"only the following media types are accepted: "+strings.Join(s.codecs.mediaTypes(), ", "), 0, false))
		return true
	}
	data, err := readBody(r)
	if err != nil {
		fail(err)
		return true
	}
	lenient, _, err := s.codecs.decoderFor(r.Header.Get("Content-Type"))
	if err != nil {
		fail(apierrors.NewGenericServerResponse(http.StatusUnsupportedMediaType, "", gr, "", err.Error(), 0, false))
		return true
	}
	gvk := rv.gv.WithKind(rv.kind)
	obj, actual, err := lenient.Decode(data, &gvk, rv.new())
	if err != nil {
		fail(apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", rv.kind, rv.gv.Version, rv.kind, err)))
		return true
	}
	if actual != nil && *actual != gvk {
		fail(apierrors.NewBadRequest(fmt.Sprintf("the kind in the data (%s) does not match the expected kind (%s)", actual, gvk)))
		return true
	}
	out, err := rv.serve(s, u, r, obj, ri)
	if err != nil {
		fail(err)
		return true
	}
	s.encode(w, mt, http.StatusCreated, s.withKind(out, gvk))
	return true
}

// serveSelfSubjectReview says who the request's user is.
func serveSelfSubjectReview(_ *Server, u *auth.User, _ *http.Request, obj runtime.Object, _ requestInfo) (runtime.Object, error) {
	out := obj.(*authenticationv1.SelfSubjectReview)
	out.Status.UserInfo = userInfo(u)
	out.CreationTimestamp = metav1.Time{}
	return out, nil
}

// serveSelfSubjectAccessReview says whether the request's user may do what the spec
// describes.
func serveSelfSubjectAccessReview(s *Server, u *auth.User, r *http.Request, obj runtime.Object, _ requestInfo) (runtime.Object, error) {
	in := obj.(*authorizationv1.SelfSubjectAccessReview)
	st, err := s.accessReview(r, u, in.Spec.ResourceAttributes, in.Spec.NonResourceAttributes, "")
	if err != nil {
		return nil, err
	}
	in.Status = st
	return in, nil
}

// serveSelfSubjectRulesReview lists what the request's user may do in the spec's
// namespace, as `kubectl auth can-i --list` shows it.
func serveSelfSubjectRulesReview(s *Server, u *auth.User, _ *http.Request, obj runtime.Object, _ requestInfo) (runtime.Object, error) {
	in := obj.(*authorizationv1.SelfSubjectRulesReview)
	if in.Spec.Namespace == "" {
		return nil, apierrors.NewBadRequest("no namespace on request")
	}
	if s.cfg.Authorizer == nil { // everything is allowed
		in.Status.ResourceRules = []authorizationv1.ResourceRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
		in.Status.NonResourceRules = []authorizationv1.NonResourceRule{{Verbs: []string{"*"}, NonResourceURLs: []string{"*"}}}
		return in, nil
	}
	rl, ok := s.cfg.Authorizer.(auth.RuleLister)
	if !ok {
		in.Status.Incomplete = true
		in.Status.EvaluationError = "the authorizer does not list rules"
		return in, nil
	}
	rules, incomplete := rl.Rules(u, in.Spec.Namespace)
	in.Status = authorizationv1.SubjectRulesReviewStatus{Incomplete: incomplete,
		ResourceRules: []authorizationv1.ResourceRule{}, NonResourceRules: []authorizationv1.NonResourceRule{}}
	for _, r := range rules {
		if len(r.NonResourceURLs) > 0 {
			in.Status.NonResourceRules = append(in.Status.NonResourceRules, authorizationv1.NonResourceRule{Verbs: r.Verbs, NonResourceURLs: r.NonResourceURLs})
			continue
		}
		in.Status.ResourceRules = append(in.Status.ResourceRules, authorizationv1.ResourceRule{Verbs: r.Verbs, APIGroups: r.APIGroups,
			Resources: r.Resources, ResourceNames: r.ResourceNames})
	}
	return in, nil
}

// serveSubjectAccessReview says whether the user the spec names may do what it
// describes; a LocalSubjectAccessReview keeps to the namespace it is created in.
func serveSubjectAccessReview(s *Server, _ *auth.User, r *http.Request, obj runtime.Object, ri requestInfo) (runtime.Object, error) {
	var spec *authorizationv1.SubjectAccessReviewSpec
	var status *authorizationv1.SubjectAccessReviewStatus
	switch o := obj.(type) {
	case *authorizationv1.SubjectAccessReview:
		spec, status = &o.Spec, &o.Status
	case *authorizationv1.LocalSubjectAccessReview:
		spec, status = &o.Spec, &o.Status
		if ns := o.Namespace; ns != "" && ns != ri.Namespace {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.resourceAttributes.namespace must match namespace: %v", ri.Namespace))
		}
		if spec.ResourceAttributes == nil || (spec.ResourceAttributes.Namespace != "" && spec.ResourceAttributes.Namespace != ri.Namespace) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.resourceAttributes.namespace must match namespace: %v", ri.Namespace))
		}
	}
	if spec.User == "" && len(spec.Groups) == 0 {
		return nil, apierrors.NewBadRequest("at least one of user or group must be specified")
	}
	u := &auth.User{Name: spec.User, Groups: spec.Groups}
	st, err := s.accessReview(r, u, spec.ResourceAttributes, spec.NonResourceAttributes, ri.Namespace)
	if err != nil {
		return nil, err
	}
	*status = st
	return obj, nil
}

// accessReview asks the authorizer about u and the attributes of a review's spec.
func (s *Server) accessReview(r *http.Request, u *auth.User, ra *authorizationv1.ResourceAttributes, nra *authorizationv1.NonResourceAttributes, namespace string) (authorizationv1.SubjectAccessReviewStatus, error) {
	var a auth.Attributes
	switch {
	case ra != nil && nra == nil:
		a = auth.Attributes{Verb: ra.Verb, Group: ra.Group, Resource: ra.Resource, Subresource: ra.Subresource, Namespace: ra.Namespace, Name: ra.Name}
		if namespace != "" {
			a.Namespace = namespace
		}
	case nra != nil && ra == nil:
		a = auth.Attributes{Verb: nra.Verb, Path: nra.Path}
	default:
		return authorizationv1.SubjectAccessReviewStatus{}, apierrors.NewBadRequest("exactly one of nonResourceAttributes or resourceAttributes must be specified")
	}
	if s.cfg.Authorizer == nil {
		return authorizationv1.SubjectAccessReviewStatus{Allowed: true}, nil
	}
	ok, reason := s.cfg.Authorizer.Authorize(r.Context(), u, a)
	return authorizationv1.SubjectAccessReviewStatus{Allowed: ok, Reason: reasonOf(ok, reason)}, nil
}

func reasonOf(allowed bool, reason string) string {
	if allowed {
		return ""
	}
	return reason
}

// userInfo is u as the authentication API reports it.
func userInfo(u *auth.User) authenticationv1.UserInfo {
	info := authenticationv1.UserInfo{Username: u.Name, UID: u.UID, Groups: append([]string(nil), u.Groups...)}
	if len(u.Extra) > 0 {
		info.Extra = map[string]authenticationv1.ExtraValue{}
		for k, v := range u.Extra {
			info.Extra[k] = append(authenticationv1.ExtraValue(nil), v...)
		}
	}
	return info
}
