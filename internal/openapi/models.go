package openapi

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Extension names written into the schemas and operations.
const (
	extGVK            = "x-kubernetes-group-version-kind"
	extAction         = "x-kubernetes-action"
	extPatchStrategy  = "x-kubernetes-patch-strategy"
	extPatchMergeKey  = "x-kubernetes-patch-merge-key"
	extIntOrString    = "x-kubernetes-int-or-string"
	v2DefinitionsPath = "#/definitions/"
	v3SchemasPath     = "#/components/schemas/"
)

// The methods k8s.io types carry that the walker consults.
type (
	modelNamer interface{ OpenAPIModelName() string }
	swaggerDoc interface{ SwaggerDoc() map[string]string }
	// schemaTyper is implemented by types with a custom JSON form (Time, Quantity,
	// IntOrString, Duration): their schema is a primitive type and format.
	schemaTyper interface {
		OpenAPISchemaType() []string
		OpenAPISchemaFormat() string
	}
	// oneOfTyper lists the JSON types an OpenAPI v3 schema accepts for the type.
	oneOfTyper interface{ OpenAPIV3OneOfTypes() []string }
)

var (
	rawExtensionType = reflect.TypeFor[runtime.RawExtension]()
	fieldsV1Type     = reflect.TypeFor[metav1.FieldsV1]()
)

// extraDocs describes the types that have no SwaggerDoc method.
var extraDocs = map[string]string{
	"io.k8s.apimachinery.pkg.apis.meta.v1.Time":       "Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON, as an RFC 3339 date and time.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime":  "MicroTime is a version of Time with microsecond precision.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.Duration":   "Duration is a wrapper around time.Duration, serialized as a string such as \"1h2m3s\".",
	"io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1":   "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.",
	"io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent": "Event represents a single event to a watched resource.",
	"io.k8s.apimachinery.pkg.runtime.RawExtension":    "RawExtension holds an embedded object of any kind, serialized as JSON.",
	"io.k8s.apimachinery.pkg.util.intstr.IntOrString": "IntOrString is a type that can hold an int32 or a string. When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.",
	"io.k8s.apimachinery.pkg.api.resource.Quantity":   "Quantity is a fixed-point representation of a number, serialized as a string with an optional suffix: \"100m\", \"1.5Gi\", \"2\", \"1e3\".",
	"io.k8s.apimachinery.pkg.apis.meta.v1.Patch":      "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
}

// extraFieldDocs describes fields of types that have no SwaggerDoc method.
var extraFieldDocs = map[string]map[string]string{
	"io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent": {
		"type":   "The type of the event: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.",
		"object": "The object: for ADDED and MODIFIED its new state, for DELETED its state before deletion, for BOOKMARK only its resourceVersion, for ERROR a Status.",
	},
}

// modelName returns the definition name of a named Go type: the type's own
// OpenAPIModelName when it has one, or else its package path in reversed-domain
// form ("k8s.io/api/core/v1".Pod becomes "io.k8s.api.core.v1.Pod").
func modelName(t reflect.Type) string {
	if n, ok := reflect.New(t).Interface().(modelNamer); ok {
		if name := n.OpenAPIModelName(); name != "" {
			return name
		}
	}
	pkg := t.PkgPath()
	host, rest, _ := strings.Cut(pkg, "/")
	parts := strings.Split(host, ".")
	slices.Reverse(parts)
	name := strings.Join(parts, ".")
	if rest != "" {
		name += "." + strings.ReplaceAll(rest, "/", ".")
	}
	return name + "." + t.Name()
}

// models builds the definitions of named Go struct types for one OpenAPI version.
// It is not safe for concurrent use.
type models struct {
	v3   bool                    // OpenAPI v3 form: refs under components, allOf around described refs
	defs map[string]*spec.Schema // by model name
	refs map[string]spec.Ref     // parsed references, by model name
	// types maps each walked type to its model name; a type is present while its
	// definition is being built, which ends recursion through self-references.
	types map[reflect.Type]string
}

func newModels(v3 bool) *models {
	return &models{
		v3:    v3,
		defs:  map[string]*spec.Schema{},
		refs:  map[string]spec.Ref{},
		types: map[reflect.Type]string{},
	}
}

// add builds the definition of the named struct type t, and of every type it
// references, and returns its model name.
func (m *models) add(t reflect.Type) (string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if name, ok := m.types[t]; ok {
		return name, nil
	}
	if t.Kind() != reflect.Struct || t.Name() == "" {
		return "", fmt.Errorf("type %s: only named structs have definitions", t)
	}
	name := modelName(t)
	m.types[t] = name
	s := &spec.Schema{}
	m.defs[name] = s
	zero := reflect.New(t).Interface()
	doc := map[string]string{}
	if d, ok := zero.(swaggerDoc); ok {
		doc = d.SwaggerDoc()
	} else if fd, ok := extraFieldDocs[name]; ok {
		doc = fd
	}
	s.Description = doc[""]
	if s.Description == "" {
		s.Description = extraDocs[name]
	}

	switch typer, ok := zero.(schemaTyper); {
	case ok:
		if oneOf, ok := zero.(oneOfTyper); ok && m.v3 {
			for _, typ := range oneOf.OpenAPIV3OneOfTypes() {
				s.OneOf = append(s.OneOf, spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{typ}}})
			}
		} else {
			s.Type = typer.OpenAPISchemaType()
		}
		s.Format = typer.OpenAPISchemaFormat()
		if s.Format == "int-or-string" {
			s.AddExtension(extIntOrString, true)
		}
		return name, nil
	case t == rawExtensionType || t == fieldsV1Type:
		s.Type = []string{"object"}
		return name, nil
	}

	s.Type = []string{"object"}
	if err := m.fields(t, s, doc); err != nil {
		return "", fmt.Errorf("type %s: %w", name, err)
	}
	return name, nil
}

// fields adds the JSON fields of struct type t to s, inlining embedded structs as
// encoding/json does. doc holds the field descriptions by JSON name.
func (m *models) fields(t reflect.Type, s *spec.Schema, doc map[string]string) error {
	owner := ""
	if t.Name() != "" {
		owner = modelName(t)
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				inlineDoc := map[string]string{}
				if d, ok := reflect.New(ft).Interface().(swaggerDoc); ok {
					inlineDoc = d.SwaggerDoc()
				}
				if err := m.fields(ft, s, inlineDoc); err != nil {
					return err
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs, err := m.schema(ft)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.Name, err)
		}
		if desc := doc[name]; desc != "" {
			fs = m.describe(fs, desc)
		}
		if v := f.Tag.Get("patchStrategy"); v != "" {
			fs.AddExtension(extPatchStrategy, v)
		}
		if v := f.Tag.Get("patchMergeKey"); v != "" {
			fs.AddExtension(extPatchMergeKey, v)
		}
		if s.Properties == nil {
			s.Properties = map[string]spec.Schema{}
		}
		s.Properties[name] = fs
		if isRequired(ft, opts) && !optionalFields[owner+"."+name] {
			s.Required = append(s.Required, name)
		}
	}
	return nil
}

// isRequired reports whether a field must be present in a valid object. Without
// the +optional markers of the Go sources, a field counts as required when its JSON
// tag lacks omitempty and omitzero, and it is not a pointer (a nil pointer is
// written as null, which validators treat as absent). Erring towards optional keeps
// valid manifests from being rejected.
func isRequired(t reflect.Type, opts string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == "omitempty" || o == "omitzero" {
			return false
		}
	}
	return t.Kind() != reflect.Pointer
}

// optionalFields are the fields of k8s.io/api v0.37 types that their sources mark
// +optional although their JSON tags lack omitempty, by model name and JSON name.
var optionalFields = map[string]bool{
	"io.k8s.api.apps.v1.ControllerRevision.revision":                      true,
	"io.k8s.api.apps.v1.DaemonSetCondition.status":                        true,
	"io.k8s.api.apps.v1.DaemonSetCondition.type":                          true,
	"io.k8s.api.apps.v1.DeploymentCondition.status":                       true,
	"io.k8s.api.apps.v1.DeploymentCondition.type":                         true,
	"io.k8s.api.apps.v1.ReplicaSetCondition.status":                       true,
	"io.k8s.api.apps.v1.ReplicaSetCondition.type":                         true,
	"io.k8s.api.apps.v1.StatefulSetCondition.status":                      true,
	"io.k8s.api.apps.v1.StatefulSetCondition.type":                        true,
	"io.k8s.api.apps.v1.StatefulSetOrdinals.start":                        true,
	"io.k8s.api.apps.v1.StatefulSetSpec.serviceName":                      true,
	"io.k8s.api.apps.v1.StatefulSetStatus.availableReplicas":              true,
	"io.k8s.api.authentication.v1.TokenRequest.spec":                      true,
	"io.k8s.api.authentication.v1.TokenRequestSpec.audiences":             true,
	"io.k8s.api.authentication.v1.TokenRequestStatus.expirationTimestamp": true,
	"io.k8s.api.authentication.v1.TokenRequestStatus.token":               true,
	"io.k8s.api.batch.v1.PodFailurePolicyOnPodConditionsPattern.status":   true,
	"io.k8s.api.core.v1.AzureFilePersistentVolumeSource.secretNamespace":  true,
	"io.k8s.api.core.v1.ContainerImage.names":                             true,
	"io.k8s.api.core.v1.Event.reportingComponent":                         true,
	"io.k8s.api.core.v1.Event.reportingInstance":                          true,
	"io.k8s.api.core.v1.GRPCAction.service":                               true,
	"io.k8s.api.core.v1.NodeRuntimeHandler.name":                          true,
	"io.k8s.api.core.v1.ProjectedVolumeSource.sources":                    true,
	"io.k8s.api.discovery.v1.EndpointSlice.endpoints":                     true,
	"io.k8s.api.discovery.v1.EndpointSlice.ports":                         true,
	"io.k8s.api.events.v1.Event.metadata":                                 true,
	"io.k8s.api.networking.v1.IngressClassParametersReference.scope":      true,
	"io.k8s.api.networking.v1.NetworkPolicySpec.podSelector":              true,
	"io.k8s.api.policy.v1.PodDisruptionBudgetStatus.currentHealthy":       true,
	"io.k8s.api.policy.v1.PodDisruptionBudgetStatus.desiredHealthy":       true,
	"io.k8s.api.policy.v1.PodDisruptionBudgetStatus.disruptionsAllowed":   true,
	"io.k8s.api.policy.v1.PodDisruptionBudgetStatus.expectedPods":         true,
	"io.k8s.api.rbac.v1.ClusterRole.rules":                                true,
	"io.k8s.api.rbac.v1.Role.rules":                                       true,
	"io.k8s.api.rbac.v1.RoleRef.apiGroup":                                 true,
	"io.k8s.api.scheduling.v1.PriorityClass.value":                        true,
	"io.k8s.api.storage.v1.CSINodeDriver.topologyKeys":                    true,
}

// describe attaches a field description to a field's schema. OpenAPI v3 ignores
// the siblings of a $ref, so there a described reference becomes an allOf of one.
func (m *models) describe(s spec.Schema, desc string) spec.Schema {
	if m.v3 && s.Ref.String() != "" {
		s = spec.Schema{SchemaProps: spec.SchemaProps{AllOf: []spec.Schema{s}}}
	}
	s.Description = desc
	return s
}

// schema returns the schema of a field of type t: a reference for named structs,
// an inline schema otherwise.
func (m *models) schema(t reflect.Type) (spec.Schema, error) {
	switch t.Kind() {
	case reflect.Pointer:
		return m.schema(t.Elem())
	case reflect.Struct:
		if t.Name() == "" {
			s := spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{"object"}}}
			return s, m.fields(t, &s, nil)
		}
		name, err := m.add(t)
		if err != nil {
			return spec.Schema{}, err
		}
		return spec.Schema{SchemaProps: spec.SchemaProps{Ref: m.ref(name)}}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return primitive("string", "byte"), nil
		}
		items, err := m.schema(t.Elem())
		if err != nil {
			return spec.Schema{}, err
		}
		return spec.Schema{SchemaProps: spec.SchemaProps{
			Type:  []string{"array"},
			Items: &spec.SchemaOrArray{Schema: &items},
		}}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return spec.Schema{}, fmt.Errorf("map key type %s: only string keys are supported", t.Key())
		}
		values, err := m.schema(t.Elem())
		if err != nil {
			return spec.Schema{}, err
		}
		return spec.Schema{SchemaProps: spec.SchemaProps{
			Type:                 []string{"object"},
			AdditionalProperties: &spec.SchemaOrBool{Allows: true, Schema: &values},
		}}, nil
	case reflect.String:
		return primitive("string", ""), nil
	case reflect.Bool:
		return primitive("boolean", ""), nil
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return primitive("integer", "int32"), nil
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64:
		return primitive("integer", "int64"), nil
	case reflect.Float32:
		return primitive("number", "float"), nil
	case reflect.Float64:
		return primitive("number", "double"), nil
	case reflect.Interface:
		return spec.Schema{}, nil // any JSON value
	}
	return spec.Schema{}, fmt.Errorf("type %s: unsupported kind %s", t, t.Kind())
}

func primitive(typ, format string) spec.Schema {
	return spec.Schema{SchemaProps: spec.SchemaProps{Type: []string{typ}, Format: format}}
}

// ref returns the reference to a model in this version's form.
func (m *models) ref(name string) spec.Ref {
	if r, ok := m.refs[name]; ok {
		return r
	}
	prefix := v2DefinitionsPath
	if m.v3 {
		prefix = v3SchemasPath
	}
	r := spec.MustCreateRef(prefix + name)
	m.refs[name] = r
	return r
}

// setGVKs records the kinds a model is served as, in upstream's
// x-kubernetes-group-version-kind form.
func setGVKs(s *spec.Schema, gvks []schema.GroupVersionKind) {
	list := make([]interface{}, 0, len(gvks))
	for _, gvk := range gvks {
		list = append(list, gvkValue(gvk))
	}
	s.AddExtension(extGVK, list)
}

func gvkValue(gvk schema.GroupVersionKind) map[string]interface{} {
	return map[string]interface{}{"group": gvk.Group, "version": gvk.Version, "kind": gvk.Kind}
}

// modelRefs calls fn with the name of every model s refers to directly.
func modelRefs(s *spec.Schema, fn func(name string)) {
	if s == nil {
		return
	}
	if r := s.Ref.String(); r != "" {
		fn(r[strings.LastIndexByte(r, '/')+1:])
	}
	for _, p := range s.Properties {
		modelRefs(&p, fn)
	}
	if s.Items != nil {
		modelRefs(s.Items.Schema, fn)
		for i := range s.Items.Schemas {
			modelRefs(&s.Items.Schemas[i], fn)
		}
	}
	if s.AdditionalProperties != nil {
		modelRefs(s.AdditionalProperties.Schema, fn)
	}
	for _, list := range [][]spec.Schema{s.AllOf, s.OneOf, s.AnyOf} {
		for i := range list {
			modelRefs(&list[i], fn)
		}
	}
}
