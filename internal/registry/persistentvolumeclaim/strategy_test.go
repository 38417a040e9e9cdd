package persistentvolumeclaim

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

type fieldError struct {
	Type  field.ErrorType
	Field string
}

func summarize(errs field.ErrorList) []fieldError {
	var out []fieldError
	for _, e := range errs {
		out = append(out, fieldError{e.Type, e.Field})
	}
	return out
}

func storage(q string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(q)}
}

func validSpec() corev1.PersistentVolumeClaimSpec {
	return corev1.PersistentVolumeClaimSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Resources:   corev1.VolumeResourceRequirements{Requests: storage("1Gi")},
	}
}

// created runs a claim through the create path.
func created(spec corev1.PersistentVolumeClaimSpec) *corev1.PersistentVolumeClaim {
	s := New()
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"}, Spec: spec}
	s.PrepareForCreate(pvc)
	s.Default(pvc)
	return pvc
}

func TestInfo(t *testing.T) {
	s := New()
	info := s.Info()
	if info.GroupVersionResource().String() != "/v1, Resource=persistentvolumeclaims" || !info.Namespaced ||
		!reflect.DeepEqual(info.ShortNames, []string{"pvc"}) || !reflect.DeepEqual(info.Subresources, []string{"status"}) {
		t.Errorf("Info = %+v", info)
	}
	if msgs := s.ValidateName("Data_1", false); len(msgs) != 0 {
		t.Errorf("ValidateName: %v (upstream takes any path segment)", msgs)
	}
	if msgs := s.ValidateName("a/b", false); len(msgs) == 0 {
		t.Error("ValidateName accepted a slash")
	}
}

func TestCreate(t *testing.T) {
	spec := validSpec()
	spec.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "src"}
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "default"},
		Spec:       spec,
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: storage("5Gi")},
	}
	s := New()
	s.PrepareForCreate(pvc)
	s.Default(pvc)
	want := corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}
	if !reflect.DeepEqual(pvc.Status, want) {
		t.Errorf("status = %+v, want %+v", pvc.Status, want)
	}
	if m := pvc.Spec.VolumeMode; m == nil || *m != corev1.PersistentVolumeFilesystem {
		t.Errorf("volumeMode = %v, want Filesystem", m)
	}
	wantRef := &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "src"}
	if !reflect.DeepEqual(pvc.Spec.DataSourceRef, wantRef) {
		t.Errorf("dataSourceRef = %+v, want %+v", pvc.Spec.DataSourceRef, wantRef)
	}
	if pvc.Generation != 0 {
		t.Errorf("generation = %d, want none", pvc.Generation)
	}
	if errs := s.Validate(pvc); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.PersistentVolumeClaimSpec)
		want   []fieldError
	}{
		{name: "valid", mutate: func(*corev1.PersistentVolumeClaimSpec) {}},
		{
			name:   "no access modes",
			mutate: func(s *corev1.PersistentVolumeClaimSpec) { s.AccessModes = nil },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.accessModes"}},
		},
		{
			name: "unknown access mode",
			mutate: func(s *corev1.PersistentVolumeClaimSpec) {
				s.AccessModes = []corev1.PersistentVolumeAccessMode{"ReadSometimes"}
			},
			want: []fieldError{{field.ErrorTypeNotSupported, "spec.accessModes"}},
		},
		{
			name: "ReadWriteOncePod with another mode",
			mutate: func(s *corev1.PersistentVolumeClaimSpec) {
				s.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany}
			},
			want: []fieldError{{field.ErrorTypeForbidden, "spec.accessModes"}},
		},
		{
			name:   "no storage request",
			mutate: func(s *corev1.PersistentVolumeClaimSpec) { s.Resources.Requests = nil },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.resources[storage]"}},
		},
		{
			name:   "zero storage request",
			mutate: func(s *corev1.PersistentVolumeClaimSpec) { s.Resources.Requests = storage("0") },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.resources[storage]"}},
		},
		{
			name: "bad selector",
			mutate: func(s *corev1.PersistentVolumeClaimSpec) {
				s.Selector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: "Near"}}}
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.selector.matchExpressions[0].operator"}},
		},
		{
			name:   "bad storage class",
			mutate: func(s *corev1.PersistentVolumeClaimSpec) { s.StorageClassName = ptr.To("Fast_SSD") },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.storageClassName"}},
		},
		{
			name:   "bad volume mode",
			mutate: func(s *corev1.PersistentVolumeClaimSpec) { s.VolumeMode = ptr.To(corev1.PersistentVolumeMode("Tape")) },
			want:   []fieldError{{field.ErrorTypeNotSupported, "spec.volumeMode"}},
		},
		{
			name: "core data source that is not a claim",
			mutate: func(s *corev1.PersistentVolumeClaimSpec) {
				s.DataSource = &corev1.TypedLocalObjectReference{Kind: "Secret", Name: "x"}
				s.DataSourceRef = &corev1.TypedObjectReference{Kind: "Secret", Name: "x"}
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.dataSource"}, {field.ErrorTypeInvalid, "spec.dataSourceRef"}},
		},
		{
			name: "data sources differ",
			mutate: func(s *corev1.PersistentVolumeClaimSpec) {
				s.DataSource = &corev1.TypedLocalObjectReference{Kind: "PersistentVolumeClaim", Name: "a"}
				s.DataSourceRef = &corev1.TypedObjectReference{Kind: "PersistentVolumeClaim", Name: "b"}
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := validSpec()
			tt.mutate(&spec)
			pvc := created(spec)
			if got := summarize(New().Validate(pvc)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	spec := validSpec()
	spec.AccessModes = nil
	spec.Resources.Requests = storage("0")
	errs := New().Validate(created(spec))
	want := []string{
		"spec.accessModes: Required value: at least 1 access mode is required",
		`spec.resources[storage]: Invalid value: "0": must be greater than zero`,
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

func TestUpdate(t *testing.T) {
	bound := func() *corev1.PersistentVolumeClaim {
		pvc := created(validSpec())
		pvc.Spec.VolumeName = "pv-1"
		pvc.Status = corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: storage("1Gi")}
		return pvc
	}
	pending := func() *corev1.PersistentVolumeClaim { return created(validSpec()) }
	tests := []struct {
		name   string
		old    func() *corev1.PersistentVolumeClaim
		mutate func(*corev1.PersistentVolumeClaim)
		want   []fieldError
	}{
		{name: "unchanged", old: bound, mutate: func(*corev1.PersistentVolumeClaim) {}},
		{name: "bind a volume", old: pending, mutate: func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeName = "pv-1" }},
		{
			name: "rebind",
			old:  bound, mutate: func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeName = "pv-2" },
			want: []fieldError{{field.ErrorTypeForbidden, "spec"}},
		},
		{name: "grow bound claim", old: bound, mutate: func(p *corev1.PersistentVolumeClaim) { p.Spec.Resources.Requests = storage("2Gi") }},
		{
			name: "grow unbound claim",
			old:  pending, mutate: func(p *corev1.PersistentVolumeClaim) { p.Spec.Resources.Requests = storage("2Gi") },
			want: []fieldError{{field.ErrorTypeForbidden, "spec"}},
		},
		{
			name: "shrink below capacity",
			old:  bound, mutate: func(p *corev1.PersistentVolumeClaim) { p.Spec.Resources.Requests = storage("512Mi") },
			want: []fieldError{{field.ErrorTypeForbidden, "spec.resources.requests.storage"}},
		},
		{
			name: "access modes",
			old:  bound,
			mutate: func(p *corev1.PersistentVolumeClaim) {
				p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany}
			},
			want: []fieldError{{field.ErrorTypeForbidden, "spec"}},
		},
		{
			name: "volume mode",
			old:  bound,
			mutate: func(p *corev1.PersistentVolumeClaim) {
				p.Spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
			},
			want: []fieldError{{field.ErrorTypeForbidden, "spec"}, {field.ErrorTypeInvalid, "volumeMode"}},
		},
		{name: "set storage class from nil", old: pending, mutate: func(p *corev1.PersistentVolumeClaim) { p.Spec.StorageClassName = ptr.To("fast") }},
		{
			name: "change storage class",
			old: func() *corev1.PersistentVolumeClaim {
				p := pending()
				p.Spec.StorageClassName = ptr.To("fast")
				return p
			},
			mutate: func(p *corev1.PersistentVolumeClaim) { p.Spec.StorageClassName = ptr.To("slow") },
			want:   []fieldError{{field.ErrorTypeForbidden, "spec"}},
		},
		{
			name: "storage class annotation",
			old: func() *corev1.PersistentVolumeClaim {
				p := pending()
				p.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "fast"}
				return p
			},
			mutate: func(p *corev1.PersistentVolumeClaim) { p.Annotations[corev1.BetaStorageClassAnnotation] = "slow" },
			want:   []fieldError{{field.ErrorTypeInvalid, "metadata.annotations.volume.beta.kubernetes.io/storage-class"}},
		},
		{name: "volume attributes class", old: bound, mutate: func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeAttributesClassName = ptr.To("gold") }},
		{
			name: "unset volume attributes class",
			old: func() *corev1.PersistentVolumeClaim {
				p := bound()
				p.Spec.VolumeAttributesClassName = ptr.To("gold")
				return p
			},
			mutate: func(p *corev1.PersistentVolumeClaim) { p.Spec.VolumeAttributesClassName = nil },
			want:   []fieldError{{field.ErrorTypeForbidden, "spec.volumeAttributesClassName"}},
		},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := tt.old()
			pvc := old.DeepCopy()
			pvc.Status = corev1.PersistentVolumeClaimStatus{}
			tt.mutate(pvc)
			s.PrepareForUpdate(pvc, old)
			s.Default(pvc)
			if !reflect.DeepEqual(pvc.Status, old.Status) {
				t.Errorf("status = %+v, want the stored one", pvc.Status)
			}
			if got := summarize(s.ValidateUpdate(pvc, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestImmutableMessage(t *testing.T) {
	old := created(validSpec())
	pvc := old.DeepCopy()
	pvc.Spec.Resources.Requests = storage("2Gi")
	errs := New().ValidateUpdate(pvc, old)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Detail, "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n") {
		t.Errorf("errors: %v", errs)
	}
}

func TestStatusUpdate(t *testing.T) {
	s := New()
	old := created(validSpec())
	pvc := old.DeepCopy()
	pvc.Spec.VolumeName = "sneaky"
	pvc.Status = corev1.PersistentVolumeClaimStatus{
		Phase:                     corev1.ClaimBound,
		AccessModes:               []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		Capacity:                  storage("1Gi"),
		AllocatedResourceStatuses: map[corev1.ResourceName]corev1.ClaimResourceStatus{corev1.ResourceStorage: "Resizing"},
		ModifyVolumeStatus:        &corev1.ModifyVolumeStatus{Status: "Done"},
	}
	s.PrepareForStatusUpdate(pvc, old)
	s.Default(pvc)
	if pvc.Spec.VolumeName != "" {
		t.Error("the status update wrote the spec")
	}
	want := []fieldError{
		{field.ErrorTypeNotSupported, "status.allocatedResourceStatus"},
		{field.ErrorTypeNotSupported, "status.modifyVolumeStatus.status"},
	}
	if got := summarize(s.ValidateStatusUpdate(pvc, old)); !reflect.DeepEqual(got, want) {
		t.Errorf("ValidateStatusUpdate = %v, want %v", got, want)
	}
	pvc.Status.Phase = ""
	s.Default(pvc)
	if pvc.Status.Phase != corev1.ClaimPending {
		t.Errorf("phase = %q, want Pending", pvc.Status.Phase)
	}
}

func TestFields(t *testing.T) {
	want := fields.Set{"metadata.name": "data", "metadata.namespace": "default", "name": "data"}
	if got := New().Fields(created(validSpec())); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

func TestTable(t *testing.T) {
	age := metav1.NewTime(now.Add(-5 * time.Hour))
	tests := []struct {
		name string
		pvc  func(*corev1.PersistentVolumeClaim)
		want []interface{}
	}{
		{
			name: "pending",
			pvc:  func(p *corev1.PersistentVolumeClaim) { p.Spec.StorageClassName = ptr.To("standard") },
			want: []interface{}{"data", "Pending", "", "", "", "standard", "<unset>", "5h", "Filesystem"},
		},
		{
			name: "bound",
			pvc: func(p *corev1.PersistentVolumeClaim) {
				p.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "legacy"}
				p.Spec.StorageClassName = ptr.To("standard")
				p.Spec.VolumeName = "pv-1"
				p.Spec.VolumeAttributesClassName = ptr.To("gold")
				p.Status.Phase = corev1.ClaimBound
				p.Status.Capacity = storage("5Gi")
				p.Status.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany, corev1.ReadWriteOnce}
			},
			want: []interface{}{"data", "Bound", "pv-1", "5Gi", "RWO,ROX,RWOP", "legacy", "gold", "5h", "Filesystem"},
		},
		{
			name: "terminating",
			pvc:  func(p *corev1.PersistentVolumeClaim) { p.DeletionTimestamp = &age; p.Spec.VolumeMode = nil },
			want: []interface{}{"data", "Terminating", "", "", "", "", "<unset>", "5h", "<unset>"},
		},
	}
	s := New()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pvc := created(validSpec())
			pvc.CreationTimestamp = age
			tt.pvc(pvc)
			got := s.Row(pvc, now)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %q\nwant  %q", got, tt.want)
			}
		})
	}
	var names []string
	for _, c := range s.Columns() {
		names = append(names, c.Name)
	}
	want := []string{"Name", "Status", "Volume", "Capacity", "Access Modes", "StorageClass", "VolumeAttributesClass", "Age", "VolumeMode"}
	if !reflect.DeepEqual(names, want) || s.Columns()[8].Priority != 1 {
		t.Errorf("Columns = %v, want %v with VolumeMode wide only", names, want)
	}
}
