package persistentvolume

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
	testclock "k8s.io/utils/clock/testing"
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

func hostPathSpec() corev1.PersistentVolumeSpec {
	return corev1.PersistentVolumeSpec{
		Capacity:               storage("10Gi"),
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/data/pv1"}},
	}
}

func nodeAffinity(node string) *corev1.VolumeNodeAffinity {
	return &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
		MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}},
	}}}}
}

// created runs a volume through the create path of a strategy whose clock reads now.
func created(spec corev1.PersistentVolumeSpec) (*corev1.PersistentVolume, *strategy) {
	s := newStrategy(testclock.NewFakePassiveClock(now))
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}, Spec: spec}
	s.PrepareForCreate(pv)
	s.Default(pv)
	return pv, s
}

func TestInfo(t *testing.T) {
	info := New().Info()
	if info.GroupVersionResource().String() != "/v1, Resource=persistentvolumes" || info.Namespaced ||
		!reflect.DeepEqual(info.ShortNames, []string{"pv"}) || !reflect.DeepEqual(info.Subresources, []string{"status"}) {
		t.Errorf("Info = %+v", info)
	}
}

func TestCreate(t *testing.T) {
	s := newStrategy(testclock.NewFakePassiveClock(now))
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv1"},
		Spec:       hostPathSpec(),
		Status:     corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound, Reason: "x"},
	}
	s.PrepareForCreate(pv)
	s.Default(pv)
	want := corev1.PersistentVolumeStatus{Phase: corev1.VolumePending, LastPhaseTransitionTime: ptr.To(metav1.NewTime(now))}
	if !reflect.DeepEqual(pv.Status, want) {
		t.Errorf("status = %+v, want %+v", pv.Status, want)
	}
	if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
		t.Errorf("reclaim policy = %q, want Retain", pv.Spec.PersistentVolumeReclaimPolicy)
	}
	if m := pv.Spec.VolumeMode; m == nil || *m != corev1.PersistentVolumeFilesystem {
		t.Errorf("volumeMode = %v, want Filesystem", m)
	}
	if typ := pv.Spec.HostPath.Type; typ == nil || *typ != corev1.HostPathUnset {
		t.Errorf("hostPath.type = %v, want unset", typ)
	}
	if errs := s.Validate(pv); len(errs) != 0 {
		t.Errorf("Validate: %v", errs)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.PersistentVolumeSpec)
		want   []fieldError
	}{
		{name: "hostPath", mutate: func(*corev1.PersistentVolumeSpec) {}},
		{
			name: "nfs with Recycle",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.HostPath = nil
				s.NFS = &corev1.NFSVolumeSource{Server: "nfs.example.com", Path: "/exports/a"}
				s.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRecycle
			},
		},
		{
			name: "csi",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.HostPath = nil
				s.CSI = &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com", VolumeHandle: "vol-1"}
				s.VolumeAttributesClassName = ptr.To("gold")
			},
		},
		{
			name: "local with node affinity",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.HostPath = nil
				s.Local = &corev1.LocalVolumeSource{Path: "/mnt/disks/ssd1"}
				s.NodeAffinity = nodeAffinity("node-1")
			},
		},
		{
			name:   "no capacity",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.Capacity = nil },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.capacity"}, {field.ErrorTypeNotSupported, "spec.capacity"}},
		},
		{
			name:   "zero capacity",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.Capacity = storage("0") },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.capacity[storage]"}},
		},
		{
			name:   "capacity other than storage",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.Capacity[corev1.ResourceCPU] = resource.MustParse("1") },
			want:   []fieldError{{field.ErrorTypeNotSupported, "spec.capacity"}},
		},
		{
			name:   "no access modes",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.AccessModes = nil },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.accessModes"}},
		},
		{
			name: "ReadWriteOncePod with another mode",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce, corev1.ReadWriteOncePod}
			},
			want: []fieldError{{field.ErrorTypeForbidden, "spec.accessModes"}},
		},
		{
			name:   "no source",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.HostPath = nil },
			want:   []fieldError{{field.ErrorTypeRequired, "spec"}},
		},
		{
			name: "two sources",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.NFS = &corev1.NFSVolumeSource{Server: "nfs", Path: "/x"}
			},
			want: []fieldError{{field.ErrorTypeForbidden, "spec.nfs"}},
		},
		{
			name:   "hostPath with backsteps",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.HostPath.Path = "/data/../etc" },
			want:   []fieldError{{field.ErrorTypeInvalid, "spec.hostPath.path"}},
		},
		{
			name: "recycle hostPath /",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.HostPath.Path = "/"
				s.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRecycle
			},
			want: []fieldError{{field.ErrorTypeForbidden, "spec.persistentVolumeReclaimPolicy"}},
		},
		{
			name:   "unknown reclaim policy",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.PersistentVolumeReclaimPolicy = "Shred" },
			want:   []fieldError{{field.ErrorTypeNotSupported, "spec.persistentVolumeReclaimPolicy"}},
		},
		{
			name: "local without node affinity",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.HostPath = nil
				s.Local = &corev1.LocalVolumeSource{Path: "/mnt/disks/ssd1"}
			},
			want: []fieldError{{field.ErrorTypeRequired, "spec.nodeAffinity"}},
		},
		{
			name: "node affinity without terms",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.NodeAffinity = &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{}}
			},
			want: []fieldError{{field.ErrorTypeRequired, "spec.nodeAffinity.required.nodeSelectorTerms"}},
		},
		{
			name: "node affinity bad operator",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.NodeAffinity = nodeAffinity("node-1")
				s.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Operator = "Near"
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].operator"}},
		},
		{
			name:   "node affinity without required",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.NodeAffinity = &corev1.VolumeNodeAffinity{} },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.nodeAffinity.required"}},
		},
		{
			name: "nfs relative path",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.HostPath = nil
				s.NFS = &corev1.NFSVolumeSource{Path: "exports"}
			},
			want: []fieldError{{field.ErrorTypeRequired, "spec.nfs.server"}, {field.ErrorTypeInvalid, "spec.nfs.path"}},
		},
		{
			name: "csi without handle, secret without namespace",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.HostPath = nil
				s.CSI = &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com", NodePublishSecretRef: &corev1.SecretReference{Name: "creds"}}
			},
			want: []fieldError{{field.ErrorTypeRequired, "spec.csi.volumeHandle"}, {field.ErrorTypeRequired, "spec.csi.nodePublishSecretRef.namespace"}},
		},
		{
			name:   "volume attributes class without csi",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.VolumeAttributesClassName = ptr.To("gold") },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.csi"}},
		},
		{
			name: "other sources count as one",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.HostPath = nil
				s.ISCSI = &corev1.ISCSIPersistentVolumeSource{}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := hostPathSpec()
			tt.mutate(&spec)
			pv, s := created(spec)
			if got := summarize(s.Validate(pv)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	spec := hostPathSpec()
	spec.HostPath = nil
	spec.Local = &corev1.LocalVolumeSource{Path: "/mnt"}
	pv, s := created(spec)
	var got []string
	for _, e := range s.Validate(pv) {
		got = append(got, e.Error())
	}
	want := []string{"spec.nodeAffinity: Required value: Local volume requires node affinity"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
}

func TestUpdate(t *testing.T) {
	tests := []struct {
		name   string
		old    func(*corev1.PersistentVolumeSpec)
		mutate func(*corev1.PersistentVolumeSpec)
		want   []fieldError
	}{
		{
			name: "bind a claim, change policy and capacity",
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
				s.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
				s.Capacity = storage("20Gi")
			},
		},
		{
			name:   "source",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.HostPath.Path = "/data/other" },
			want:   []fieldError{{field.ErrorTypeForbidden, "spec.persistentvolumesource"}},
		},
		{
			name:   "volume mode",
			mutate: func(s *corev1.PersistentVolumeSpec) { s.VolumeMode = ptr.To(corev1.PersistentVolumeBlock) },
			want:   []fieldError{{field.ErrorTypeInvalid, "volumeMode"}},
		},
		{name: "add node affinity", mutate: func(s *corev1.PersistentVolumeSpec) { s.NodeAffinity = nodeAffinity("node-1") }},
		{
			name:   "change node affinity",
			old:    func(s *corev1.PersistentVolumeSpec) { s.NodeAffinity = nodeAffinity("node-1") },
			mutate: func(s *corev1.PersistentVolumeSpec) { s.NodeAffinity = nodeAffinity("node-2") },
			want:   []fieldError{{field.ErrorTypeInvalid, "nodeAffinity"}},
		},
		{
			name: "add csi controller expand secret",
			old: func(s *corev1.PersistentVolumeSpec) {
				s.HostPath = nil
				s.CSI = &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com", VolumeHandle: "v"}
			},
			mutate: func(s *corev1.PersistentVolumeSpec) {
				s.CSI.ControllerExpandSecretRef = &corev1.SecretReference{Name: "s", Namespace: "kube-system"}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := hostPathSpec()
			if tt.old != nil {
				tt.old(&spec)
			}
			old, s := created(spec)
			old.Status = corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable}
			pv := old.DeepCopy()
			pv.Status = corev1.PersistentVolumeStatus{}
			tt.mutate(&pv.Spec)
			s.PrepareForUpdate(pv, old)
			s.Default(pv)
			if !reflect.DeepEqual(pv.Status, old.Status) {
				t.Errorf("status = %+v, want the stored one", pv.Status)
			}
			if got := summarize(s.ValidateUpdate(pv, old)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSourceImmutableMessage(t *testing.T) {
	old, s := created(hostPathSpec())
	pv := old.DeepCopy()
	pv.Spec.HostPath.Path = "/elsewhere"
	errs := s.ValidateUpdate(pv, old)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Detail, "spec.persistentvolumesource is immutable after creation\n") {
		t.Errorf("errors: %v", errs)
	}
}

func TestStatusUpdate(t *testing.T) {
	clock := testclock.NewFakePassiveClock(now)
	s := newStrategy(clock)
	old := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv1"}, Spec: hostPathSpec()}
	s.PrepareForCreate(old)
	s.Default(old)
	created := old.Status.LastPhaseTransitionTime

	later := now.Add(90 * time.Second)
	clock.SetTime(later)
	set := ptr.To(metav1.NewTime(now.Add(-time.Hour)))
	tests := []struct {
		name  string
		phase corev1.PersistentVolumePhase
		time  *metav1.Time
		want  *metav1.Time
	}{
		{name: "same phase, time left out", phase: corev1.VolumePending, want: created},
		{name: "new phase, time left out", phase: corev1.VolumeAvailable, want: ptr.To(metav1.NewTime(later))},
		{name: "new phase, time unchanged", phase: corev1.VolumeAvailable, time: created, want: ptr.To(metav1.NewTime(later))},
		{name: "new phase, time set by writer", phase: corev1.VolumeAvailable, time: set, want: set},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv := old.DeepCopy()
			pv.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
			pv.Status = corev1.PersistentVolumeStatus{Phase: tt.phase, LastPhaseTransitionTime: tt.time}
			s.PrepareForStatusUpdate(pv, old)
			s.Default(pv)
			if pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimRetain {
				t.Error("the status update wrote the spec")
			}
			if !reflect.DeepEqual(pv.Status.LastPhaseTransitionTime, tt.want) {
				t.Errorf("lastPhaseTransitionTime = %v, want %v", pv.Status.LastPhaseTransitionTime, tt.want)
			}
			if errs := s.ValidateStatusUpdate(pv, old); len(errs) != 0 {
				t.Errorf("ValidateStatusUpdate: %v", errs)
			}
		})
	}
}

func TestFields(t *testing.T) {
	pv, s := created(hostPathSpec())
	want := fields.Set{"metadata.name": "pv1", "name": "pv1"}
	if got := s.Fields(pv); !reflect.DeepEqual(got, want) {
		t.Errorf("Fields = %v, want %v", got, want)
	}
}

func TestTable(t *testing.T) {
	age := metav1.NewTime(now.Add(-3 * 24 * time.Hour))
	tests := []struct {
		name string
		pv   func(*corev1.PersistentVolume)
		want []interface{}
	}{
		{
			name: "available",
			pv:   func(p *corev1.PersistentVolume) { p.Status.Phase = corev1.VolumeAvailable },
			want: []interface{}{"pv1", "10Gi", "RWO", "Retain", "Available", "", "", "<unset>", "", "3d", "Filesystem"},
		},
		{
			name: "bound",
			pv: func(p *corev1.PersistentVolume) {
				p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteMany, corev1.ReadOnlyMany}
				p.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "data"}
				p.Spec.StorageClassName = "manual"
				p.Spec.VolumeAttributesClassName = ptr.To("gold")
				p.Status.Phase = corev1.VolumeBound
			},
			want: []interface{}{"pv1", "10Gi", "ROX,RWX", "Retain", "Bound", "default/data", "manual", "gold", "", "3d", "Filesystem"},
		},
		{
			name: "failed and terminating",
			pv: func(p *corev1.PersistentVolume) {
				p.DeletionTimestamp = &age
				p.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
				p.Spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}
				p.Spec.VolumeMode = nil
				p.Status.Phase = corev1.VolumeFailed
				p.Status.Reason = "NoDeleter"
			},
			want: []interface{}{"pv1", "10Gi", "RWOP", "Delete", "Terminating", "", "", "<unset>", "NoDeleter", "3d", "<unset>"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pv, s := created(hostPathSpec())
			pv.CreationTimestamp = age
			tt.pv(pv)
			if got := s.Row(pv, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Row = %q\nwant  %q", got, tt.want)
			}
		})
	}
	var names []string
	cols := New().Columns()
	for _, c := range cols {
		names = append(names, c.Name)
	}
	want := []string{"Name", "Capacity", "Access Modes", "Reclaim Policy", "Status", "Claim", "StorageClass", "VolumeAttributesClass", "Reason", "Age", "VolumeMode"}
	if !reflect.DeepEqual(names, want) || cols[10].Priority != 1 {
		t.Errorf("Columns = %v, want %v with VolumeMode wide only", names, want)
	}
}
