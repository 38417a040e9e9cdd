package storage

import (
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*storageClasses)(nil)

// NewStorageClasses returns the StorageClass strategy.
func NewStorageClasses() registry.Strategy { return &storageClasses{} }

const (
	// AnnotationIsDefaultClass set to "true" marks a default StorageClass.
	AnnotationIsDefaultClass = "storageclass.kubernetes.io/is-default-class"
	// AnnotationBetaIsDefaultClass is the beta form of AnnotationIsDefaultClass, still
	// honoured.
	AnnotationBetaIsDefaultClass = "storageclass.beta.kubernetes.io/is-default-class"
)

const (
	// maxParameters is how many parameters a class may have.
	maxParameters = 512
	// maxParametersSize is the most bytes a class's parameter keys and values may
	// take together.
	maxParametersSize = 256 << 10
)

// The values upstream accepts, sorted as its messages list them.
var (
	reclaimPolicies = []string{string(corev1.PersistentVolumeReclaimDelete), string(corev1.PersistentVolumeReclaimRetain)}
	bindingModes    = []string{string(storagev1.VolumeBindingImmediate), string(storagev1.VolumeBindingWaitForFirstConsumer)}
)

var (
	provisionerPath   = field.NewPath("provisioner")
	parametersPath    = field.NewPath("parameters")
	reclaimPolicyPath = field.NewPath("reclaimPolicy")
	bindingModePath   = field.NewPath("volumeBindingMode")
	topologiesPath    = field.NewPath("allowedTopologies")
)

// storageClasses is the StorageClass strategy.
type storageClasses struct{}

func (*storageClasses) Info() registry.Info {
	return registry.Info{
		Group:      storagev1.GroupName,
		Version:    "v1",
		Kind:       "StorageClass",
		ListKind:   "StorageClassList",
		Resource:   "storageclasses",
		Singular:   "storageclass",
		ShortNames: []string{"sc"},
	}
}

func (*storageClasses) New() runtime.Object     { return &storagev1.StorageClass{} }
func (*storageClasses) NewList() runtime.Object { return &storagev1.StorageClassList{} }

func (*storageClasses) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate does nothing: a class has no status, and upstream leaves its
// generation as sent.
func (*storageClasses) PrepareForCreate(obj runtime.Object) {}

// PrepareForUpdate does nothing: the generation is not bumped, as upstream's is not.
func (*storageClasses) PrepareForUpdate(obj, old runtime.Object) {}

// PrepareForStatusUpdate does nothing: classes have no status subresource.
func (*storageClasses) PrepareForStatusUpdate(obj, old runtime.Object) {}

// Default sets an unset reclaimPolicy to Delete and volumeBindingMode to Immediate.
func (*storageClasses) Default(obj runtime.Object) {
	sc := obj.(*storagev1.StorageClass)
	if sc.ReclaimPolicy == nil {
		sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimDelete)
	}
	if sc.VolumeBindingMode == nil {
		sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingImmediate)
	}
}

func (*storageClasses) Validate(obj runtime.Object) field.ErrorList {
	return validateStorageClass(obj.(*storagev1.StorageClass), nil)
}

// ValidateUpdate checks the class as on create, then that the provisioner, parameters,
// reclaim policy and binding mode did not change.
func (*storageClasses) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	return validateStorageClass(obj.(*storagev1.StorageClass), old.(*storagev1.StorageClass))
}

func (*storageClasses) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList { return nil }

func (*storageClasses) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }

func (*storageClasses) Columns() []metav1.TableColumnDefinition {
	doc := storagev1.StorageClass{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "Provisioner", Type: "string", Description: doc["provisioner"]},
		{Name: "ReclaimPolicy", Type: "string", Description: doc["reclaimPolicy"]},
		{Name: "VolumeBindingMode", Type: "string", Description: doc["volumeBindingMode"]},
		{Name: "AllowVolumeExpansion", Type: "string", Description: doc["allowVolumeExpansion"]},
		registry.AgeColumn(),
	}
}

// Row shows an unset reclaim policy as Delete, an unset binding mode as Immediate and
// an unset allowVolumeExpansion as false. The name is never marked as the default's:
// upstream marks it in list tables only (see Rows).
func (*storageClasses) Row(obj runtime.Object, now time.Time) []interface{} {
	sc := obj.(*storagev1.StorageClass)
	return storageClassRow(sc, sc.Name, now)
}

// Rows returns the rows of a list table of classes, in order: each as Row gives it,
// except that the effective default class's name is marked " (default)".
func (*storageClasses) Rows(objs []runtime.Object, now time.Time) [][]interface{} {
	classes := make([]*storagev1.StorageClass, len(objs))
	for i, obj := range objs {
		classes[i] = obj.(*storagev1.StorageClass)
	}
	def := effectiveDefault(classes)
	rows := make([][]interface{}, len(classes))
	for i, sc := range classes {
		name := sc.Name
		if sc == def {
			name += " (default)"
		}
		rows[i] = storageClassRow(sc, name, now)
	}
	return rows
}

func storageClassRow(sc *storagev1.StorageClass, name string, now time.Time) []interface{} {
	return []interface{}{
		name,
		sc.Provisioner,
		string(ptr.Deref(sc.ReclaimPolicy, corev1.PersistentVolumeReclaimDelete)),
		string(ptr.Deref(sc.VolumeBindingMode, storagev1.VolumeBindingImmediate)),
		ptr.Deref(sc.AllowVolumeExpansion, false),
		registry.Since(sc.CreationTimestamp.Time, now),
	}
}

// IsDefaultClass reports whether sc is annotated as a default class, by either form of
// the annotation.
func IsDefaultClass(sc *storagev1.StorageClass) bool {
	return sc.Annotations[AnnotationIsDefaultClass] == "true" || sc.Annotations[AnnotationBetaIsDefaultClass] == "true"
}

// effectiveDefault returns the default class among classes, the one a claim without a
// class gets: of those annotated as default, the most recently created, and of those
// created at the same time the first by name. It returns nil when none is annotated.
func effectiveDefault(classes []*storagev1.StorageClass) *storagev1.StorageClass {
	var def *storagev1.StorageClass
	for _, sc := range classes {
		if !IsDefaultClass(sc) {
			continue
		}
		if def == nil {
			def = sc
			continue
		}
		switch created, defCreated := sc.CreationTimestamp.Time, def.CreationTimestamp.Time; {
		case created.After(defCreated):
			def = sc
		case created.Equal(defCreated) && sc.Name < def.Name:
			def = sc
		}
	}
	return def
}

// validateStorageClass checks a new class (old nil) or an update: the provisioner, the
// parameters, the reclaim policy, the binding mode and the allowed topologies, and on
// update that the provisioner, parameters, reclaim policy and binding mode are
// unchanged. The provisioner's requirement and the immutability are also declarative
// rules upstream; they report last, and only for a new class or a changed field.
func validateStorageClass(sc, old *storagev1.StorageClass) field.ErrorList {
	errs := validateProvisioner(sc.Provisioner)
	errs = append(errs, validateParameters(sc.Parameters)...)
	if p := sc.ReclaimPolicy; p != nil && *p != "" && !slices.Contains(reclaimPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(reclaimPolicyPath, p, reclaimPolicies))
	}
	switch m := sc.VolumeBindingMode; {
	case m == nil:
		errs = append(errs, field.Required(bindingModePath, ""))
	case !slices.Contains(bindingModes, string(*m)):
		errs = append(errs, field.NotSupported(bindingModePath, m, bindingModes))
	}
	errs = append(errs, validateAllowedTopologies(sc.AllowedTopologies)...)

	var declarative field.ErrorList
	if old == nil {
		if sc.Provisioner == "" {
			declarative = append(declarative, field.Required(provisionerPath, ""))
		}
		return reported(errs, declarative)
	}
	errs = append(errs, validateImmutable(sc.Parameters, old.Parameters, parametersPath)...)
	errs = append(errs, validateImmutable(sc.Provisioner, old.Provisioner, provisionerPath)...)
	errs = append(errs, validateImmutable(sc.ReclaimPolicy, old.ReclaimPolicy, reclaimPolicyPath)...)
	errs = append(errs, validateImmutable(sc.VolumeBindingMode, old.VolumeBindingMode, bindingModePath)...)

	if sc.Provisioner != old.Provisioner {
		if sc.Provisioner == "" {
			declarative = append(declarative, field.Required(provisionerPath, ""))
		}
		declarative = append(declarative, immutable(provisionerPath))
	}
	for _, f := range []struct {
		value, old interface{}
		path       *field.Path
	}{
		{sc.Parameters, old.Parameters, parametersPath},
		{sc.ReclaimPolicy, old.ReclaimPolicy, reclaimPolicyPath},
		{sc.VolumeBindingMode, old.VolumeBindingMode, bindingModePath},
	} {
		if !equality.Semantic.DeepEqual(f.value, f.old) {
			declarative = append(declarative, immutable(f.path))
		}
	}
	return reported(errs, declarative)
}

// validateProvisioner requires a provisioner that is, lower-cased, a qualified name.
func validateProvisioner(provisioner string) field.ErrorList {
	if provisioner == "" {
		return field.ErrorList{field.Required(provisionerPath, "").MarkCoveredByDeclarative()}
	}
	return validateQualifiedName(strings.ToLower(provisioner), provisionerPath)
}

// validateParameters allows at most 512 parameters, no empty key, and at most 256 KiB
// of keys and values.
func validateParameters(params map[string]string) field.ErrorList {
	if len(params) > maxParameters {
		return field.ErrorList{field.TooLong(parametersPath, "", maxParameters)}
	}
	var errs field.ErrorList
	size := 0
	for k, v := range params {
		if k == "" {
			errs = append(errs, field.Invalid(parametersPath, k, "field can not be empty."))
		}
		size += len(k) + len(v)
	}
	if size > maxParametersSize {
		errs = append(errs, field.TooLong(parametersPath, "", maxParametersSize))
	}
	return errs
}

// validateAllowedTopologies checks each term's expressions (values required and
// distinct, a key that is a label name and not repeated in the term) and that no term
// selects what an earlier one does. A term without expressions is reported as a
// duplicate too, as upstream's comparison with the empty placeholders it starts from
// reports it.
func validateAllowedTopologies(terms []corev1.TopologySelectorTerm) field.ErrorList {
	var errs field.ErrorList
	var seen []map[string]sets.Set[string]
	for i, term := range terms {
		termPath := topologiesPath.Index(i)
		exprsPath := termPath.Child("matchLabelExpressions")
		selected := map[string]sets.Set[string]{}
		for j, req := range term.MatchLabelExpressions {
			reqPath := exprsPath.Index(j)
			valuesPath := reqPath.Child("values")
			if len(req.Values) == 0 {
				errs = append(errs, field.Required(valuesPath, ""))
			}
			values := sets.New[string]()
			for k, v := range req.Values {
				if values.Has(v) {
					errs = append(errs, field.Duplicate(valuesPath.Index(k), v))
				}
				values.Insert(v)
			}
			errs = append(errs, metav1validation.ValidateLabelName(req.Key, reqPath.Child("key"))...)
			if _, ok := selected[req.Key]; ok {
				errs = append(errs, field.Duplicate(reqPath.Child("key"), req.Key))
			}
			selected[req.Key] = values
		}
		dup := len(selected) == 0
		for _, s := range seen {
			dup = dup || equality.Semantic.DeepEqual(selected, s)
		}
		if dup {
			errs = append(errs, field.Duplicate(exprsPath, ""))
		}
		seen = append(seen, selected)
	}
	return errs
}
