package apiserver

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/podium/podium/internal/registry"
)

// ReadOnlyResource is a resource served from memory rather than storage, for get and
// list only, as metrics.k8s.io's resource metrics are. Its methods must be safe for
// concurrent use and must not keep the objects they return.
type ReadOnlyResource interface {
	// Info names the resource (group, version, kind, list kind, resource, singular
	// name, scope); subresources and storage do not apply.
	Info() registry.Info
	// New returns an empty object of the resource's kind; NewList an empty list of them.
	New() runtime.Object
	NewList() runtime.Object
	// Get returns the object namespace/name ("" for a cluster-scoped resource), or an
	// API error: NotFound when there is none.
	Get(ctx context.Context, namespace, name string) (runtime.Object, error)
	// List returns the objects of namespace ("" for all of them), in order. The server
	// filters them by the request's label and field selectors.
	List(ctx context.Context, namespace string) ([]runtime.Object, error)
	// Columns returns the Table's columns, the first "Name"; Row returns one object's
	// cells in their order.
	Columns() []metav1.TableColumnDefinition
	Row(obj runtime.Object) []interface{}
}

// readOnlyVerbs are the verbs of every ReadOnlyResource.
var readOnlyVerbs = []string{"get", "list"}

// ReadOnlyVerbs returns the verbs every ReadOnlyResource supports.
func ReadOnlyVerbs() []string { return slices.Clone(readOnlyVerbs) }

// readOnlyOf returns the read-only resources of one group version, by resource name.
func (s *Server) readOnlyOf(gv schema.GroupVersion) []ReadOnlyResource {
	var out []ReadOnlyResource
	for gvr, ro := range s.readOnly {
		if gvr.GroupVersion() == gv {
			out = append(out, ro)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Info().Resource < out[j].Info().Resource })
	return out
}

// serveReadOnly answers a request for a read-only resource; it returns false when ri
// names none.
func (s *Server) serveReadOnly(w http.ResponseWriter, r *http.Request, ri requestInfo) bool {
	ro, ok := s.readOnly[schema.GroupVersionResource{Group: ri.Group, Version: ri.Version, Resource: ri.Resource}]
	if !ok {
		return false
	}
	info := ro.Info()
	gr := schema.GroupResource{Group: info.Group, Resource: info.Resource}
	rw := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	start := s.clock.Now()
	defer func() { s.metrics.observe(ri.Verb, ri.Resource, ri.Subresource, rw.code, s.clock.Since(start)) }()
	w = rw
	fail := func(err error) { s.writeError(w, r, err, gr, ri.Name) }
	switch {
	case ri.Subresource != "", !info.Namespaced && ri.Namespace != "":
		fail(apierrors.NewNotFound(gr, ri.Name))
		return true
	case !slices.Contains(readOnlyVerbs, ri.Verb), info.Namespaced && ri.Namespace == "" && ri.Verb != "list":
		fail(apierrors.NewMethodNotSupported(gr, ri.Verb))
		return true
	}
	if az := s.cfg.Authorizer; az != nil {
		if allowed, reason := az.Authorize(r.Context(), userFrom(r.Context()), ri.attributes(r)); !allowed {
			fail(apierrors.NewForbidden(gr, ri.Name, errorString(reason)))
			return true
		}
	}
	mt, ok := s.codecs.negotiate(r.Header.Get("Accept"), true)
	if !ok {
		fail(apierrors.NewGenericServerResponse(http.StatusNotAcceptable, "", schema.GroupResource{}, "",
			"only the following media types are accepted: "+strings.Join(s.codecs.mediaTypes(), ", "), 0, false))
		return true
	}
	var items []runtime.Object
	if ri.Verb == "get" {
		obj, err := ro.Get(r.Context(), ri.Namespace, ri.Name)
		if err != nil {
			fail(err)
			return true
		}
		switch mt.form {
		case formTable:
			s.encode(w, mt, http.StatusOK, s.readOnlyTable(r, ro, mt, []runtime.Object{obj}))
		case formMetadata:
			s.encode(w, mt, http.StatusOK, partialMetadata(obj, nil))
		default:
			s.encode(w, mt, http.StatusOK, s.withKind(obj, info.GroupVersionKind()))
		}
		return true
	}
	match, err := readOnlyFilter(info, r)
	if err != nil {
		fail(err)
		return true
	}
	all, err := ro.List(r.Context(), ri.Namespace)
	if err != nil {
		fail(err)
		return true
	}
	for _, obj := range all {
		if match(obj) {
			items = append(items, obj)
		}
	}
	switch mt.form {
	case formTable:
		s.encode(w, mt, http.StatusOK, s.readOnlyTable(r, ro, mt, items))
		return true
	case formMetadata:
		pl := &metav1.PartialObjectMetadataList{Items: []metav1.PartialObjectMetadata{}}
		pl.APIVersion, pl.Kind = "meta.k8s.io/v1", "PartialObjectMetadataList"
		for _, obj := range items {
			pl.Items = append(pl.Items, *partialMetadata(obj, nil))
		}
		s.encode(w, mt, http.StatusOK, pl)
		return true
	}
	list := ro.NewList()
	if err := meta.SetList(list, items); err != nil {
		fail(err)
		return true
	}
	list.GetObjectKind().SetGroupVersionKind(info.GroupVersion().WithKind(info.ListKind))
	s.encode(w, mt, http.StatusOK, list)
	return true
}

// readOnlyFilter is the predicate of a list's labelSelector and fieldSelector; the
// fields are metadata.name and, for a namespaced resource, metadata.namespace.
func readOnlyFilter(info registry.Info, r *http.Request) (func(runtime.Object) bool, error) {
	q := r.URL.Query()
	ls, err := labels.Parse(q.Get("labelSelector"))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fs, err := fields.ParseSelector(q.Get("fieldSelector"))
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("invalid field selector: %v", err))
	}
	for _, req := range fs.Requirements() {
		if req.Field != "metadata.name" && (req.Field != "metadata.namespace" || !info.Namespaced) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", req.Field))
		}
	}
	return func(obj runtime.Object) bool {
		m, err := meta.Accessor(obj)
		if err != nil {
			return false
		}
		set := fields.Set{"metadata.name": m.GetName()}
		if info.Namespaced {
			set["metadata.namespace"] = m.GetNamespace()
		}
		return ls.Matches(labels.Set(m.GetLabels())) && fs.Matches(set)
	}, nil
}

// readOnlyTable renders objects as a Table with the resource's columns; each row carries
// the object's metadata, the whole object, or nothing, as includeObject asks.
func (s *Server) readOnlyTable(r *http.Request, ro ReadOnlyResource, mt mediaType, items []runtime.Object) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: ro.Columns(), Rows: make([]metav1.TableRow, 0, len(items))}
	t.APIVersion, t.Kind = "meta.k8s.io/"+mt.tableVersion, "Table"
	include := metav1.IncludeMetadata
	switch v := metav1.IncludeObjectPolicy(r.URL.Query().Get("includeObject")); v {
	case metav1.IncludeNone, metav1.IncludeObject:
		include = v
	}
	for _, obj := range items {
		row := metav1.TableRow{Cells: ro.Row(obj)}
		switch include {
		case metav1.IncludeMetadata:
			row.Object.Object = partialMetadata(obj, nil)
		case metav1.IncludeObject:
			row.Object.Object = s.withKind(obj, ro.Info().GroupVersionKind())
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}
