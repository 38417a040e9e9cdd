package openapi

import (
	"fmt"
	"maps"
	"reflect"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

const (
	docTitle   = "Kubernetes"
	docVersion = "unversioned"
)

// plan is what the resources call for: the Go types to describe, the kinds they
// are served as, and the routes. It is immutable once made.
type plan struct {
	roots  []reflect.Type
	gvks   map[reflect.Type][]schema.GroupVersionKind // kinds each root type is served as
	routes []route
}

var knownVerbs = map[string]bool{
	"get": true, "list": true, "watch": true, "create": true, "update": true,
	"patch": true, "delete": true, "deletecollection": true,
}

// newPlan checks resources and plans their documents.
func newPlan(resources []Resource) (*plan, error) {
	p := &plan{gvks: map[reflect.Type][]schema.GroupVersionKind{}}
	addKind := func(t reflect.Type, gvk schema.GroupVersionKind) {
		if !slices.Contains(p.gvks[t], gvk) {
			p.gvks[t] = append(p.gvks[t], gvk)
		}
	}
	status := reflect.TypeFor[metav1.Status]()
	deleteOptions := reflect.TypeFor[metav1.DeleteOptions]()
	watchEvent := reflect.TypeFor[metav1.WatchEvent]()
	p.roots = []reflect.Type{status, deleteOptions, watchEvent, reflect.TypeFor[metav1.Patch]()}
	addKind(status, schema.GroupVersionKind{Version: "v1", Kind: "Status"})
	seen := map[schema.GroupVersionResource]bool{}
	for _, r := range resources {
		info := r.Info
		if info.Kind == "" || info.Resource == "" || info.Version == "" || r.Object == nil || r.List == nil {
			return nil, fmt.Errorf("resource %q of kind %q: kind, resource, version, object and list are required", info.Resource, info.Kind)
		}
		if seen[info.GroupVersionResource()] {
			return nil, fmt.Errorf("resource %s: listed twice", info.GroupVersionResource())
		}
		seen[info.GroupVersionResource()] = true
		if len(r.Verbs) == 0 {
			return nil, fmt.Errorf("resource %s: no verbs", info.GroupVersionResource())
		}
		for _, v := range r.Verbs {
			if !knownVerbs[v] {
				return nil, fmt.Errorf("resource %s: unknown verb %q", info.GroupVersionResource(), v)
			}
		}
		gv := info.GroupVersion()
		obj, list := structType(r.Object), structType(r.List)
		listKind := info.ListKind
		if listKind == "" {
			listKind = list.Name()
		}
		p.roots = append(p.roots, obj, list)
		addKind(obj, info.GroupVersionKind())
		addKind(list, gv.WithKind(listKind))
		addKind(deleteOptions, gv.WithKind("DeleteOptions"))
		addKind(watchEvent, gv.WithKind("WatchEvent"))
		for _, sub := range info.Subresources {
			if k, ok := subresourceKinds[sub]; ok {
				p.roots = append(p.roots, k.typ)
				addKind(k.typ, k.gvk)
			}
		}
		p.routes = append(p.routes, routesFor(r, modelName(obj), modelName(list))...)
	}
	return p, nil
}

// models describes the planned types in one OpenAPI version.
func (p *plan) models(v3 bool) (*models, error) {
	m := newModels(v3)
	for _, t := range p.roots {
		name, err := m.add(t)
		if err != nil {
			return nil, err
		}
		if kinds := p.gvks[t]; len(kinds) > 0 {
			setGVKs(m.defs[name], kinds)
		}
	}
	return m, nil
}

// swagger generates the OpenAPI v2 document.
func (p *plan) swagger() (*spec.Swagger, error) {
	m, err := p.models(false)
	if err != nil {
		return nil, err
	}
	return swagger(p.routes, m), nil
}

// openAPIV3 generates the OpenAPI v3 documents, by group-version name.
func (p *plan) openAPIV3() (map[string]*spec3.OpenAPI, error) {
	m, err := p.models(true)
	if err != nil {
		return nil, err
	}
	byGV := map[string][]route{}
	for _, rt := range p.routes {
		byGV[gvPath(rt.gv)] = append(byGV[gvPath(rt.gv)], rt)
	}
	docs := make(map[string]*spec3.OpenAPI, len(byGV))
	for name, routes := range byGV {
		docs[name] = openAPIV3(routes, m)
	}
	return docs, nil
}

// groupVersions returns the names of the v3 documents, sorted.
func (p *plan) groupVersions() []string {
	names := map[string]bool{}
	for _, rt := range p.routes {
		names[gvPath(rt.gv)] = true
	}
	return slices.Sorted(maps.Keys(names))
}

func structType(obj any) reflect.Type {
	t := reflect.TypeOf(obj)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

var statusText = map[int]string{200: "OK", 201: "Created", 202: "Accepted", 401: "Unauthorized"}

// swagger writes the routes and every model as one OpenAPI v2 document.
func swagger(routes []route, m *models) *spec.Swagger {
	paths := map[string]spec.PathItem{}
	for _, rt := range routes {
		item := spec.PathItem{}
		for _, p := range rt.params {
			item.Parameters = append(item.Parameters, v2Param(p))
		}
		for _, op := range rt.ops {
			o := &spec.Operation{OperationProps: spec.OperationProps{
				ID: op.id, Description: op.desc, Tags: []string{op.tag}, Schemes: []string{"https"},
				Consumes: op.consumes, Produces: op.produces,
				Responses: &spec.Responses{ResponsesProps: spec.ResponsesProps{StatusCodeResponses: map[int]spec.Response{}}},
			}}
			o.AddExtension(extAction, op.action)
			o.AddExtension(extGVK, gvkValue(op.gvk))
			if op.body != "" {
				ref := spec.Schema{SchemaProps: spec.SchemaProps{Ref: m.ref(op.body)}}
				o.Parameters = append(o.Parameters, spec.Parameter{ParamProps: spec.ParamProps{Name: "body", In: "body", Required: op.body != deleteOptionsModel, Schema: &ref}})
			}
			for _, p := range op.params {
				o.Parameters = append(o.Parameters, v2Param(p))
			}
			for _, r := range op.responses {
				resp := spec.Response{ResponseProps: spec.ResponseProps{Description: statusText[r.code], Schema: responseSchema(r, m)}}
				o.Responses.StatusCodeResponses[r.code] = resp
			}
			o.Responses.StatusCodeResponses[401] = spec.Response{ResponseProps: spec.ResponseProps{Description: statusText[401]}}
			setOperation(&item.PathItemProps, op.method, o)
		}
		paths[rt.path] = item
	}
	defs := spec.Definitions{}
	for name, s := range m.defs {
		defs[name] = *s
	}
	return &spec.Swagger{SwaggerProps: spec.SwaggerProps{
		Swagger:     "2.0",
		Info:        &spec.Info{InfoProps: spec.InfoProps{Title: docTitle, Version: docVersion}},
		Paths:       &spec.Paths{Paths: paths},
		Definitions: defs,
	}}
}

func v2Param(p param) spec.Parameter {
	return spec.Parameter{
		ParamProps:        spec.ParamProps{Name: p.name, In: p.in, Description: p.desc, Required: p.required},
		SimpleSchema:      spec.SimpleSchema{Type: p.typ},
		CommonValidations: spec.CommonValidations{UniqueItems: p.in == "query"},
	}
}

func responseSchema(r response, m *models) *spec.Schema {
	switch {
	case r.stringBody:
		s := primitive("string", "")
		return &s
	case r.model != "":
		return &spec.Schema{SchemaProps: spec.SchemaProps{Ref: m.ref(r.model)}}
	}
	return nil
}

func setOperation(item *spec.PathItemProps, method string, op *spec.Operation) {
	switch method {
	case "get":
		item.Get = op
	case "put":
		item.Put = op
	case "post":
		item.Post = op
	case "patch":
		item.Patch = op
	case "delete":
		item.Delete = op
	case "head":
		item.Head = op
	case "options":
		item.Options = op
	}
}

// openAPIV3 writes the routes of one group version as an OpenAPI v3 document with
// the models they reach.
func openAPIV3(routes []route, m *models) *spec3.OpenAPI {
	paths := map[string]*spec3.Path{}
	var reached []string // model names referenced by operations
	for _, rt := range routes {
		path := &spec3.Path{}
		for _, p := range rt.params {
			path.Parameters = append(path.Parameters, v3Param(p))
		}
		for _, op := range rt.ops {
			o := &spec3.Operation{OperationProps: spec3.OperationProps{
				OperationId: op.id, Description: op.desc, Tags: []string{op.tag},
				Responses: &spec3.Responses{ResponsesProps: spec3.ResponsesProps{StatusCodeResponses: map[int]*spec3.Response{}}},
			}}
			o.AddExtension(extAction, op.action)
			o.AddExtension(extGVK, gvkValue(op.gvk))
			for _, p := range op.params {
				o.Parameters = append(o.Parameters, v3Param(p))
			}
			if op.body != "" {
				reached = append(reached, op.body)
				body := &spec.Schema{SchemaProps: spec.SchemaProps{Ref: m.ref(op.body)}}
				o.RequestBody = &spec3.RequestBody{RequestBodyProps: spec3.RequestBodyProps{
					Content: mediaTypes(op.consumes, body), Required: op.body != deleteOptionsModel,
				}}
			}
			for _, r := range op.responses {
				if r.model != "" {
					reached = append(reached, r.model)
				}
				resp := &spec3.Response{ResponseProps: spec3.ResponseProps{Description: statusText[r.code]}}
				if s := responseSchema(r, m); s != nil {
					resp.Content = mediaTypes(op.produces, s)
				}
				o.Responses.StatusCodeResponses[r.code] = resp
			}
			o.Responses.StatusCodeResponses[401] = &spec3.Response{ResponseProps: spec3.ResponseProps{Description: statusText[401]}}
			setV3Operation(&path.PathProps, op.method, o)
		}
		paths[rt.path] = path
	}
	schemas := map[string]*spec.Schema{}
	for len(reached) > 0 {
		name := reached[len(reached)-1]
		reached = reached[:len(reached)-1]
		if _, ok := schemas[name]; ok {
			continue
		}
		schemas[name] = m.defs[name]
		modelRefs(m.defs[name], func(ref string) { reached = append(reached, ref) })
	}
	return &spec3.OpenAPI{
		Version:    "3.0.0",
		Info:       &spec.Info{InfoProps: spec.InfoProps{Title: docTitle, Version: docVersion}},
		Paths:      &spec3.Paths{Paths: paths},
		Components: &spec3.Components{Schemas: schemas},
	}
}

func v3Param(p param) *spec3.Parameter {
	s := primitive(p.typ, "")
	s.UniqueItems = true
	return &spec3.Parameter{ParameterProps: spec3.ParameterProps{
		Name: p.name, In: p.in, Description: p.desc, Required: p.required, Schema: &s,
	}}
}

func mediaTypes(media []string, s *spec.Schema) map[string]*spec3.MediaType {
	out := make(map[string]*spec3.MediaType, len(media))
	for _, mt := range media {
		out[mt] = &spec3.MediaType{MediaTypeProps: spec3.MediaTypeProps{Schema: s}}
	}
	return out
}

func setV3Operation(item *spec3.PathProps, method string, op *spec3.Operation) {
	switch method {
	case "get":
		item.Get = op
	case "put":
		item.Put = op
	case "post":
		item.Post = op
	case "patch":
		item.Patch = op
	case "delete":
		item.Delete = op
	case "head":
		item.Head = op
	case "options":
		item.Options = op
	}
}
