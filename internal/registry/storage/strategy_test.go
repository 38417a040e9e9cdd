package storage

import (
	"reflect"
	"strings"
	"testing"
	"time"

	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/podium/podium/internal/registry"
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

func messages(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// checkMessages compares errs with want, each error starting with its wanted prefix.
func checkMessages(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	got := messages(errs)
	if len(got) != len(want) {
		t.Fatalf("errors:\n%q\nwant:\n%q", got, want)
	}
	for i := range got {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("error %d = %q, want it to start with %q", i, got[i], want[i])
		}
	}
}

// create runs a create's steps on obj and returns the validation errors.
func create(s registry.Strategy, obj runtime.Object) field.ErrorList {
	s.PrepareForCreate(obj)
	s.Default(obj)
	return s.Validate(obj)
}

// update runs an update's steps on obj, as the API server does, and returns the
// validation errors.
func update(s registry.Strategy, obj, old runtime.Object) field.ErrorList {
	obj.(metav1.Object).SetGeneration(old.(metav1.Object).GetGeneration())
	s.PrepareForUpdate(obj, old)
	s.Default(obj)
	return s.ValidateUpdate(obj, old)
}

// updateStatus runs a status write's steps on obj and returns the validation errors.
func updateStatus(s registry.Strategy, obj, old runtime.Object) field.ErrorList {
	obj.(metav1.Object).SetGeneration(old.(metav1.Object).GetGeneration())
	s.PrepareForStatusUpdate(obj, old)
	s.Default(obj)
	return s.ValidateStatusUpdate(obj, old)
}

func TestInfo(t *testing.T) {
	info := func(kind, resource, singular string, shortNames []string, subresources []string) registry.Info {
		return registry.Info{Group: "storage.k8s.io", Version: "v1", Kind: kind, ListKind: kind + "List",
			Resource: resource, Singular: singular, ShortNames: shortNames, Subresources: subresources}
	}
	tests := []struct {
		name     string
		strategy registry.Strategy
		want     registry.Info
		obj      runtime.Object
		list     runtime.Object
	}{
		{"storage classes", NewStorageClasses(), info("StorageClass", "storageclasses", "storageclass", []string{"sc"}, nil), &storagev1.StorageClass{}, &storagev1.StorageClassList{}},
		{"csi drivers", NewCSIDrivers(), info("CSIDriver", "csidrivers", "csidriver", nil, nil), &storagev1.CSIDriver{}, &storagev1.CSIDriverList{}},
		{"csi nodes", NewCSINodes(), info("CSINode", "csinodes", "csinode", nil, []string{"status"}), &storagev1.CSINode{}, &storagev1.CSINodeList{}},
		{"volume attachments", NewVolumeAttachments(), info("VolumeAttachment", "volumeattachments", "volumeattachment", nil, []string{"status"}), &storagev1.VolumeAttachment{}, &storagev1.VolumeAttachmentList{}},
		{"volume attributes classes", NewVolumeAttributesClasses(), info("VolumeAttributesClass", "volumeattributesclasses", "volumeattributesclass", []string{"vac"}, nil), &storagev1.VolumeAttributesClass{}, &storagev1.VolumeAttributesClassList{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.strategy.Info(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Info = %+v, want %+v", got, tt.want)
			}
			if got := tt.strategy.New(); reflect.TypeOf(got) != reflect.TypeOf(tt.obj) {
				t.Errorf("New = %T, want %T", got, tt.obj)
			}
			if got := tt.strategy.NewList(); reflect.TypeOf(got) != reflect.TypeOf(tt.list) {
				t.Errorf("NewList = %T, want %T", got, tt.list)
			}
			if msgs := tt.strategy.ValidateName("csi.example-1.com", false); len(msgs) != 0 {
				t.Errorf("ValidateName: %v", msgs)
			}
			if msgs := tt.strategy.ValidateName("Bad_Name", false); len(msgs) == 0 {
				t.Error("ValidateName accepted a name that is no DNS subdomain")
			}
		})
	}
}

func TestFields(t *testing.T) {
	want := fields.Set{"metadata.name": "x"}
	meta := metav1.ObjectMeta{Name: "x", Namespace: "ignored"}
	for _, tt := range []struct {
		strategy registry.Strategy
		obj      runtime.Object
	}{
		{NewStorageClasses(), &storagev1.StorageClass{ObjectMeta: meta}},
		{NewCSIDrivers(), &storagev1.CSIDriver{ObjectMeta: meta}},
		{NewCSINodes(), &storagev1.CSINode{ObjectMeta: meta}},
		{NewVolumeAttachments(), &storagev1.VolumeAttachment{ObjectMeta: meta}},
		{NewVolumeAttributesClasses(), &storagev1.VolumeAttributesClass{ObjectMeta: meta}},
	} {
		if got := tt.strategy.Fields(tt.obj); !reflect.DeepEqual(got, want) {
			t.Errorf("%T Fields = %v, want %v", tt.obj, got, want)
		}
	}
}

// columnNames returns the columns' names, marking those without a description.
func columnNames(cols []metav1.TableColumnDefinition) []string {
	var names []string
	for _, c := range cols {
		if c.Description == "" {
			names = append(names, c.Name+" (undescribed)")
			continue
		}
		names = append(names, c.Name)
	}
	return names
}
