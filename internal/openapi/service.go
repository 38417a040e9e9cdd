package openapi

import (
	"bytes"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"github.com/munnerz/goautoneg"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/kube-openapi/pkg/cached"
	"k8s.io/kube-openapi/pkg/handler3"
	"k8s.io/kube-openapi/pkg/spec3"
	"k8s.io/kube-openapi/pkg/validation/spec"

	"github.com/podium/podium/internal/registry"
)

// Resource is one served resource, as the OpenAPI documents describe it.
type Resource struct {
	Info registry.Info
	// Object and List are empty values of the resource's kind and list kind (a
	// Strategy's New and NewList); only their Go types are used.
	Object, List runtime.Object
	// Verbs are the verbs served on the resource itself, at least one of get, list,
	// watch, create, update, patch, delete, deletecollection. Subresources come
	// from Info.Subresources and get upstream's operations: status and other
	// subresources of the resource's own kind get, update and patch; binding,
	// eviction and token create; scale get, update and patch a Scale; log, exec,
	// attach, portforward and proxy are read or connected.
	Verbs []string
}

// Service serves the OpenAPI documents of the built-in resources and of the custom
// resource definitions published with SetCustom. It is safe for concurrent use.
type Service struct {
	// base is the built-in v2 document, made on first use.
	base cached.Value[*spec.Swagger]
	// v2 holds the serialized v2 document (JSON, and protobuf made from it on first
	// use), replaced whenever the custom resources change.
	v2 atomic.Pointer[v2Forms]
	v3 *handler3.OpenAPIService

	mu            sync.Mutex
	groups        map[string]bool         // names of the v3 documents
	builtinGroups map[string]bool         // those of the built-in resources
	custom        map[string]*customSpecs // by definition name
	aggregated    map[string]bool         // v3 documents of aggregated API servers
}

// v2Forms are the two serialized forms of one v2 document.
type v2Forms struct{ json, proto cached.Value[servedSpec] }

// servedSpec is a serialized document and when it was serialized.
type servedSpec struct {
	data     []byte
	modified time.Time
}

// Media subtypes of the v2 document, as kube-openapi's handler offers them.
const (
	v2SubtypeJSON             = "json"
	v2SubtypeProto            = "com.github.proto-openapi.spec.v2.v1.0+protobuf"
	v2SubtypeProtoDeprecated  = "com.github.proto-openapi.spec.v2@v1.0+protobuf"
	v2ContentTypeProto        = "application/" + v2SubtypeProto
	v2ContentTypeJSON         = "application/json"
	v3DiscoveryPath           = "/openapi/v3"
	v2Path                    = "/openapi/v2"
	v3GroupVersionPathsPrefix = v3DiscoveryPath + "/"
)

// New checks resources and prepares their OpenAPI documents. It walks the Go types
// once, so unsupported types fail here; the documents themselves are generated on
// the first request for them, and only their serialized forms are kept for v2.
func New(resources []Resource) (*Service, error) {
	p, err := newPlan(resources)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	if _, err := p.models(false); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	s := &Service{v3: handler3.NewOpenAPIService(), groups: map[string]bool{}, builtinGroups: map[string]bool{}, custom: map[string]*customSpecs{}, aggregated: map[string]bool{}}
	s.base = cached.Once(cached.Func(func() (*spec.Swagger, string, error) {
		doc, err := p.swagger()
		if err != nil {
			return nil, "", fmt.Errorf("openapi v2: %w", err)
		}
		return doc, "1", nil
	}))
	s.v2.Store(s.serialize(func() (*spec.Swagger, error) {
		doc, _, err := s.base.Get()
		return doc, err
	}))

	// The v3 documents are generated together, on the first request for the index
	// or any of them; handler3 serializes and hashes each.
	v3docs := cached.Once(cached.Func(func() (map[string]*spec3.OpenAPI, string, error) {
		docs, err := p.openAPIV3()
		if err != nil {
			return nil, "", fmt.Errorf("openapi v3: %w", err)
		}
		return docs, v3Generation, nil
	}))
	for _, name := range p.groupVersions() {
		s.groups[name] = true
		s.builtinGroups[name] = true
		s.v3.UpdateGroupVersionLazy(name, cached.Func(func() (*spec3.OpenAPI, string, error) {
			docs, _, err := v3docs.Get()
			return docs[name], v3Generation, err
		}))
	}
	return s, nil
}

// v3Generation is the cache version of the v3 documents, which never change.
const v3Generation = "1"

// Install registers the documents' handlers on mux: GET /openapi/v2, GET
// /openapi/v3 (the index of group-version documents) and GET /openapi/v3/{gv}.
func (s *Service) Install(mux *http.ServeMux) {
	mux.HandleFunc("GET "+v2Path, s.serveV2)
	mux.HandleFunc("GET "+v3DiscoveryPath, s.v3.HandleDiscovery)
	mux.HandleFunc("GET "+v3GroupVersionPathsPrefix, s.serveV3GroupVersion)
}

func (s *Service) serveV3GroupVersion(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	known := s.groups[strings.TrimPrefix(r.URL.Path, v3GroupVersionPathsPrefix)]
	s.mu.Unlock()
	if !known {
		http.NotFound(w, r)
		return
	}
	s.v3.HandleGroupVersion(w, r)
}

// serveV2 negotiates between the JSON and protobuf forms of the v2 document as
// kube-openapi's handler package does (which podium does not import, as it needs
// a gzip module podium does not otherwise use).
func (s *Service) serveV2(w http.ResponseWriter, r *http.Request) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		accept = "*/*"
	}
	forms := s.v2.Load()
	formats := []struct {
		subtype, contentType string
		value                cached.Value[servedSpec]
	}{
		{v2SubtypeJSON, v2ContentTypeJSON, forms.json},
		{v2SubtypeProtoDeprecated, v2ContentTypeProto, forms.proto},
		{v2SubtypeProto, v2ContentTypeProto, forms.proto},
	}
	w.Header().Add("Vary", "Accept")
	for _, clause := range goautoneg.ParseAccept(accept) {
		for _, f := range formats {
			if clause.Type != "application" && clause.Type != "*" {
				continue
			}
			if clause.SubType != f.subtype && clause.SubType != "*" {
				continue
			}
			spec, tag, err := f.value.Get()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", f.contentType)
			w.Header().Set("Etag", strconv.Quote(tag))
			http.ServeContent(w, r, v2Path, spec.modified, bytes.NewReader(spec.data))
			return
		}
	}
	w.WriteHeader(http.StatusNotAcceptable)
}

func etag(data []byte) string {
	return fmt.Sprintf("%X", sha512.Sum512(data))
}

// serialize returns the serialized forms of the v2 document doc returns, each made on
// first use.
func (s *Service) serialize(doc func() (*spec.Swagger, error)) *v2Forms {
	f := &v2Forms{}
	f.json = cached.Once(cached.Func(func() (servedSpec, string, error) {
		d, err := doc()
		if err != nil {
			return servedSpec{}, "", err
		}
		data, err := json.Marshal(d)
		if err != nil {
			return servedSpec{}, "", fmt.Errorf("openapi v2: %w", err)
		}
		return servedSpec{data: data, modified: time.Now()}, etag(data), nil
	}))
	f.proto = cached.Once(cached.Transform(func(js servedSpec, tag string, err error) (servedSpec, string, error) {
		if err != nil {
			return servedSpec{}, "", err
		}
		doc, err := openapi_v2.ParseDocument(js.data)
		if err != nil {
			return servedSpec{}, "", fmt.Errorf("openapi v2 protobuf: %w", err)
		}
		data, err := proto.Marshal(doc)
		if err != nil {
			return servedSpec{}, "", fmt.Errorf("openapi v2 protobuf: %w", err)
		}
		// The protobuf form shares the JSON form's ETag; responses vary by Accept.
		return servedSpec{data: data, modified: js.modified}, tag, nil
	}, f.json))
	return f
}
