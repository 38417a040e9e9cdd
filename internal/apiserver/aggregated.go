package apiserver

import (
	"net/http"
	"slices"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/sets"
	genericrequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/podium/podium/internal/auth"
)

// Aggregator proxies the group versions that aggregated API servers serve (package
// aggregator).
type Aggregator interface {
	// Proxies reports whether an aggregated server serves gv.
	Proxies(gv schema.GroupVersion) bool
	// Proxy sends r, user u's request for gv, to its server.
	Proxy(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion, u *auth.User)
	// Groups is the legacy discovery of the aggregated groups, Discovery their
	// aggregated discovery, both by group priority.
	Groups() []metav1.APIGroup
	Discovery() []apidiscoveryv2.APIGroupDiscovery
}

// Aggregate has a proxy the group versions of aggregated API servers: they take
// precedence over the server's own, as upstream's aggregator. Call it before Run.
func (s *Server) Aggregate(a Aggregator) { s.agg = a }

// aggregatedVersion returns the group version of a path under /apis/GROUP/VERSION that
// an aggregated server serves.
func (s *Server) aggregatedVersion(path string) (schema.GroupVersion, bool) {
	if s.agg == nil {
		return schema.GroupVersion{}, false
	}
	parts := strings.SplitN(strings.Trim(path, "/"), "/", 4)
	if len(parts) < 3 || parts[0] != "apis" {
		return schema.GroupVersion{}, false
	}
	gv := schema.GroupVersion{Group: parts[1], Version: parts[2]}
	return gv, s.agg.Proxies(gv)
}

// aggregatedRequests reads the requests proxied to aggregated servers as upstream's
// API server does: any path under /apis/GROUP/VERSION/ is a resource request (what
// follows the subresource included), its verb decoded as upstream decodes it, so that
// what is authorized here is what the extension server will serve.
var aggregatedRequests = &genericrequest.RequestInfoFactory{APIPrefixes: sets.NewString("api", "apis"), GrouplessAPIPrefixes: sets.NewString("api")}

// proxyAggregated sends a request for gv to its aggregated server, once its user may
// make it. Every request but the group version's discovery (/apis/GROUP/VERSION, which
// every user may read) is authorized here on its resource attributes, as any; the
// server authorizes again (with a SubjectAccessReview) as it sees fit.
func (s *Server) proxyAggregated(w http.ResponseWriter, r *http.Request, gv schema.GroupVersion) {
	u := userFrom(r.Context())
	info, err := aggregatedRequests.NewRequestInfo(r)
	if err != nil {
		s.writeError(w, r, apierrors.NewBadRequest(err.Error()), schema.GroupResource{}, "")
		return
	}
	rw := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	start := s.clock.Now()
	defer func() { s.metrics.observe(info.Verb, info.Resource, info.Subresource, rw.code, s.clock.Since(start)) }()
	if !info.IsResourceRequest && strings.Trim(r.URL.Path, "/") != "apis/"+gv.Group+"/"+gv.Version {
		http.NotFound(rw, r)
		return
	}
	if az := s.cfg.Authorizer; az != nil && info.IsResourceRequest {
		gr := schema.GroupResource{Group: info.APIGroup, Resource: info.Resource}
		allowed, reason := az.Authorize(r.Context(), u, auth.Attributes{Verb: info.Verb, Group: info.APIGroup, Resource: info.Resource,
			Subresource: info.Subresource, Namespace: info.Namespace, Name: info.Name})
		if !allowed {
			s.writeError(rw, r, apierrors.NewForbidden(gr, info.Name, errorString(reason)), gr, info.Name)
			return
		}
	}
	s.agg.Proxy(rw, r, gv, u)
}

// withAggregatedGroups adds the aggregated groups to the server's own, a group served
// by both getting the aggregated versions it lacks.
func (s *Server) withAggregatedGroups(groups []metav1.APIGroup) []metav1.APIGroup {
	if s.agg == nil {
		return groups
	}
	for _, ag := range s.agg.Groups() {
		i := slices.IndexFunc(groups, func(g metav1.APIGroup) bool { return g.Name == ag.Name })
		if i < 0 {
			groups = append(groups, ag)
			continue
		}
		for _, v := range ag.Versions {
			if slices.IndexFunc(groups[i].Versions, func(x metav1.GroupVersionForDiscovery) bool { return x.Version == v.Version }) < 0 {
				groups[i].Versions = append(groups[i].Versions, v)
			}
		}
	}
	return groups
}

// withAggregatedDiscovery adds the aggregated groups to the server's own aggregated
// discovery; an aggregated version replaces the server's own of that name.
func (s *Server) withAggregatedDiscovery(list *apidiscoveryv2.APIGroupDiscoveryList) *apidiscoveryv2.APIGroupDiscoveryList {
	if s.agg == nil {
		return list
	}
	for _, ag := range s.agg.Discovery() {
		i := slices.IndexFunc(list.Items, func(g apidiscoveryv2.APIGroupDiscovery) bool { return g.Name == ag.Name })
		if i < 0 {
			list.Items = append(list.Items, ag)
			continue
		}
		for _, v := range ag.Versions {
			j := slices.IndexFunc(list.Items[i].Versions, func(x apidiscoveryv2.APIVersionDiscovery) bool { return x.Version == v.Version })
			if j < 0 {
				list.Items[i].Versions = append(list.Items[i].Versions, v)
			} else {
				list.Items[i].Versions[j] = v
			}
		}
	}
	return list
}
