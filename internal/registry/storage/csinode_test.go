package storage

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// newCSINode returns a valid CSINode with one driver.
func newCSINode() *storagev1.CSINode {
	return &storagev1.CSINode{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1"},
		Spec: storagev1.CSINodeSpec{Drivers: []storagev1.CSINodeDriver{{
			Name:         "csi.example.com",
			NodeID:       "i-0123",
			TopologyKeys: []string{"topology.csi.example.com/zone"},
			Allocatable:  &storagev1.VolumeNodeResources{Count: ptr.To[int32](25)},
		}}},
	}
}

func health(name string, conds ...storagev1.StorageHealthCondition) storagev1.StorageHealth {
	return storagev1.StorageHealth{Name: name, HealthConditions: conds}
}

func TestValidateCSINode(t *testing.T) {
	tests := []struct {
		name   string
		change func(*storagev1.CSINode)
		want   []fieldError
	}{
		{name: "valid", change: func(*storagev1.CSINode) {}},
		{name: "no drivers", change: func(n *storagev1.CSINode) { n.Spec.Drivers = nil }},
		{
			name: "bad drivers",
			change: func(n *storagev1.CSINode) {
				n.Spec.Drivers = append(n.Spec.Drivers,
					storagev1.CSINodeDriver{},
					storagev1.CSINodeDriver{Name: "Bad_Driver", NodeID: strings.Repeat("x", maxNodeIDLength+1)},
					storagev1.CSINodeDriver{Name: strings.Repeat("a", 64), NodeID: "x", Allocatable: &storagev1.VolumeNodeResources{Count: ptr.To[int32](-1)}},
					storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: "y"},
				)
			},
			want: []fieldError{
				{field.ErrorTypeRequired, "spec.drivers[1].name"},
				{field.ErrorTypeRequired, "spec.drivers[1].nodeID"},
				{field.ErrorTypeInvalid, "spec.drivers[2].name"},
				{field.ErrorTypeInvalid, "spec.drivers[2].nodeID"},
				{field.ErrorTypeTooLong, "spec.drivers[3].name"},
				{field.ErrorTypeInvalid, "spec.drivers[3].allocatable.count"},
				{field.ErrorTypeDuplicate, "spec.drivers[4].name"},
			},
		},
		{
			// Topology key errors name the driver; a repeated message shows once.
			name: "topology keys",
			change: func(n *storagev1.CSINode) {
				n.Spec.Drivers[0].TopologyKeys = []string{"", "zone", "zone", "bad key", "bad key"}
			},
			want: []fieldError{
				{field.ErrorTypeRequired, "spec.drivers[0]"},
				{field.ErrorTypeInvalid, "spec.drivers[0]"}, // "" is no qualified name, twice over
				{field.ErrorTypeInvalid, "spec.drivers[0]"},
				{field.ErrorTypeDuplicate, "spec.drivers[0]"},
				{field.ErrorTypeInvalid, "spec.drivers[0]"},
				{field.ErrorTypeDuplicate, "spec.drivers[0]"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newCSINode()
			tt.change(n)
			if got := summarize(create(NewCSINodes(), n)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCSINodeMessages(t *testing.T) {
	n := newCSINode()
	n.Spec.Drivers[0].NodeID = ""
	n.Spec.Drivers[0].TopologyKeys = []string{"a", "a"}
	n.Spec.Drivers = append(n.Spec.Drivers, storagev1.CSINodeDriver{Name: "CSI.Example.com", NodeID: strings.Repeat("x", 257), Allocatable: &storagev1.VolumeNodeResources{Count: ptr.To[int32](-2)}})
	checkMessages(t, create(NewCSINodes(), n), []string{
		"spec.drivers[0].nodeID: Required value",
		`spec.drivers[0]: Duplicate value: "a"`,
		`spec.drivers[1].nodeID: Invalid value: "` + strings.Repeat("x", 257) + `": must be 256 characters or less`,
		"spec.drivers[1].allocatable.count: Invalid value: -2: must be greater than or equal to 0",
	})

	bad := newCSINode()
	bad.Spec.Drivers[0].Name = "bad_driver"
	bad.Spec.Drivers[0].TopologyKeys = []string{"bad key"}
	checkMessages(t, create(NewCSINodes(), bad), []string{
		`spec.drivers[0].name: Invalid value: "bad_driver": a lowercase RFC 1123 subdomain must consist of`,
		`spec.drivers[0]: Invalid value: "bad key": name part must consist of alphanumeric characters`,
	})
}

// TestCSINodeUpdate: a driver found again by name may change only its allocatable
// count; the immutability error shows the driver as upstream's internal form does.
func TestCSINodeUpdate(t *testing.T) {
	s := NewCSINodes()
	stored := newCSINode()
	stored.Generation = 3
	stored.Status.StorageHealth = []storagev1.StorageHealth{health("csi.example.com")}
	tests := []struct {
		name   string
		change func(*storagev1.CSINode)
		want   []string
	}{
		{name: "labels", change: func(n *storagev1.CSINode) { n.Labels = map[string]string{"a": "b"} }},
		{name: "allocatable", change: func(n *storagev1.CSINode) { n.Spec.Drivers[0].Allocatable.Count = ptr.To[int32](30) }},
		{name: "allocatable dropped", change: func(n *storagev1.CSINode) { n.Spec.Drivers[0].Allocatable = nil }},
		{
			name: "driver added, another removed",
			change: func(n *storagev1.CSINode) {
				n.Spec.Drivers = []storagev1.CSINodeDriver{{Name: "other.example.com", NodeID: "n"}}
			},
		},
		{
			name:   "node ID",
			change: func(n *storagev1.CSINode) { n.Spec.Drivers[0].NodeID = "i-4567" },
			want: []string{
				`spec.drivers: Invalid value: {"Name":"csi.example.com","NodeID":"i-4567","TopologyKeys":["topology.csi.example.com/zone"],"Allocatable":null}: field is immutable`,
			},
		},
		{
			name: "driver repeated with other keys",
			change: func(n *storagev1.CSINode) {
				n.Spec.Drivers = append(n.Spec.Drivers, storagev1.CSINodeDriver{Name: "csi.example.com", NodeID: "i-0123"})
			},
			want: []string{
				`spec.drivers[1].name: Duplicate value: "csi.example.com"`,
				`spec.drivers: Invalid value: {"Name":"csi.example.com","NodeID":"i-0123","TopologyKeys":null,"Allocatable":null}: field is immutable`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := stored.DeepCopy()
			next.Status = storagev1.CSINodeStatus{}
			tt.change(next)
			if got := messages(update(s, next, stored)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ValidateUpdate:\n%q\nwant:\n%q", got, tt.want)
			}
			if next.Generation != 3 || !reflect.DeepEqual(next.Status, stored.Status) {
				t.Errorf("generation %d, status %+v: want both kept", next.Generation, next.Status)
			}
		})
	}
}

// TestCSINodeStatus: a create drops the status; a status write keeps the spec, and
// drops storage health unless the stored status has some (CSIVolumeHealth is off).
func TestCSINodeStatus(t *testing.T) {
	s := NewCSINodes()
	n := newCSINode()
	n.Status.StorageHealth = []storagev1.StorageHealth{health("csi.example.com")}
	if errs := create(s, n); len(errs) != 0 || len(n.Status.StorageHealth) != 0 {
		t.Fatalf("after create: errors %v, status %+v", errs, n.Status)
	}

	write := n.DeepCopy()
	write.Spec.Drivers = nil
	write.Status.StorageHealth = []storagev1.StorageHealth{health("csi.example.com")}
	if errs := updateStatus(s, write, n); len(errs) != 0 {
		t.Errorf("ValidateStatusUpdate: %v", errs)
	}
	if !reflect.DeepEqual(write.Spec, n.Spec) || write.Status.StorageHealth != nil {
		t.Errorf("after a status write: spec %+v, status %+v", write.Spec, write.Status)
	}

	stored := n.DeepCopy()
	stored.Status.StorageHealth = []storagev1.StorageHealth{health("csi.example.com")}
	kept := stored.DeepCopy()
	kept.Status.StorageHealth = append(kept.Status.StorageHealth, health("other.example.com",
		storagev1.StorageHealthCondition{Status: storagev1.StorageDegraded, Reason: "SlowDisk"}))
	if errs := updateStatus(s, kept, stored); len(errs) != 0 {
		t.Errorf("ValidateStatusUpdate: %v", errs)
	}
	if len(kept.Status.StorageHealth) != 2 {
		t.Errorf("storage health %+v, want both entries kept", kept.Status.StorageHealth)
	}
}

func TestValidateCSINodeStatus(t *testing.T) {
	stored := newCSINode()
	stored.Status.StorageHealth = []storagev1.StorageHealth{health("csi.example.com")}
	many := make([]storagev1.StorageHealthCondition, maxHealthConditions+1)
	next := stored.DeepCopy()
	next.Status.StorageHealth = []storagev1.StorageHealth{
		health("csi.example.com", storagev1.StorageHealthCondition{
			Status:     "Broken",
			Reason:     "bad reason",
			Message:    strings.Repeat("m", maxHealthMessageLength+1),
			AccessMode: ptr.To(corev1.PersistentVolumeAccessMode("ReadSometimes")),
			VolumeMode: ptr.To(corev1.PersistentVolumeMode("Object")),
		}, storagev1.StorageHealthCondition{Status: storagev1.StorageUnreachable}),
		health("csi.example.com", many...),
		health(""),
	}
	checkMessages(t, updateStatus(NewCSINodes(), next, stored), []string{
		`status.storageHealth[0].healthConditions[0].status: Unsupported value: "Broken": supported values: "StorageDegraded", "StorageUnreachable"`,
		`status.storageHealth[0].healthConditions[0].reason: Invalid value: "bad reason": a condition reason must start with alphabetic character`,
		"status.storageHealth[0].healthConditions[0].message: Too long: may not be more than 1024 bytes",
		`status.storageHealth[0].healthConditions[0].accessMode: Unsupported value: "ReadSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`,
		`status.storageHealth[0].healthConditions[0].volumeMode: Unsupported value: "Object": supported values: "Filesystem", "Block"`,
		"status.storageHealth[0].healthConditions[1].reason: Required value",
		`status.storageHealth[1]: Duplicate value: "csi.example.com"`,
		"status.storageHealth[1].healthConditions: Too many: 17: must have at most 16 items",
		"status.storageHealth[2].name: Required value",
	})
}

func TestCSINodeTable(t *testing.T) {
	s := NewCSINodes()
	if got, want := columnNames(s.Columns()), []string{"Name", "Drivers", "Age"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}
	n := newCSINode()
	n.CreationTimestamp = metav1.NewTime(now.Add(-30 * time.Second))
	n.Spec.Drivers = append(n.Spec.Drivers, storagev1.CSINodeDriver{Name: "other.example.com"})
	if got, want := s.Row(n, now), []interface{}{"node-1", int64(2), "30s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
	n.Spec.Drivers = nil
	if got, want := s.Row(n, now), []interface{}{"node-1", int64(0), "30s"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
}
