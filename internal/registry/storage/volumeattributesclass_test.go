package storage

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// newAttributesClass returns a valid VolumeAttributesClass.
func newAttributesClass() *storagev1.VolumeAttributesClass {
	return &storagev1.VolumeAttributesClass{
		ObjectMeta: metav1.ObjectMeta{Name: "gold"},
		DriverName: "csi.example.com",
		Parameters: map[string]string{"iops": "3000"},
	}
}

func TestVolumeAttributesClassDefault(t *testing.T) {
	vac := newAttributesClass()
	NewVolumeAttributesClasses().Default(vac)
	if want := newAttributesClass(); !reflect.DeepEqual(vac, want) {
		t.Errorf("defaulted %+v, want it unchanged", vac)
	}
}

func TestValidateVolumeAttributesClass(t *testing.T) {
	many := map[string]string{}
	for i := range maxParameters + 1 {
		many[strconv.Itoa(i)] = "v"
	}
	tests := []struct {
		name   string
		change func(*storagev1.VolumeAttributesClass)
		want   []fieldError
	}{
		{name: "valid", change: func(*storagev1.VolumeAttributesClass) {}},
		{
			// The driver name is checked as a provisioner: a prefix is allowed, and
			// case is ignored.
			name: "qualified driver name",
			change: func(vac *storagev1.VolumeAttributesClass) {
				vac.DriverName = "Kubernetes.io/Foo"
				vac.Parameters = map[string]string{"a": "", "b": "2"}
			},
		},
		{
			name:   "no driver name",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.DriverName = "" },
			want:   []fieldError{{field.ErrorTypeRequired, "driverName"}},
		},
		{
			name:   "bad driver name",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.DriverName = "example.com/bad driver" },
			want:   []fieldError{{field.ErrorTypeInvalid, "driverName"}},
		},
		{
			name:   "driver name too long",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.DriverName = strings.Repeat("a", 64) },
			want:   []fieldError{{field.ErrorTypeInvalid, "driverName"}},
		},
		{
			name:   "no parameters",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.Parameters = nil },
			want:   []fieldError{{field.ErrorTypeRequired, "parameters"}},
		},
		{
			name:   "empty parameters",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.Parameters = map[string]string{} },
			want:   []fieldError{{field.ErrorTypeRequired, "parameters"}},
		},
		{
			name:   "too many parameters",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.Parameters = many },
			want:   []fieldError{{field.ErrorTypeTooLong, "parameters"}},
		},
		{
			name: "parameters too big, empty key",
			change: func(vac *storagev1.VolumeAttributesClass) {
				vac.Parameters = map[string]string{"": strings.Repeat("x", maxParametersSize+1)}
			},
			want: []fieldError{{field.ErrorTypeInvalid, "parameters"}, {field.ErrorTypeTooLong, "parameters"}},
		},
		{
			name: "everything wrong",
			change: func(vac *storagev1.VolumeAttributesClass) {
				vac.DriverName = ""
				vac.Parameters = nil
			},
			want: []fieldError{{field.ErrorTypeRequired, "driverName"}, {field.ErrorTypeRequired, "parameters"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vac := newAttributesClass()
			tt.change(vac)
			if got := summarize(create(NewVolumeAttributesClasses(), vac)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestVolumeAttributesClassMessages(t *testing.T) {
	vac := newAttributesClass()
	vac.DriverName = "Example.com/Bad_Driver!"
	vac.Parameters = map[string]string{"": "x"}
	checkMessages(t, create(NewVolumeAttributesClasses(), vac), []string{
		`driverName: Invalid value: "example.com/bad_driver!": name part must consist of alphanumeric characters`,
		`parameters: Invalid value: "": field can not be empty.`,
	})

	empty := newAttributesClass()
	empty.DriverName = ""
	empty.Parameters = nil
	checkMessages(t, create(NewVolumeAttributesClasses(), empty), []string{
		`driverName: Required value`,
		`parameters: Required value: must contain at least one key/value pair`,
	})
}

// TestVolumeAttributesClassUpdate: driverName and parameters may not change, reported
// first as forbidden updates; the class is then checked as on create; the generation
// does not move.
func TestVolumeAttributesClassUpdate(t *testing.T) {
	s := NewVolumeAttributesClasses()
	stored := newAttributesClass()
	stored.Generation = 3
	if errs := create(s, stored); len(errs) != 0 {
		t.Fatalf("create: %v", errs)
	}
	tests := []struct {
		name   string
		change func(*storagev1.VolumeAttributesClass)
		want   []string
	}{
		{name: "unchanged", change: func(*storagev1.VolumeAttributesClass) {}},
		{
			name: "metadata",
			change: func(vac *storagev1.VolumeAttributesClass) {
				vac.Labels = map[string]string{"tier": "gold"}
				vac.Annotations = map[string]string{"note": "x"}
			},
		},
		{
			name:   "driver name",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.DriverName = "other.example.com" },
			want:   []string{"driverName: Forbidden: updates to driverName are forbidden."},
		},
		{
			name:   "driver name case",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.DriverName = "CSI.example.com" },
			want:   []string{"driverName: Forbidden: updates to driverName are forbidden."},
		},
		{
			name:   "parameter value",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.Parameters["iops"] = "6000" },
			want:   []string{"parameters: Forbidden: updates to parameters are forbidden."},
		},
		{
			name:   "parameter added",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.Parameters["throughput"] = "125" },
			want:   []string{"parameters: Forbidden: updates to parameters are forbidden."},
		},
		{
			name: "everything removed",
			change: func(vac *storagev1.VolumeAttributesClass) {
				vac.DriverName = ""
				vac.Parameters = nil
			},
			want: []string{
				"driverName: Forbidden: updates to driverName are forbidden.",
				"parameters: Forbidden: updates to parameters are forbidden.",
				"driverName: Required value",
				"parameters: Required value: must contain at least one key/value pair",
			},
		},
		{
			name:   "bad driver name",
			change: func(vac *storagev1.VolumeAttributesClass) { vac.DriverName = "bad driver" },
			want: []string{
				"driverName: Forbidden: updates to driverName are forbidden.",
				`driverName: Invalid value: "bad driver": name part must consist of alphanumeric characters`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := stored.DeepCopy()
			next.Generation = 0
			tt.change(next)
			checkMessages(t, update(s, next, stored), tt.want)
			if next.Generation != 3 {
				t.Errorf("generation %d, want 3", next.Generation)
			}
		})
	}
}

func TestVolumeAttributesClassTable(t *testing.T) {
	s := NewVolumeAttributesClasses()
	if got, want := columnNames(s.Columns()), []string{"Name", "DriverName", "Age"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}
	vac := newAttributesClass()
	vac.CreationTimestamp = metav1.NewTime(now.Add(-26 * time.Hour))
	if got, want := s.Row(vac, now), []interface{}{"gold", "csi.example.com", "26h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
	if got, want := s.Row(&storagev1.VolumeAttributesClass{ObjectMeta: metav1.ObjectMeta{Name: "bare"}}, now), []interface{}{"bare", "", "<unknown>"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
}
