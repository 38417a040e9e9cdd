package storage

import (
	"slices"
	"strings"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/registry"
)

var _ registry.Strategy = (*csiDrivers)(nil)

// NewCSIDrivers returns the CSIDriver strategy.
func NewCSIDrivers() registry.Strategy { return &csiDrivers{} }

const (
	// minTokenExpiration and maxTokenExpiration bound a token request's
	// expirationSeconds.
	minTokenExpiration = 10 * 60
	maxTokenExpiration = 1 << 32
	// minAllocatableUpdatePeriod is the shortest nodeAllocatableUpdatePeriodSeconds.
	minAllocatableUpdatePeriod = 10
)

// The values upstream accepts, in the order its messages list them.
var (
	fsGroupPolicies = []string{
		string(storagev1.FileFSGroupPolicy),
		string(storagev1.NoneFSGroupPolicy),
		string(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy),
	}
	lifecycleModes = []string{string(storagev1.VolumeLifecyclePersistent), string(storagev1.VolumeLifecycleEphemeral)}
)

// csiDrivers is the CSIDriver strategy.
type csiDrivers struct{}

func (*csiDrivers) Info() registry.Info {
	return registry.Info{
		Group:    storagev1.GroupName,
		Version:  "v1",
		Kind:     "CSIDriver",
		ListKind: "CSIDriverList",
		Resource: "csidrivers",
		Singular: "csidriver",
	}
}

func (*csiDrivers) New() runtime.Object     { return &storagev1.CSIDriver{} }
func (*csiDrivers) NewList() runtime.Object { return &storagev1.CSIDriverList{} }

func (*csiDrivers) ValidateName(name string, prefix bool) []string {
	return apivalidation.NameIsDNSSubdomain(name, prefix)
}

// PrepareForCreate does nothing: a driver has no status, upstream leaves its generation
// as sent, and every field its feature gates guard is enabled.
func (*csiDrivers) PrepareForCreate(obj runtime.Object) {}

// PrepareForUpdate bumps the generation when the spec, once defaulted, differs from the
// stored one.
func (*csiDrivers) PrepareForUpdate(obj, old runtime.Object) {
	d, o := obj.(*storagev1.CSIDriver), old.(*storagev1.CSIDriver)
	setDriverDefaults(&d.Spec)
	oldSpec := o.Spec.DeepCopy()
	setDriverDefaults(oldSpec)
	if !equality.Semantic.DeepEqual(&d.Spec, oldSpec) {
		d.Generation = o.Generation + 1
	}
}

// PrepareForStatusUpdate does nothing: drivers have no status subresource.
func (*csiDrivers) PrepareForStatusUpdate(obj, old runtime.Object) {}

// Default sets what upstream defaults when unset: attachRequired true; podInfoOnMount,
// storageCapacity, requiresRepublish, seLinuxMount and preventPodSchedulingIfMissing
// false; fsGroupPolicy ReadWriteOnceWithFSType; and, when empty, volumeLifecycleModes
// [Persistent].
func (*csiDrivers) Default(obj runtime.Object) {
	setDriverDefaults(&obj.(*storagev1.CSIDriver).Spec)
}

func setDriverDefaults(spec *storagev1.CSIDriverSpec) {
	for _, b := range []struct {
		field **bool
		value bool
	}{
		{&spec.AttachRequired, true},
		{&spec.PodInfoOnMount, false},
		{&spec.StorageCapacity, false},
		{&spec.RequiresRepublish, false},
		{&spec.SELinuxMount, false},
		{&spec.PreventPodSchedulingIfMissing, false},
	} {
		if *b.field == nil {
			*b.field = ptr.To(b.value)
		}
	}
	if spec.FSGroupPolicy == nil {
		spec.FSGroupPolicy = ptr.To(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy)
	}
	if len(spec.VolumeLifecycleModes) == 0 {
		spec.VolumeLifecycleModes = append(spec.VolumeLifecycleModes, storagev1.VolumeLifecyclePersistent)
	}
}

func (*csiDrivers) Validate(obj runtime.Object) field.ErrorList {
	return reported(validateDriverSpec(&obj.(*storagev1.CSIDriver).Spec, field.NewPath("spec")), nil)
}

// ValidateUpdate checks the spec as on create, then that attachRequired (reported, as
// upstream reports it, at spec.attachedRequired) and volumeLifecycleModes did not
// change.
func (*csiDrivers) ValidateUpdate(obj, old runtime.Object) field.ErrorList {
	spec, oldSpec := &obj.(*storagev1.CSIDriver).Spec, &old.(*storagev1.CSIDriver).Spec
	path := field.NewPath("spec")
	errs := validateDriverSpec(spec, path)
	errs = append(errs, apivalidation.ValidateImmutableField(spec.AttachRequired, oldSpec.AttachRequired, path.Child("attachedRequired"))...)
	// Upstream's declarative rule for the modes is alpha, not enforced: the handwritten
	// error stands.
	errs = append(errs, apivalidation.ValidateImmutableField(spec.VolumeLifecycleModes, oldSpec.VolumeLifecycleModes, path.Child("volumeLifecycleModes"))...)
	return reported(errs, nil)
}

func (*csiDrivers) ValidateStatusUpdate(obj, old runtime.Object) field.ErrorList { return nil }

func (*csiDrivers) Fields(obj runtime.Object) fields.Set { return registry.MetaFields(obj, false) }

func (*csiDrivers) Columns() []metav1.TableColumnDefinition {
	doc := storagev1.CSIDriverSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		registry.NameColumn(),
		{Name: "AttachRequired", Type: "boolean", Description: doc["attachRequired"]},
		{Name: "PodInfoOnMount", Type: "boolean", Description: doc["podInfoOnMount"]},
		{Name: "StorageCapacity", Type: "boolean", Description: doc["storageCapacity"]},
		{Name: "TokenRequests", Type: "string", Description: doc["tokenRequests"]},
		{Name: "RequiresRepublish", Type: "boolean", Description: doc["requiresRepublish"]},
		{Name: "Modes", Type: "string", Description: doc["volumeLifecycleModes"]},
		registry.AgeColumn(),
	}
}

// Row shows unset flags at their defaults, the token requests' audiences joined with
// commas ("<unset>" when there is no list), and the lifecycle modes joined with commas
// ("<none>" when there are none).
func (*csiDrivers) Row(obj runtime.Object, now time.Time) []interface{} {
	d := obj.(*storagev1.CSIDriver)
	spec := &d.Spec
	tokens := "<unset>"
	if spec.TokenRequests != nil {
		audiences := make([]string, 0, len(spec.TokenRequests))
		for _, t := range spec.TokenRequests {
			audiences = append(audiences, t.Audience)
		}
		tokens = strings.Join(audiences, ",")
	}
	modes := make([]string, 0, len(spec.VolumeLifecycleModes))
	for _, m := range spec.VolumeLifecycleModes {
		modes = append(modes, string(m))
	}
	modeList := strings.Join(modes, ",")
	if modeList == "" {
		modeList = "<none>"
	}
	return []interface{}{
		d.Name,
		ptr.Deref(spec.AttachRequired, true),
		ptr.Deref(spec.PodInfoOnMount, false),
		ptr.Deref(spec.StorageCapacity, false),
		tokens,
		ptr.Deref(spec.RequiresRepublish, false),
		modeList,
		registry.Since(d.CreationTimestamp.Time, now),
	}
}

// validateDriverSpec checks a driver's spec: the flags upstream defaults are set (the
// attachRequired one reported at attachedRequired, as upstream does), the fsGroup
// policy and lifecycle modes are known, token requests have distinct audiences and
// expirations from 10 minutes to 2^32 seconds, the allocatable update period is at
// least 10 seconds, and serviceAccountTokenInSecrets comes with token requests.
func validateDriverSpec(spec *storagev1.CSIDriverSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, f := range []struct {
		value *bool
		name  string
	}{
		{spec.AttachRequired, "attachedRequired"},
		{spec.PodInfoOnMount, "podInfoOnMount"},
		{spec.StorageCapacity, "storageCapacity"},
	} {
		if f.value == nil {
			errs = append(errs, field.Required(path.Child(f.name), ""))
		}
	}
	if p := spec.FSGroupPolicy; p != nil && !slices.Contains(fsGroupPolicies, string(*p)) {
		errs = append(errs, field.NotSupported(path.Child("fsGroupPolicy"), p, fsGroupPolicies))
	}
	errs = append(errs, validateTokenRequests(spec.TokenRequests, path.Child("tokenRequests"))...)
	for _, m := range spec.VolumeLifecycleModes {
		if !slices.Contains(lifecycleModes, string(m)) {
			errs = append(errs, field.NotSupported(path.Child("volumeLifecycleModes"), m, lifecycleModes))
		}
	}
	if spec.SELinuxMount == nil {
		errs = append(errs, field.Required(path.Child("seLinuxMount"), ""))
	}
	if p := spec.NodeAllocatableUpdatePeriodSeconds; p != nil && *p < minAllocatableUpdatePeriod {
		errs = append(errs, field.Invalid(path.Child("nodeAllocatableUpdatePeriodSeconds"), *p, "must be greater than or equal to 10 seconds"))
	}
	if s := spec.ServiceAccountTokenInSecrets; s != nil && len(spec.TokenRequests) == 0 {
		errs = append(errs, field.Invalid(path.Child("serviceAccountTokenInSecrets"), s, "serviceAccountTokenInSecrets is set but no tokenRequests are specified"))
	}
	if spec.PreventPodSchedulingIfMissing == nil {
		errs = append(errs, field.Required(path.Child("preventPodSchedulingIfMissing"), ""))
	}
	return errs
}

// validateTokenRequests requires distinct audiences (a repeated one is reported and its
// request not checked further) and expirations, when given, from 10 minutes to 2^32
// seconds.
func validateTokenRequests(requests []storagev1.TokenRequest, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	audiences := map[string]bool{}
	for i, r := range requests {
		reqPath := path.Index(i)
		if audiences[r.Audience] {
			errs = append(errs, field.Duplicate(reqPath.Child("audience"), r.Audience))
			continue
		}
		audiences[r.Audience] = true
		if r.ExpirationSeconds == nil {
			continue
		}
		exp := *r.ExpirationSeconds
		if exp < minTokenExpiration {
			errs = append(errs, field.Invalid(reqPath.Child("expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
		}
		if exp > maxTokenExpiration {
			errs = append(errs, field.Invalid(reqPath.Child("expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
		}
	}
	return errs
}
