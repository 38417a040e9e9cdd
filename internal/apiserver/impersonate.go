package apiserver

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/auth"
)

// The impersonation headers, as kubectl's --as, --as-group and --as-uid send them.
const (
	impersonateUser        = "Impersonate-User"
	impersonateGroup       = "Impersonate-Group"
	impersonateUID         = "Impersonate-Uid"
	impersonateExtraPrefix = "Impersonate-Extra-"
)

// serviceAccountPrefix starts the user name of a service account:
// system:serviceaccount:NAMESPACE:NAME.
const serviceAccountPrefix = "system:serviceaccount:"

// impersonate returns the user a request acts as: u, or, with impersonation headers, the
// user, groups, uid and extras they name, each of which u must be allowed to impersonate
// (the verb impersonate on users, serviceaccounts, groups, uids and userextras), as
// upstream does. The impersonated user is in system:authenticated unless anonymous.
func (s *Server) impersonate(r *http.Request, u *auth.User) (*auth.User, error) {
	name := r.Header.Get(impersonateUser)
	groups := r.Header.Values(impersonateGroup)
	uid := r.Header.Get(impersonateUID)
	var extras []string
	for h := range r.Header {
		if strings.HasPrefix(h, impersonateExtraPrefix) {
			extras = append(extras, strings.ToLower(strings.TrimPrefix(h, impersonateExtraPrefix)))
		}
	}
	if name == "" {
		if len(groups) > 0 || uid != "" || len(extras) > 0 {
			return nil, apierrors.NewBadRequest("requested impersonation of groups, a uid or extras without impersonating a user")
		}
		return u, nil
	}
	may := func(a auth.Attributes) error {
		if s.cfg.Authorizer == nil {
			return nil
		}
		a.Verb = "impersonate"
		if ok, _ := s.cfg.Authorizer.Authorize(r.Context(), u, a); ok {
			return nil
		}
		return apierrors.NewForbidden(schema.GroupResource{Group: a.Group, Resource: a.Resource}, a.Name, errors.New(auth.Refusal(u, a)))
	}
	// A service account's name is system:serviceaccount:NAMESPACE:NAME; anything else,
	// malformed ones included, is a user's.
	var saGroups []string
	rest, isSA := strings.CutPrefix(name, serviceAccountPrefix)
	ns, sa, ok := strings.Cut(rest, ":")
	if isSA && ok && ns != "" && sa != "" && !strings.Contains(sa, ":") {
		if err := may(auth.Attributes{Resource: "serviceaccounts", Namespace: ns, Name: sa}); err != nil {
			return nil, err
		}
		if len(groups) == 0 {
			saGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns}
		}
	} else if err := may(auth.Attributes{Resource: "users", Name: name}); err != nil {
		return nil, err
	}
	for _, g := range groups {
		if err := may(auth.Attributes{Resource: "groups", Name: g}); err != nil {
			return nil, err
		}
	}
	// The groups a service account is in come with it, as upstream's: impersonating
	// the account is enough.
	groups = append(slices.Clone(groups), saGroups...)
	if uid != "" {
		if err := may(auth.Attributes{Group: "authentication.k8s.io", Resource: "uids", Name: uid}); err != nil {
			return nil, err
		}
	}
	for _, key := range extras {
		for _, v := range r.Header.Values(impersonateExtraPrefix + key) {
			if err := may(auth.Attributes{Group: "authentication.k8s.io", Resource: "userextras", Subresource: key, Name: v}); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case name == auth.AnonymousUser:
		if !slices.Contains(groups, auth.UnauthenticatedGroup) {
			groups = append(groups, auth.UnauthenticatedGroup)
		}
	case !slices.Contains(groups, auth.AuthenticatedGroup):
		groups = append(groups, auth.AuthenticatedGroup)
	}
	return &auth.User{Name: name, Groups: groups}, nil
}
