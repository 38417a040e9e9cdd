package apiserver

import (
	"net/http"
	"strings"

	"k8s.io/apimachinery/pkg/api/validation/path"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/podium/podium/internal/auth"
)

// requestInfo is what a resource URL names.
type requestInfo struct {
	Group, Version string
	Namespace      string
	Resource       string
	Name           string
	Subresource    string
	// ProxyPath is the path after .../proxy for the proxy subresource.
	ProxyPath string
	// Verb is the Kubernetes verb: get, list, watch, create, update, patch, delete,
	// deletecollection.
	Verb string
}

// parseRequest reads a resource URL:
//
//	/api/v1/RESOURCE[/NAME[/SUB]]
//	/api/v1/namespaces/NS/RESOURCE[/NAME[/SUB]]
//	/apis/GROUP/VERSION/... the same
//	/api/v1/watch/... and /apis/GROUP/VERSION/watch/... (legacy watch paths)
//	.../RESOURCE/NAME/proxy/PATH (the rest of the path goes to ProxyPath)
//
// It returns false for anything else.
func parseRequest(r *http.Request) (requestInfo, bool) {
	var ri requestInfo
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 3 && parts[0] == "api":
		ri.Version, parts = parts[1], parts[2:]
	case len(parts) >= 4 && parts[0] == "apis":
		ri.Group, ri.Version, parts = parts[1], parts[2], parts[3:]
	default:
		return ri, false
	}
	watchPath := false
	if parts[0] == "watch" {
		watchPath, parts = true, parts[1:]
	}
	if len(parts) >= 3 && parts[0] == "namespaces" {
		// namespaces/NS is the namespace object itself unless a resource follows.
		ri.Namespace, parts = parts[1], parts[2:]
		if ri.Namespace == "" {
			return ri, false
		}
		if len(parts) == 1 && isNamespaceSubresource(parts[0]) {
			// /api/v1/namespaces/NS/status and /finalize
			ri.Resource, ri.Name, ri.Subresource, ri.Namespace = "namespaces", ri.Namespace, parts[0], ""
			return withVerb(ri, r, watchPath), true
		}
	}
	if len(parts) > 3 && parts[2] == "proxy" {
		ri.ProxyPath = "/" + strings.Join(parts[3:], "/")
		if strings.HasSuffix(r.URL.Path, "/") && ri.ProxyPath != "/" {
			ri.ProxyPath += "/"
		}
		parts = parts[:3]
	} else if len(parts) == 3 && parts[2] == "proxy" && strings.HasSuffix(r.URL.Path, "/") {
		ri.ProxyPath = "/" // without it, a GET is redirected here
	}
	if len(parts) == 0 || len(parts) > 3 {
		return ri, false
	}
	ri.Resource = parts[0]
	if len(parts) > 1 {
		ri.Name = parts[1]
	}
	if len(parts) > 2 {
		ri.Subresource = parts[2]
	}
	for _, p := range parts {
		if p == "" {
			return ri, false
		}
	}
	return withVerb(ri, r, watchPath), true
}

func isNamespaceSubresource(s string) bool { return s == "status" || s == "finalize" }

func withVerb(ri requestInfo, r *http.Request, watchPath bool) requestInfo {
	q := r.URL.Query()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case watchPath || (ri.Name == "" && isTrue(q.Get("watch"))):
			ri.Verb = "watch"
		case ri.Name == "":
			ri.Verb = "list"
		default:
			ri.Verb = "get"
		}
	case http.MethodPost:
		ri.Verb = "create"
	case http.MethodPut:
		ri.Verb = "update"
	case http.MethodPatch:
		ri.Verb = "patch"
	case http.MethodDelete:
		if ri.Name == "" {
			ri.Verb = "deletecollection"
		} else {
			ri.Verb = "delete"
		}
	default:
		ri.Verb = "other" // a fixed word: method names come from clients, labels must not
	}
	return ri
}

func isTrue(s string) bool { return s == "true" || s == "1" }

// attributes are what r asks, for authorization. A list or watch whose field selector
// names one object (metadata.name=NAME) asks for that object, as upstream: a role
// that grants list or watch of resourceNames [NAME] allows it.
func (ri requestInfo) attributes(r *http.Request) auth.Attributes {
	a := auth.Attributes{Verb: ri.Verb, Group: ri.Group, Resource: ri.Resource, Subresource: ri.Subresource,
		Namespace: ri.Namespace, Name: ri.Name}
	if a.Name == "" && (a.Verb == "list" || a.Verb == "watch") {
		if fs := r.URL.Query().Get("fieldSelector"); fs != "" {
			if sel, err := fields.ParseSelector(fs); err == nil {
				if name, ok := sel.RequiresExactMatch("metadata.name"); ok && len(path.IsValidPathSegmentName(name)) == 0 {
					a.Name = name
				}
			}
		}
	}
	return a
}
