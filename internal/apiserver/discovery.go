package apiserver

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"

	apidiscoveryv2 "k8s.io/api/apidiscovery/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/endpoints/discovery"

	"github.com/podium/podium/internal/registry"
)

// aggregatedMedia is the Content-Type of aggregated discovery (apidiscovery.k8s.io/v2).
const aggregatedMedia = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

var allVerbs = []string{"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}

// subresourceShape is what discovery says of a subresource: its verbs and the kind it
// answers with ("" for the parent's kind).
type subresourceShape struct {
	verbs []string
	kind  schema.GroupVersionKind
}

var subresourceShapes = map[string]subresourceShape{
	"status":      {verbs: []string{"get", "patch", "update"}},
	"binding":     {verbs: []string{"create"}, kind: schema.GroupVersionKind{Version: "v1", Kind: "Binding"}},
	"eviction":    {verbs: []string{"create"}, kind: schema.GroupVersionKind{Group: "policy", Version: "v1", Kind: "Eviction"}},
	"log":         {verbs: []string{"get"}},
	"exec":        {verbs: []string{"create", "get"}, kind: schema.GroupVersionKind{Version: "v1", Kind: "PodExecOptions"}},
	"attach":      {verbs: []string{"create", "get"}, kind: schema.GroupVersionKind{Version: "v1", Kind: "PodAttachOptions"}},
	"portforward": {verbs: []string{"create", "get"}, kind: schema.GroupVersionKind{Version: "v1", Kind: "PodPortForwardOptions"}},
	"finalize":    {verbs: []string{"update"}},
	"scale":       {verbs: []string{"get", "patch", "update"}, kind: schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}},
	"proxy":       {verbs: []string{"create", "delete", "get", "patch", "update"}}, // KIND + ProxyOptions
	// Written through registry.SubresourceWriter, answering with the parent's kind.
	"ephemeralcontainers": {verbs: []string{"get", "patch", "update"}},
	"resize":              {verbs: []string{"get", "patch", "update"}},
	"approval":            {verbs: []string{"get", "patch", "update"}},
	"token":               {verbs: []string{"create"}, kind: schema.GroupVersionKind{Group: "authentication.k8s.io", Version: "v1", Kind: "TokenRequest"}},
}

// shapeOf is the shape of subresource sub of the resource of kind kind.
func shapeOf(kind, sub string) subresourceShape {
	shape := subresourceShapes[sub]
	if sub == "proxy" { // PodProxyOptions, ServiceProxyOptions, NodeProxyOptions
		shape.kind = schema.GroupVersionKind{Version: "v1", Kind: kind + "ProxyOptions"}
	}
	return shape
}

// resourcesOf returns the served resources of one group version, sorted by name.
func (s *Server) resourcesOf(gv schema.GroupVersion) []*resource {
	var out []*resource
	for gvr, res := range s.cat.Load().resources {
		if gvr.GroupVersion() == gv {
			out = append(out, res)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].info.Resource < out[j].info.Resource })
	return out
}

// apiResourceList is the legacy discovery document of one group version.
func (s *Server) apiResourceList(gv schema.GroupVersion) *metav1.APIResourceList {
	list := &metav1.APIResourceList{GroupVersion: gv.String()}
	list.Kind, list.APIVersion = "APIResourceList", "v1"
	for _, res := range s.resourcesOf(gv) {
		i := res.info
		list.APIResources = append(list.APIResources, metav1.APIResource{
			Name: i.Resource, SingularName: i.Singular, Namespaced: i.Namespaced, Kind: i.Kind,
			Verbs: allVerbs, ShortNames: i.ShortNames, Categories: i.Categories,
			StorageVersionHash: storageVersionHash(i),
		})
		for _, sub := range i.Subresources {
			shape := shapeOf(i.Kind, sub)
			r := metav1.APIResource{Name: i.Resource + "/" + sub, Namespaced: i.Namespaced, Kind: i.Kind, Verbs: shape.verbs}
			if shape.kind.Kind != "" {
				r.Group, r.Version, r.Kind = shape.kind.Group, shape.kind.Version, shape.kind.Kind
			}
			list.APIResources = append(list.APIResources, r)
		}
	}
	for _, rv := range reviewsOf(gv) {
		list.APIResources = append(list.APIResources, metav1.APIResource{Name: rv.resource, Namespaced: rv.namespaced, Kind: rv.kind,
			Verbs: []string{"create"}, SingularName: strings.ToLower(rv.kind)})
	}
	for _, ro := range s.readOnlyOf(gv) {
		i := ro.Info()
		list.APIResources = append(list.APIResources, metav1.APIResource{Name: i.Resource, SingularName: i.Singular, Namespaced: i.Namespaced,
			Kind: i.Kind, Verbs: readOnlyVerbs, ShortNames: i.ShortNames, Categories: i.Categories})
	}
	return list
}

// storageVersionHash is upstream's opaque hash of where a resource is stored, which
// clients only compare for equality.
func storageVersionHash(i registry.Info) string {
	v := i.Version
	if i.StorageVersion != "" {
		v = i.StorageVersion
	}
	return discovery.StorageVersionHash(i.Group, v, i.Kind)
}

// aggregated is the aggregated discovery document of the core group (core true) or of
// the named groups.
func (s *Server) aggregated(core bool) *apidiscoveryv2.APIGroupDiscoveryList {
	list := &apidiscoveryv2.APIGroupDiscoveryList{}
	list.Kind, list.APIVersion = "APIGroupDiscoveryList", "apidiscovery.k8s.io/v2"
	for _, gv := range s.cat.Load().groups {
		if (gv.Group == "") != core {
			continue
		}
		var group *apidiscoveryv2.APIGroupDiscovery
		for i := range list.Items {
			if list.Items[i].Name == gv.Group {
				group = &list.Items[i]
			}
		}
		if group == nil {
			list.Items = append(list.Items, apidiscoveryv2.APIGroupDiscovery{ObjectMeta: metav1.ObjectMeta{Name: gv.Group}})
			group = &list.Items[len(list.Items)-1]
		}
		v := apidiscoveryv2.APIVersionDiscovery{Version: gv.Version, Freshness: apidiscoveryv2.DiscoveryFreshnessCurrent}
		for _, res := range s.resourcesOf(gv) {
			i := res.info
			scope := apidiscoveryv2.ScopeCluster
			if i.Namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			rd := apidiscoveryv2.APIResourceDiscovery{
				Resource: i.Resource, SingularResource: i.Singular, Scope: scope, Verbs: allVerbs,
				ShortNames: i.ShortNames, Categories: i.Categories,
				ResponseKind: &metav1.GroupVersionKind{Group: i.Group, Version: i.Version, Kind: i.Kind},
			}
			for _, sub := range i.Subresources {
				shape := shapeOf(i.Kind, sub)
				kind := metav1.GroupVersionKind{Group: i.Group, Version: i.Version, Kind: i.Kind}
				if shape.kind.Kind != "" {
					kind = metav1.GroupVersionKind{Group: shape.kind.Group, Version: shape.kind.Version, Kind: shape.kind.Kind}
				}
				rd.Subresources = append(rd.Subresources, apidiscoveryv2.APISubresourceDiscovery{Subresource: sub, ResponseKind: &kind, Verbs: shape.verbs})
			}
			v.Resources = append(v.Resources, rd)
		}
		for _, rv := range reviewsOf(gv) {
			scope := apidiscoveryv2.ScopeCluster
			if rv.namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			v.Resources = append(v.Resources, apidiscoveryv2.APIResourceDiscovery{Resource: rv.resource, SingularResource: strings.ToLower(rv.kind),
				Scope: scope, Verbs: []string{"create"}, ResponseKind: &metav1.GroupVersionKind{Group: rv.gv.Group, Version: rv.gv.Version, Kind: rv.kind}})
		}
		for _, ro := range s.readOnlyOf(gv) {
			i := ro.Info()
			scope := apidiscoveryv2.ScopeCluster
			if i.Namespaced {
				scope = apidiscoveryv2.ScopeNamespace
			}
			v.Resources = append(v.Resources, apidiscoveryv2.APIResourceDiscovery{Resource: i.Resource, SingularResource: i.Singular,
				Scope: scope, Verbs: readOnlyVerbs, ShortNames: i.ShortNames, Categories: i.Categories,
				ResponseKind: &metav1.GroupVersionKind{Group: i.Group, Version: i.Version, Kind: i.Kind}})
		}
		group.Versions = append(group.Versions, v)
	}
	return list
}

func wantsAggregated(accept string) bool {
	for _, clause := range strings.Split(accept, ",") {
		c := strings.ReplaceAll(strings.TrimSpace(clause), " ", "")
		if strings.HasPrefix(c, "application/json") && strings.Contains(c, "g=apidiscovery.k8s.io") &&
			strings.Contains(c, "v=v2") && !strings.Contains(c, "v=v2beta1") && strings.Contains(c, "as=APIGroupDiscoveryList") {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Vary", "Accept")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if !s.isRoot(w, r, "/api") {
		return
	}
	if wantsAggregated(r.Header.Get("Accept")) {
		writeJSON(w, aggregatedMedia, s.aggregated(true))
		return
	}
	v := &metav1.APIVersions{Versions: []string{"v1"}, ServerAddressByClientCIDRs: []metav1.ServerAddressByClientCIDR{{ClientCIDR: "0.0.0.0/0", ServerAddress: r.Host}}}
	v.Kind = "APIVersions"
	writeJSON(w, mediaJSON, v)
}

func (s *Server) serveAPIs(w http.ResponseWriter, r *http.Request) {
	if strings.TrimSuffix(r.URL.Path, "/") != "/apis" {
		// A group the server was not built with: a custom resource's, or none.
		s.serveResource(w, r)
		return
	}
	if wantsAggregated(r.Header.Get("Accept")) {
		writeJSON(w, aggregatedMedia, s.withAggregatedDiscovery(s.aggregated(false)))
		return
	}
	list := &metav1.APIGroupList{}
	list.Kind, list.APIVersion = "APIGroupList", "v1"
	for _, gv := range s.cat.Load().groups {
		if gv.Group != "" && (len(list.Groups) == 0 || list.Groups[len(list.Groups)-1].Name != gv.Group) {
			list.Groups = append(list.Groups, s.localGroup(gv.Group))
		}
	}
	list.Groups = s.withAggregatedGroups(list.Groups)
	writeJSON(w, mediaJSON, list)
}

// isRoot reports whether r asks for root itself; anything under it reaches here only
// when no served group or version matched, and is answered 404.
func (s *Server) isRoot(w http.ResponseWriter, r *http.Request, root string) bool {
	if strings.TrimSuffix(r.URL.Path, "/") == root {
		return true
	}
	http.NotFound(w, r)
	return false
}

// apiGroup is the discovery of group name, the server's own and aggregated versions.
func (s *Server) apiGroup(name string) metav1.APIGroup {
	g := s.localGroup(name)
	if merged := s.withAggregatedGroups([]metav1.APIGroup{g}); len(merged) == 2 && len(g.Versions) == 0 {
		g = merged[1] // served by aggregated servers only
		g.Kind, g.APIVersion = "APIGroup", "v1"
	} else {
		g = merged[0]
	}
	return g
}

// localGroup is the discovery of the server's own versions of group name.
func (s *Server) localGroup(name string) metav1.APIGroup {
	g := metav1.APIGroup{Name: name}
	g.Kind, g.APIVersion = "APIGroup", "v1"
	for _, gv := range s.cat.Load().groups {
		if gv.Group == name {
			v := metav1.GroupVersionForDiscovery{GroupVersion: gv.String(), Version: gv.Version}
			g.Versions = append(g.Versions, v)
			if g.PreferredVersion.Version == "" {
				g.PreferredVersion = v
			}
		}
	}
	return g
}

// serveGroupPath answers /apis/GROUP and /apis/GROUP/VERSION; it returns false for any
// other path.
func (s *Server) serveGroupPath(w http.ResponseWriter, r *http.Request) bool {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) == 2 && parts[0] == "apis":
		g := s.apiGroup(parts[1])
		if len(g.Versions) == 0 {
			return false
		}
		writeJSON(w, mediaJSON, g)
		return true
	case len(parts) == 3 && parts[0] == "apis", len(parts) == 2 && parts[0] == "api":
		gv := schema.GroupVersion{Version: parts[len(parts)-1]}
		if parts[0] == "apis" {
			gv.Group = parts[1]
		}
		list := s.apiResourceList(gv)
		if len(list.APIResources) == 0 {
			return false
		}
		writeJSON(w, mediaJSON, list)
		return true
	}
	return false
}

// Verbs returns the verbs every served resource supports.
func Verbs() []string { return append([]string(nil), allVerbs...) }
