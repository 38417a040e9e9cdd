package storage

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// newClass returns a valid StorageClass, not yet defaulted.
func newClass() *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:  metav1.ObjectMeta{Name: "fast"},
		Provisioner: "csi.example.com",
		Parameters:  map[string]string{"type": "ssd"},
	}
}

func topologyTerm(reqs ...corev1.TopologySelectorLabelRequirement) corev1.TopologySelectorTerm {
	return corev1.TopologySelectorTerm{MatchLabelExpressions: reqs}
}

func labelReq(key string, values ...string) corev1.TopologySelectorLabelRequirement {
	return corev1.TopologySelectorLabelRequirement{Key: key, Values: values}
}

func TestStorageClassDefault(t *testing.T) {
	s := NewStorageClasses()
	sc := newClass()
	s.Default(sc)
	if got := ptr.Deref(sc.ReclaimPolicy, ""); got != corev1.PersistentVolumeReclaimDelete {
		t.Errorf("reclaimPolicy %q, want Delete", got)
	}
	if got := ptr.Deref(sc.VolumeBindingMode, ""); got != storagev1.VolumeBindingImmediate {
		t.Errorf("volumeBindingMode %q, want Immediate", got)
	}
	if sc.AllowVolumeExpansion != nil {
		t.Errorf("allowVolumeExpansion %v set", *sc.AllowVolumeExpansion)
	}

	set := newClass()
	set.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
	set.VolumeBindingMode = ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)
	s.Default(set)
	if *set.ReclaimPolicy != corev1.PersistentVolumeReclaimRetain || *set.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		t.Errorf("set values changed: %q, %q", *set.ReclaimPolicy, *set.VolumeBindingMode)
	}
}

func TestValidateStorageClass(t *testing.T) {
	many := map[string]string{}
	for i := range maxParameters + 1 {
		many[strconv.Itoa(i)] = "v"
	}
	tests := []struct {
		name   string
		change func(*storagev1.StorageClass)
		want   []fieldError
	}{
		{name: "valid", change: func(*storagev1.StorageClass) {}},
		{
			name: "everything set",
			change: func(sc *storagev1.StorageClass) {
				sc.Provisioner = "Kubernetes.io/AWS-EBS"
				sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
				sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)
				sc.AllowVolumeExpansion = ptr.To(true)
				sc.MountOptions = []string{"debug"}
				sc.AllowedTopologies = []corev1.TopologySelectorTerm{
					topologyTerm(labelReq("topology.kubernetes.io/zone", "a", "b"), labelReq("kubernetes.io/hostname", "n1")),
					topologyTerm(labelReq("topology.kubernetes.io/zone", "c")),
				}
			},
		},
		{
			// Upstream accepts an empty reclaim policy.
			name:   "empty reclaim policy",
			change: func(sc *storagev1.StorageClass) { sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimPolicy("")) },
		},
		{
			name:   "bad provisioner",
			change: func(sc *storagev1.StorageClass) { sc.Provisioner = "example.com/bad provisioner" },
			want:   []fieldError{{field.ErrorTypeInvalid, "provisioner"}},
		},
		{
			name:   "provisioner too long",
			change: func(sc *storagev1.StorageClass) { sc.Provisioner = strings.Repeat("a", 64) },
			want:   []fieldError{{field.ErrorTypeInvalid, "provisioner"}},
		},
		{
			name:   "too many parameters",
			change: func(sc *storagev1.StorageClass) { sc.Parameters = many },
			want:   []fieldError{{field.ErrorTypeTooLong, "parameters"}},
		},
		{
			name: "parameters too big, empty key",
			change: func(sc *storagev1.StorageClass) {
				sc.Parameters = map[string]string{"": strings.Repeat("x", maxParametersSize+1)}
			},
			want: []fieldError{{field.ErrorTypeInvalid, "parameters"}, {field.ErrorTypeTooLong, "parameters"}},
		},
		{
			name: "unknown policy and mode",
			change: func(sc *storagev1.StorageClass) {
				sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRecycle)
				sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingMode("Later"))
			},
			want: []fieldError{{field.ErrorTypeNotSupported, "reclaimPolicy"}, {field.ErrorTypeNotSupported, "volumeBindingMode"}},
		},
		{
			name: "topologies",
			change: func(sc *storagev1.StorageClass) {
				sc.AllowedTopologies = []corev1.TopologySelectorTerm{
					topologyTerm(labelReq("zone", "a", "a"), labelReq("/bad"), labelReq("zone", "b")),
					topologyTerm(labelReq("zone", "b")),
					topologyTerm(labelReq("zone", "b")),
					{},
				}
			},
			want: []fieldError{
				{field.ErrorTypeDuplicate, "allowedTopologies[0].matchLabelExpressions[0].values[1]"},
				{field.ErrorTypeRequired, "allowedTopologies[0].matchLabelExpressions[1].values"},
				{field.ErrorTypeInvalid, "allowedTopologies[0].matchLabelExpressions[1].key"},
				{field.ErrorTypeDuplicate, "allowedTopologies[0].matchLabelExpressions[2].key"},
				{field.ErrorTypeDuplicate, "allowedTopologies[2].matchLabelExpressions"},
				{field.ErrorTypeDuplicate, "allowedTopologies[3].matchLabelExpressions"},
			},
		},
		{
			// The declarative requirement of the provisioner comes last.
			name: "no provisioner",
			change: func(sc *storagev1.StorageClass) {
				sc.Provisioner = ""
				sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRecycle)
			},
			want: []fieldError{{field.ErrorTypeNotSupported, "reclaimPolicy"}, {field.ErrorTypeRequired, "provisioner"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := newClass()
			tt.change(sc)
			if got := summarize(create(NewStorageClasses(), sc)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStorageClassMessages(t *testing.T) {
	sc := newClass()
	sc.Provisioner = "Example.com/Bad_Prov!"
	sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingMode("Later"))
	sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRecycle)
	sc.AllowedTopologies = []corev1.TopologySelectorTerm{{}}
	checkMessages(t, create(NewStorageClasses(), sc), []string{
		`provisioner: Invalid value: "example.com/bad_prov!": name part must consist of alphanumeric characters`,
		`reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"`,
		`volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"`,
		`allowedTopologies[0].matchLabelExpressions: Duplicate value: ""`,
	})

	empty := newClass()
	empty.Provisioner = ""
	empty.Parameters = map[string]string{"": "x"}
	checkMessages(t, create(NewStorageClasses(), empty), []string{
		`parameters: Invalid value: "": field can not be empty.`,
		`provisioner: Required value`,
	})
}

// TestStorageClassUpdate: the class is checked as on create; provisioner, parameters,
// reclaim policy and binding mode may not change, reported last and with no value;
// the generation does not move.
func TestStorageClassUpdate(t *testing.T) {
	s := NewStorageClasses()
	stored := newClass()
	stored.Generation = 4
	if errs := create(s, stored); len(errs) != 0 {
		t.Fatalf("create: %v", errs)
	}
	tests := []struct {
		name   string
		change func(*storagev1.StorageClass)
		want   []string
	}{
		{name: "resent undefaulted", change: func(sc *storagev1.StorageClass) { sc.ReclaimPolicy, sc.VolumeBindingMode = nil, nil }},
		{
			name: "mutable fields",
			change: func(sc *storagev1.StorageClass) {
				sc.AllowVolumeExpansion = ptr.To(true)
				sc.MountOptions = []string{"ro"}
				sc.AllowedTopologies = []corev1.TopologySelectorTerm{topologyTerm(labelReq("zone", "a"))}
			},
		},
		{
			name:   "provisioner",
			change: func(sc *storagev1.StorageClass) { sc.Provisioner = "other.example.com" },
			want:   []string{"provisioner: Invalid value: null: field is immutable"},
		},
		{
			name:   "provisioner removed",
			change: func(sc *storagev1.StorageClass) { sc.Provisioner = "" },
			want:   []string{"provisioner: Required value", "provisioner: Invalid value: null: field is immutable"},
		},
		{
			name: "everything",
			change: func(sc *storagev1.StorageClass) {
				sc.Provisioner = "other.example.com"
				sc.Parameters = nil
				sc.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRecycle)
				sc.VolumeBindingMode = ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)
			},
			want: []string{
				`reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"`,
				"provisioner: Invalid value: null: field is immutable",
				"parameters: Invalid value: null: field is immutable",
				"reclaimPolicy: Invalid value: null: field is immutable",
				"volumeBindingMode: Invalid value: null: field is immutable",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := stored.DeepCopy()
			next.Generation = 0
			tt.change(next)
			if got := messages(update(s, next, stored)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate:\n%q\nwant:\n%q", got, tt.want)
			}
			if next.Generation != 4 {
				t.Errorf("generation %d, want 4", next.Generation)
			}
		})
	}
}

func TestStorageClassTable(t *testing.T) {
	s := NewStorageClasses()
	if got, want := columnNames(s.Columns()), []string{"Name", "Provisioner", "ReclaimPolicy", "VolumeBindingMode", "AllowVolumeExpansion", "Age"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}

	created := now.Add(-10 * time.Hour)
	class := func(name string, age time.Duration, annotations map[string]string) *storagev1.StorageClass {
		sc := newClass()
		sc.Name = name
		sc.CreationTimestamp = metav1.NewTime(created.Add(-age))
		sc.Annotations = annotations
		return sc
	}
	ga := map[string]string{AnnotationIsDefaultClass: "true"}
	beta := map[string]string{AnnotationBetaIsDefaultClass: "true"}

	bare := class("fast", 0, ga)
	if got, want := s.Row(bare, now), []interface{}{"fast", "csi.example.com", "Delete", "Immediate", false, "10h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v (a single class is never marked default)", got, want)
	}
	set := class("slow", 0, nil)
	set.ReclaimPolicy = ptr.To(corev1.PersistentVolumeReclaimRetain)
	set.VolumeBindingMode = ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)
	set.AllowVolumeExpansion = ptr.To(true)
	if got, want := s.Row(set, now), []interface{}{"slow", "csi.example.com", "Retain", "WaitForFirstConsumer", true, "10h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}

	rows := s.(interface {
		Rows([]runtime.Object, time.Time) [][]interface{}
	})
	tests := []struct {
		name    string
		classes []*storagev1.StorageClass
		want    []string
	}{
		{name: "none annotated", classes: []*storagev1.StorageClass{class("a", 0, nil), class("b", 0, map[string]string{AnnotationIsDefaultClass: "True"})}, want: []string{"a", "b"}},
		{name: "one", classes: []*storagev1.StorageClass{class("a", 0, nil), class("b", 0, beta)}, want: []string{"a", "b (default)"}},
		{name: "newest wins", classes: []*storagev1.StorageClass{class("a", 0, ga), class("b", time.Hour, beta)}, want: []string{"a (default)", "b"}},
		{name: "same age, first name wins", classes: []*storagev1.StorageClass{class("c", 0, ga), class("b", 0, beta), class("d", time.Hour, ga)}, want: []string{"c", "b (default)", "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := make([]runtime.Object, len(tt.classes))
			for i, sc := range tt.classes {
				objs[i] = sc
			}
			var names []string
			for _, row := range rows.Rows(objs, now) {
				names = append(names, row[0].(string))
			}
			if !reflect.DeepEqual(names, tt.want) {
				t.Errorf("names %q, want %q", names, tt.want)
			}
		})
	}
}
