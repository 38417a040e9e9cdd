package customresource

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"k8s.io/apiextensions-apiserver/pkg/apihelpers"
	apiextensionsinternal "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apiextensions-apiserver/pkg/controller/openapi/builder"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource"
	"k8s.io/apiextensions-apiserver/pkg/registry/customresource/tableconvertor"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured/unstructuredscheme"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/kube-openapi/pkg/spec3"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/podium/podium/internal/registry"
)

// Converters makes the version converter of a definition (conversion None or Webhook);
// apiextensions-apiserver's CRConverterFactory is one.
type Converters interface {
	NewConverter(crd *apiextensionsv1.CustomResourceDefinition) (safe, unsafe runtime.ObjectConvertor, err error)
}

// Definition is what the API server serves for one CustomResourceDefinition.
type Definition struct {
	// Name and UID are the definition's.
	Name string
	UID  string
	// Storage names the resource whose keys hold the objects: GROUP/PLURAL, which makes
	// upstream's /registry/GROUP/PLURAL/... keys.
	Storage string
	// Versions has a strategy per served version.
	Versions []registry.Strategy
}

// Build makes the strategies of crd's served versions. crd must have accepted names.
func Build(crd *apiextensionsv1.CustomResourceDefinition, converters Converters) (*Definition, error) {
	crd = crd.DeepCopy()
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(crd) // as stored; a conversion strategy, say
	names := crd.Status.AcceptedNames
	if names.Plural == "" || names.Kind == "" {
		return nil, fmt.Errorf("custom resource definition %s has no accepted names", crd.Name)
	}
	storageVersion, err := apihelpers.GetCRDStorageVersion(crd)
	if err != nil {
		return nil, err
	}
	safe, _, err := converters.NewConverter(crd)
	if err != nil {
		return nil, err
	}
	def := &Definition{Name: crd.Name, UID: string(crd.UID), Storage: crd.Spec.Group + "/" + names.Plural}
	structurals := map[string]*structuralschema.Structural{}
	for _, v := range crd.Spec.Versions {
		s, err := structuralOf(crd, v.Name)
		if err != nil {
			return nil, err
		}
		structurals[v.Name] = s
	}
	replicas := managedfields.ResourcePathMappings{}
	for _, v := range crd.Spec.Versions {
		gv := schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}.String()
		sub, _ := apihelpers.GetSubresourcesForVersion(crd, v.Name)
		if sub == nil || sub.Scale == nil {
			replicas[gv] = nil
			continue
		}
		replicas[gv] = pathOf(sub.Scale.SpecReplicasPath)
	}
	types := typeConverter(crd)
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		st, err := newVersion(crd, v, storageVersion, structurals, safe, replicas)
		if err != nil {
			return nil, fmt.Errorf("custom resource definition %s, version %s: %w", crd.Name, v.Name, err)
		}
		st.types = types
		def.Versions = append(def.Versions, st)
	}
	return def, nil
}

// typeConverter returns the types of a definition's versions for server-side apply, from
// their OpenAPI schemas as upstream builds them; fields of a version without a schema
// are deduced from the objects.
func typeConverter(crd *apiextensionsv1.CustomResourceDefinition) managedfields.TypeConverter {
	var specs []*spec3.OpenAPI
	for _, v := range crd.Spec.Versions {
		s, err := builder.BuildOpenAPIV3(crd, v.Name, builder.Options{})
		if err != nil {
			return managedfields.NewDeducedTypeConverter()
		}
		specs = append(specs, s)
	}
	merged, err := builder.MergeSpecsV3(specs...)
	if err != nil {
		return managedfields.NewDeducedTypeConverter()
	}
	tc, err := managedfields.NewTypeConverter(merged.Components.Schemas, crd.Spec.PreserveUnknownFields)
	if err != nil {
		return managedfields.NewDeducedTypeConverter()
	}
	return tc
}

// structuralOf returns the structural schema of one version, its defaults pruned as
// upstream prunes them; nil without a schema.
func structuralOf(crd *apiextensionsv1.CustomResourceDefinition, version string) (*structuralschema.Structural, error) {
	val, err := apihelpers.GetSchemaForVersion(crd, version)
	if err != nil || val == nil {
		return nil, err
	}
	internal := &apiextensionsinternal.CustomResourceValidation{}
	if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(val, internal, nil); err != nil {
		return nil, err
	}
	s, err := structuralschema.NewStructural(internal.OpenAPIV3Schema)
	if err != nil {
		if crd.Spec.PreserveUnknownFields {
			return nil, nil
		}
		return nil, err
	}
	if crd.Spec.PreserveUnknownFields {
		return s, nil
	}
	s = s.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, err
	}
	return s, nil
}

// pathOf turns a definition's ".spec.replicas" into a field path.
func pathOf(jsonPath string) fieldpath.Path {
	var p fieldpath.Path
	for _, f := range splitPath(jsonPath) {
		p = append(p, fieldpath.PathElement{FieldName: &f})
	}
	return p
}

// upstreamStrategy is what podium uses of apiextensions-apiserver's custom resource
// strategy, whose type is not exported.
type upstreamStrategy interface {
	PrepareForCreate(ctx context.Context, obj runtime.Object)
	PrepareForUpdate(ctx context.Context, obj, old runtime.Object)
	Validate(ctx context.Context, obj runtime.Object) field.ErrorList
	ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList
	WarningsOnCreate(ctx context.Context, obj runtime.Object) []string
	WarningsOnUpdate(ctx context.Context, obj, old runtime.Object) []string
}

// version is the strategy of one served version.
type version struct {
	info       registry.Info
	gv         schema.GroupVersion
	storage    schema.GroupVersion
	preserve   bool
	structural *structuralschema.Structural
	defaults   bool // the schema has defaults, filled on read too
	strategy   upstreamStrategy
	status     upstreamStrategy
	attrs      func(runtime.Object) (fields.Set, error)
	table      rest.TableConvertor
	columns    []metav1.TableColumnDefinition
	scale      *apiextensionsv1.CustomResourceSubresourceScale
	converter  runtime.ObjectConvertor
	replicas   managedfields.ResourcePathMappings

	types    managedfields.TypeConverter
	fieldsMu sync.Mutex
	managers map[string]*managedfields.FieldManager
}

func newVersion(crd *apiextensionsv1.CustomResourceDefinition, v apiextensionsv1.CustomResourceDefinitionVersion, storageVersion string,
	structurals map[string]*structuralschema.Structural, converter runtime.ObjectConvertor, replicas managedfields.ResourcePathMappings) (*version, error) {
	names := crd.Status.AcceptedNames
	gv := schema.GroupVersion{Group: crd.Spec.Group, Version: v.Name}
	kind := gv.WithKind(names.Kind)
	namespaced := crd.Spec.Scope == apiextensionsv1.NamespaceScoped
	st := &version{
		gv: gv, storage: schema.GroupVersion{Group: crd.Spec.Group, Version: storageVersion},
		preserve: crd.Spec.PreserveUnknownFields, structural: structurals[v.Name], converter: converter, replicas: replicas,
		managers: map[string]*managedfields.FieldManager{},
		info: registry.Info{Group: gv.Group, Version: gv.Version, Kind: names.Kind, ListKind: names.ListKind,
			Resource: names.Plural, Singular: names.Singular, ShortNames: names.ShortNames, Categories: names.Categories,
			Namespaced: namespaced, StorageResource: crd.Spec.Group + "/" + names.Plural, StorageVersion: storageVersion},
	}
	st.defaults = hasDefaults(st.structural)
	val, err := apihelpers.GetSchemaForVersion(crd, v.Name)
	if err != nil {
		return nil, err
	}
	var props *apiextensionsinternal.JSONSchemaProps
	if val != nil {
		internal := &apiextensionsinternal.CustomResourceValidation{}
		if err := apiextensionsv1.Convert_v1_CustomResourceValidation_To_apiextensions_CustomResourceValidation(val, internal, nil); err != nil {
			return nil, err
		}
		props = internal.OpenAPIV3Schema
	}
	validator, _, err := apiservervalidation.NewSchemaValidator(props)
	if err != nil {
		return nil, err
	}
	sub, err := apihelpers.GetSubresourcesForVersion(crd, v.Name)
	if err != nil {
		return nil, err
	}
	var statusSpec *apiextensionsinternal.CustomResourceSubresourceStatus
	var statusValidator apiservervalidation.SchemaValidator
	var scaleSpec *apiextensionsinternal.CustomResourceSubresourceScale
	if sub != nil && sub.Status != nil {
		st.info.Subresources = append(st.info.Subresources, "status")
		statusSpec = &apiextensionsinternal.CustomResourceSubresourceStatus{}
		if props != nil && props.Properties != nil {
			if s, ok := props.Properties["status"]; ok {
				if statusValidator, _, err = apiservervalidation.NewSchemaValidator(&s); err != nil {
					return nil, err
				}
			}
		}
	}
	if sub != nil && sub.Scale != nil {
		st.info.Subresources = append(st.info.Subresources, "scale")
		st.scale = sub.Scale
		scaleSpec = &apiextensionsinternal.CustomResourceSubresourceScale{}
		if err := apiextensionsv1.Convert_v1_CustomResourceSubresourceScale_To_apiextensions_CustomResourceSubresourceScale(sub.Scale, scaleSpec, nil); err != nil {
			return nil, err
		}
	}
	upstream := customresource.NewStrategy(unstructuredscheme.NewUnstructuredObjectTyper(), namespaced, kind, validator, statusValidator,
		st.structural, statusSpec, scaleSpec, v.SelectableFields)
	st.strategy = upstream
	st.status = customresource.NewStatusStrategy(upstream)
	st.attrs = func(obj runtime.Object) (fields.Set, error) {
		_, f, err := upstream.GetAttrs(obj)
		return f, err
	}
	columns := v.AdditionalPrinterColumns
	if len(columns) == 0 {
		columns = []apiextensionsv1.CustomResourceColumnDefinition{{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"}}
	}
	if st.table, err = tableconvertor.New(columns); err != nil {
		return nil, err
	}
	t, err := st.table.ConvertToTable(context.Background(), &unstructured.UnstructuredList{}, nil)
	if err != nil {
		return nil, err
	}
	st.columns = t.ColumnDefinitions
	return st, nil
}

var (
	_ registry.Strategy  = (*version)(nil)
	_ registry.Converter = (*version)(nil)
	_ registry.Scaler    = (*version)(nil)
)

func (v *version) Info() registry.Info { return v.info }

func (v *version) New() runtime.Object {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(v.gv.WithKind(v.info.Kind))
	return u
}

func (v *version) NewList() runtime.Object {
	l := &unstructured.UnstructuredList{}
	l.SetGroupVersionKind(v.gv.WithKind(v.info.ListKind))
	return l
}

func (v *version) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

func (v *version) PrepareForCreate(obj runtime.Object) {
	v.strategy.PrepareForCreate(context.Background(), obj)
}

func (v *version) PrepareForUpdate(obj, old runtime.Object) {
	v.strategy.PrepareForUpdate(context.Background(), obj, old)
}

func (v *version) PrepareForStatusUpdate(obj, old runtime.Object) {
	v.status.PrepareForUpdate(context.Background(), obj, old)
}

// Default prunes the fields the schema does not know and fills its defaults.
func (v *version) Default(obj runtime.Object) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || v.structural == nil {
		return
	}
	if !v.preserve {
		pruning.PruneWithOptions(u.Object, v.structural, true, structuralschema.UnknownFieldPathOptions{})
	}
	structuraldefaulting.Default(u.Object, v.structural)
}

// Prune drops the fields the schema does not know from a decoded object and returns
// their paths, for strict field validation. It also checks the object's metadata, and
// that of embedded resources, as upstream's decoder does.
func (v *version) Prune(obj runtime.Object) ([]string, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || v.structural == nil {
		return nil, nil
	}
	if err := schemaobjectmeta.Coerce(nil, u.Object, v.structural, true, false); err != nil {
		return nil, err
	}
	if v.preserve {
		return nil, nil
	}
	return pruning.PruneWithOptions(u.Object, v.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true}), nil
}

func (v *version) Validate(obj runtime.Object) field.ErrorList {
	return v.strategy.Validate(context.Background(), obj)
}

func (v *version) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return v.strategy.ValidateUpdate(context.Background(), obj, old)
}

func (v *version) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList {
	return v.status.ValidateUpdate(context.Background(), obj, old)
}

// Warnings are upstream's for finalizer names.
func (v *version) Warnings(obj, old runtime.Object) []string {
	if old == nil {
		return v.strategy.WarningsOnCreate(context.Background(), obj)
	}
	return v.strategy.WarningsOnUpdate(context.Background(), obj, old)
}

func (v *version) Fields(obj runtime.Object) fields.Set {
	f, err := v.attrs(obj)
	if err != nil {
		return registry.MetaFields(obj, v.info.Namespaced)
	}
	return f
}

func (v *version) Columns() []metav1.TableColumnDefinition { return v.columns }

func (v *version) Row(obj runtime.Object, _ time.Time) []interface{} {
	t, err := v.table.ConvertToTable(context.Background(), obj, nil)
	if err != nil || len(t.Rows) == 0 {
		return make([]interface{}, len(v.columns))
	}
	return t.Rows[0].Cells
}

// ToStorage converts an object into the storage version.
func (v *version) ToStorage(obj runtime.Object) (runtime.Object, error) {
	return v.convert(obj, v.storage)
}

// FromStorage converts a stored object, in whichever version it was stored, into this
// one, with the defaults of the schema filled in, as upstream fills them on read.
func (v *version) FromStorage(obj runtime.Object) (runtime.Object, error) {
	out, err := v.convert(obj, v.gv)
	if err != nil || !v.defaults {
		return out, err
	}
	if out == obj {
		out = obj.DeepCopyObject() // the stored object is shared
	}
	if u, ok := out.(*unstructured.Unstructured); ok {
		structuraldefaulting.Default(u.Object, v.structural)
	}
	return out, nil
}

// hasDefaults reports whether a schema has a default anywhere.
func hasDefaults(s *structuralschema.Structural) bool {
	if s == nil {
		return false
	}
	if s.Default.Object != nil {
		return true
	}
	for _, p := range s.Properties {
		if hasDefaults(&p) {
			return true
		}
	}
	if s.AdditionalProperties != nil && hasDefaults(s.AdditionalProperties.Structural) {
		return true
	}
	return hasDefaults(s.Items)
}

func (v *version) NewStorage() runtime.Object { return &unstructured.Unstructured{} }

// convert returns obj itself when it is in version gv already, and otherwise a converted
// copy: stored objects are shared by the watch cache's readers.
func (v *version) convert(obj runtime.Object, gv schema.GroupVersion) (runtime.Object, error) {
	if obj.GetObjectKind().GroupVersionKind().GroupVersion() == gv {
		return obj, nil
	}
	return v.converter.ConvertToVersion(obj, gv)
}

// Replicas reads the paths the definition's scale subresource names.
func (v *version) Replicas(obj runtime.Object) (spec, status int32, selector string) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || v.scale == nil {
		return 0, 0, ""
	}
	spec = int32(intAt(u, v.scale.SpecReplicasPath))
	status = int32(intAt(u, v.scale.StatusReplicasPath))
	if v.scale.LabelSelectorPath != nil {
		selector, _, _ = unstructured.NestedString(u.Object, splitPath(*v.scale.LabelSelectorPath)...)
	}
	return spec, status, selector
}

// SetReplicas writes the spec replicas path.
func (v *version) SetReplicas(obj runtime.Object, replicas int32) {
	if u, ok := obj.(*unstructured.Unstructured); ok && v.scale != nil {
		_ = unstructured.SetNestedField(u.Object, int64(replicas), splitPath(v.scale.SpecReplicasPath)...)
	}
}

func intAt(u *unstructured.Unstructured, path string) int64 {
	val, found, err := unstructured.NestedFieldNoCopy(u.Object, splitPath(path)...)
	if !found || err != nil {
		return 0
	}
	switch n := val.(type) {
	case int64:
		return n
	case float64:
		return int64(n)
	}
	return 0
}

func splitPath(jsonPath string) []string {
	return strings.Split(strings.TrimPrefix(jsonPath, "."), ".")
}

// FieldManager returns the manager of the fields written through subresource ("" for
// the object, "status").
func (v *version) FieldManager(subresource string) (*managedfields.FieldManager, error) {
	v.fieldsMu.Lock()
	defer v.fieldsMu.Unlock()
	if fm := v.managers[subresource]; fm != nil {
		return fm, nil
	}
	var reset map[fieldpath.APIVersion]fieldpath.Filter
	hasStatus := len(v.info.Subresources) > 0 && v.info.Subresources[0] == "status"
	switch {
	case subresource == "" && hasStatus:
		reset = map[fieldpath.APIVersion]fieldpath.Filter{fieldpath.APIVersion(v.gv.String()): fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie("status")))}
	case subresource == "status":
		reset = map[fieldpath.APIVersion]fieldpath.Filter{fieldpath.APIVersion(v.gv.String()): fieldpath.NewExcludeSetFilter(fieldpath.NewSet(fieldpath.MakePathOrDie("spec")))}
	}
	fm, err := managedfields.NewDefaultCRDFieldManager(v.types, v.converter, defaulter{v}, creater{},
		v.gv.WithKind(v.info.Kind), v.gv, subresource, reset)
	if err != nil {
		return nil, err
	}
	v.managers[subresource] = fm
	return fm, nil
}

type defaulter struct{ v *version }

func (d defaulter) Default(obj runtime.Object) { d.v.Default(obj) }

// creater makes empty custom resources.
type creater struct{}

func (creater) New(kind schema.GroupVersionKind) (runtime.Object, error) {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(kind)
	return u, nil
}

// ReplicasPaths says where each version of the definition keeps its scale's replicas,
// for the owners of applies through the scale subresource.
func (v *version) ReplicasPaths() managedfields.ResourcePathMappings { return v.replicas }
