package storage

import (
	"reflect"
	"testing"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// newDriver returns a CSIDriver with nothing but its name set.
func newDriver() *storagev1.CSIDriver {
	return &storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "csi.example.com"}}
}

func TestCSIDriverDefault(t *testing.T) {
	s := NewCSIDrivers()
	d := newDriver()
	s.Default(d)
	want := storagev1.CSIDriverSpec{
		AttachRequired:                ptr.To(true),
		PodInfoOnMount:                ptr.To(false),
		VolumeLifecycleModes:          []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecyclePersistent},
		StorageCapacity:               ptr.To(false),
		FSGroupPolicy:                 ptr.To(storagev1.ReadWriteOnceWithFSTypeFSGroupPolicy),
		RequiresRepublish:             ptr.To(false),
		SELinuxMount:                  ptr.To(false),
		PreventPodSchedulingIfMissing: ptr.To(false),
	}
	if !reflect.DeepEqual(d.Spec, want) {
		t.Errorf("defaulted spec %+v, want %+v", d.Spec, want)
	}

	set := storagev1.CSIDriverSpec{
		AttachRequired:                ptr.To(false),
		PodInfoOnMount:                ptr.To(true),
		VolumeLifecycleModes:          []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecycleEphemeral},
		StorageCapacity:               ptr.To(true),
		FSGroupPolicy:                 ptr.To(storagev1.NoneFSGroupPolicy),
		RequiresRepublish:             ptr.To(true),
		SELinuxMount:                  ptr.To(true),
		PreventPodSchedulingIfMissing: ptr.To(true),
	}
	d.Spec = *set.DeepCopy()
	s.Default(d)
	if !reflect.DeepEqual(d.Spec, set) {
		t.Errorf("set spec changed to %+v", d.Spec)
	}
}

func TestValidateCSIDriver(t *testing.T) {
	tests := []struct {
		name   string
		change func(*storagev1.CSIDriverSpec)
		want   []fieldError
	}{
		{name: "defaults", change: func(*storagev1.CSIDriverSpec) {}},
		{
			name: "everything set",
			change: func(spec *storagev1.CSIDriverSpec) {
				spec.FSGroupPolicy = ptr.To(storagev1.FileFSGroupPolicy)
				spec.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{storagev1.VolumeLifecycleEphemeral, storagev1.VolumeLifecyclePersistent}
				spec.TokenRequests = []storagev1.TokenRequest{{Audience: "vault"}, {Audience: "", ExpirationSeconds: ptr.To[int64](600)}}
				spec.NodeAllocatableUpdatePeriodSeconds = ptr.To[int64](10)
				spec.ServiceAccountTokenInSecrets = ptr.To(true)
			},
		},
		{
			name:   "unknown fsGroup policy",
			change: func(spec *storagev1.CSIDriverSpec) { spec.FSGroupPolicy = ptr.To(storagev1.FSGroupPolicy("Always")) },
			want:   []fieldError{{field.ErrorTypeNotSupported, "spec.fsGroupPolicy"}},
		},
		{
			name: "unknown modes",
			change: func(spec *storagev1.CSIDriverSpec) {
				spec.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{"Persistent", "Shared", "Local"}
			},
			want: []fieldError{{field.ErrorTypeNotSupported, "spec.volumeLifecycleModes"}, {field.ErrorTypeNotSupported, "spec.volumeLifecycleModes"}},
		},
		{
			name: "token requests",
			change: func(spec *storagev1.CSIDriverSpec) {
				spec.TokenRequests = []storagev1.TokenRequest{
					{Audience: "a", ExpirationSeconds: ptr.To[int64](599)},
					{Audience: "a", ExpirationSeconds: ptr.To[int64](1)},
					{Audience: "b", ExpirationSeconds: ptr.To[int64](1<<32 + 1)},
				}
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.tokenRequests[0].expirationSeconds"},
				{field.ErrorTypeDuplicate, "spec.tokenRequests[1].audience"},
				{field.ErrorTypeInvalid, "spec.tokenRequests[2].expirationSeconds"},
			},
		},
		{
			name: "period and secrets flag",
			change: func(spec *storagev1.CSIDriverSpec) {
				spec.NodeAllocatableUpdatePeriodSeconds = ptr.To[int64](9)
				spec.ServiceAccountTokenInSecrets = ptr.To(false)
			},
			want: []fieldError{
				{field.ErrorTypeInvalid, "spec.nodeAllocatableUpdatePeriodSeconds"},
				{field.ErrorTypeInvalid, "spec.serviceAccountTokenInSecrets"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDriver()
			tt.change(&d.Spec)
			if got := summarize(create(NewCSIDrivers(), d)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCSIDriverMessages(t *testing.T) {
	d := newDriver()
	d.Spec.FSGroupPolicy = ptr.To(storagev1.FSGroupPolicy("Always"))
	d.Spec.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{"Shared", "Shared"}
	d.Spec.TokenRequests = []storagev1.TokenRequest{{Audience: "a", ExpirationSeconds: ptr.To[int64](60)}, {Audience: "a"}}
	d.Spec.NodeAllocatableUpdatePeriodSeconds = ptr.To[int64](5)
	checkMessages(t, create(NewCSIDrivers(), d), []string{
		`spec.fsGroupPolicy: Unsupported value: "Always": supported values: "File", "None", "ReadWriteOnceWithFSType"`,
		`spec.tokenRequests[0].expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes`,
		`spec.tokenRequests[1].audience: Duplicate value: "a"`,
		// Upstream reports a repeated message once.
		`spec.volumeLifecycleModes: Unsupported value: "Shared": supported values: "Persistent", "Ephemeral"`,
		`spec.nodeAllocatableUpdatePeriodSeconds: Invalid value: 5: must be greater than or equal to 10 seconds`,
	})

	// Upstream requires the defaulted flags; only an undefaulted spec shows it.
	checkMessages(t, NewCSIDrivers().Validate(newDriver()), []string{
		"spec.attachedRequired: Required value",
		"spec.podInfoOnMount: Required value",
		"spec.storageCapacity: Required value",
		"spec.seLinuxMount: Required value",
		"spec.preventPodSchedulingIfMissing: Required value",
	})
}

// TestCSIDriverUpdate: attachRequired and the lifecycle modes are immutable; the
// generation moves with the defaulted spec.
func TestCSIDriverUpdate(t *testing.T) {
	s := NewCSIDrivers()
	stored := newDriver()
	stored.Generation = 1
	if errs := create(s, stored); len(errs) != 0 {
		t.Fatalf("create: %v", errs)
	}
	tests := []struct {
		name   string
		change func(*storagev1.CSIDriver)
		gen    int64
		want   []string
	}{
		{name: "resent undefaulted", change: func(d *storagev1.CSIDriver) { d.Spec = storagev1.CSIDriverSpec{} }, gen: 1},
		{name: "labels", change: func(d *storagev1.CSIDriver) { d.Labels = map[string]string{"a": "b"} }, gen: 1},
		{
			name: "mutable fields",
			change: func(d *storagev1.CSIDriver) {
				d.Spec.PodInfoOnMount = ptr.To(true)
				d.Spec.StorageCapacity = ptr.To(true)
				d.Spec.FSGroupPolicy = ptr.To(storagev1.FileFSGroupPolicy)
				d.Spec.TokenRequests = []storagev1.TokenRequest{{Audience: "vault"}}
			},
			gen: 2,
		},
		{
			name:   "attachRequired",
			change: func(d *storagev1.CSIDriver) { d.Spec.AttachRequired = ptr.To(false) },
			gen:    2,
			want:   []string{"spec.attachedRequired: Invalid value: false: field is immutable"},
		},
		{
			name: "modes",
			change: func(d *storagev1.CSIDriver) {
				d.Spec.VolumeLifecycleModes = []storagev1.VolumeLifecycleMode{"Ephemeral", "Bogus"}
			},
			gen: 2,
			want: []string{
				`spec.volumeLifecycleModes: Unsupported value: "Bogus": supported values: "Persistent", "Ephemeral"`,
				`spec.volumeLifecycleModes: Invalid value: ["Ephemeral","Bogus"]: field is immutable`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := stored.DeepCopy()
			next.Generation = 7
			tt.change(next)
			if got := messages(update(s, next, stored)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate:\n%q\nwant:\n%q", got, tt.want)
			}
			if next.Generation != tt.gen {
				t.Errorf("generation %d, want %d", next.Generation, tt.gen)
			}
		})
	}
}

func TestCSIDriverTable(t *testing.T) {
	s := NewCSIDrivers()
	if got, want := columnNames(s.Columns()), []string{"Name", "AttachRequired", "PodInfoOnMount", "StorageCapacity", "TokenRequests", "RequiresRepublish", "Modes", "Age"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}
	created := metav1.NewTime(now.Add(-5 * 24 * time.Hour))
	tests := []struct {
		name string
		spec storagev1.CSIDriverSpec
		want []interface{}
	}{
		{name: "unset", want: []interface{}{"csi.example.com", true, false, false, "<unset>", false, "<none>", "5d"}},
		{name: "empty token list", spec: storagev1.CSIDriverSpec{TokenRequests: []storagev1.TokenRequest{}}, want: []interface{}{"csi.example.com", true, false, false, "", false, "<none>", "5d"}},
		{
			name: "set",
			spec: storagev1.CSIDriverSpec{
				AttachRequired: ptr.To(false), PodInfoOnMount: ptr.To(true), StorageCapacity: ptr.To(true), RequiresRepublish: ptr.To(true),
				TokenRequests:        []storagev1.TokenRequest{{Audience: "vault"}, {Audience: "gcp"}},
				VolumeLifecycleModes: []storagev1.VolumeLifecycleMode{"Persistent", "Ephemeral"},
			},
			want: []interface{}{"csi.example.com", false, true, true, "vault,gcp", true, "Persistent,Ephemeral", "5d"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDriver()
			d.CreationTimestamp = created
			d.Spec = tt.spec
			if got := s.Row(d, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %#v, want %#v", got, tt.want)
			}
		})
	}
}
