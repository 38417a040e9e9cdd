package storage

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

// newAttachment returns a valid VolumeAttachment of a persistent volume.
func newAttachment() *storagev1.VolumeAttachment {
	return &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: "csi-0123"},
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: "csi.example.com",
			NodeName: "node-1",
			Source:   storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To("pv-1")},
		},
	}
}

// inlineSpec returns a valid inline volume spec.
func inlineSpec() *corev1.PersistentVolumeSpec {
	return &corev1.PersistentVolumeSpec{
		AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeSource: corev1.PersistentVolumeSource{
			CSI: &corev1.CSIPersistentVolumeSource{Driver: "csi.example.com", VolumeHandle: "vol-1"},
		},
	}
}

func TestValidateVolumeAttachment(t *testing.T) {
	tests := []struct {
		name   string
		change func(*storagev1.VolumeAttachment)
		want   []fieldError
	}{
		{name: "valid", change: func(*storagev1.VolumeAttachment) {}},
		{name: "attacher in upper case", change: func(va *storagev1.VolumeAttachment) { va.Spec.Attacher = "CSI.Example.com" }},
		{
			name: "inline volume",
			change: func(va *storagev1.VolumeAttachment) {
				va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: inlineSpec()}
				va.Spec.Source.InlineVolumeSpec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRetain
				va.Spec.Source.InlineVolumeSpec.VolumeMode = ptr.To(corev1.PersistentVolumeFilesystem)
				va.Spec.Source.InlineVolumeSpec.CSI.NodePublishSecretRef = &corev1.SecretReference{Name: "creds", Namespace: "kube-system"}
			},
		},
		{
			name:   "no source",
			change: func(va *storagev1.VolumeAttachment) { va.Spec.Source = storagev1.VolumeAttachmentSource{} },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.source"}},
		},
		{
			name:   "both sources",
			change: func(va *storagev1.VolumeAttachment) { va.Spec.Source.InlineVolumeSpec = inlineSpec() },
			want:   []fieldError{{field.ErrorTypeForbidden, "spec.source"}},
		},
		{
			name:   "empty volume name",
			change: func(va *storagev1.VolumeAttachment) { va.Spec.Source.PersistentVolumeName = ptr.To("") },
			want:   []fieldError{{field.ErrorTypeRequired, "spec.source.persistentVolumeName"}, {field.ErrorTypeInvalid, "spec.source.persistentVolumeName"}},
		},
		{
			name: "bad names",
			change: func(va *storagev1.VolumeAttachment) {
				va.Spec.Source.PersistentVolumeName = ptr.To("PV_1")
				va.Spec.NodeName = ""
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.nodeName"}, {field.ErrorTypeInvalid, "spec.source.persistentVolumeName"}},
		},
		{
			// The declarative attacher checks come last.
			name: "no attacher",
			change: func(va *storagev1.VolumeAttachment) {
				va.Spec.Attacher = ""
				va.Spec.NodeName = "Node_1"
			},
			want: []fieldError{{field.ErrorTypeInvalid, "spec.nodeName"}, {field.ErrorTypeRequired, "spec.attacher"}},
		},
		{
			name:   "attacher too long",
			change: func(va *storagev1.VolumeAttachment) { va.Spec.Attacher = strings.Repeat("a", 64) },
			want:   []fieldError{{field.ErrorTypeTooLong, "spec.attacher"}},
		},
		{
			name: "bad inline volume",
			change: func(va *storagev1.VolumeAttachment) {
				spec := inlineSpec()
				spec.ClaimRef = &corev1.ObjectReference{Name: "claim"}
				spec.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
				spec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadWriteOnce, "Sometimes"}
				spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
				spec.NodeAffinity = &corev1.VolumeNodeAffinity{}
				spec.StorageClassName = "fast"
				spec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
				spec.CSI.Driver = ""
				spec.CSI.VolumeHandle = ""
				spec.CSI.ControllerPublishSecretRef = &corev1.SecretReference{Name: "Bad_Name", Namespace: "bad.ns"}
				va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: spec}
			},
			want: []fieldError{
				{field.ErrorTypeForbidden, "spec.source.inlineVolumeSpec.claimRef"},
				{field.ErrorTypeForbidden, "spec.source.inlineVolumeSpec.capacity"},
				{field.ErrorTypeNotSupported, "spec.source.inlineVolumeSpec.accessModes"},
				{field.ErrorTypeForbidden, "spec.source.inlineVolumeSpec.accessModes"},
				{field.ErrorTypeForbidden, "spec.source.inlineVolumeSpec.persistentVolumeReclaimPolicy"},
				{field.ErrorTypeForbidden, "spec.source.inlineVolumeSpec.nodeAffinity"},
				{field.ErrorTypeRequired, "spec.source.inlineVolumeSpec.csi.driver"},
				{field.ErrorTypeRequired, "spec.source.inlineVolumeSpec.csi.volumeHandle"},
				{field.ErrorTypeInvalid, "spec.source.inlineVolumeSpec.csi.controllerPublishSecretRef.name"},
				{field.ErrorTypeInvalid, "spec.source.inlineVolumeSpec.csi.controllerPublishSecretRef.namespace"},
				{field.ErrorTypeForbidden, "spec.source.inlineVolumeSpec.storageClassName"},
				{field.ErrorTypeForbidden, "spec.source.inlineVolumeSpec.volumeMode"},
			},
		},
		{
			name: "inline volume not CSI",
			change: func(va *storagev1.VolumeAttachment) {
				spec := inlineSpec()
				spec.CSI = nil
				spec.AccessModes = nil
				va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: spec}
			},
			want: []fieldError{
				{field.ErrorTypeRequired, "spec.source.inlineVolumeSpec.csi"},
				{field.ErrorTypeRequired, "spec.source.inlineVolumeSpec.accessModes"},
				{field.ErrorTypeRequired, "spec.source.inlineVolumeSpec"},
			},
		},
		{
			name: "inline volume with two sources",
			change: func(va *storagev1.VolumeAttachment) {
				spec := inlineSpec()
				spec.NFS = &corev1.NFSVolumeSource{Server: "nfs.example.com", Path: "/exports"}
				va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: spec}
			},
			want: []fieldError{{field.ErrorTypeForbidden, "spec.source.inlineVolumeSpec.csi"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			va := newAttachment()
			tt.change(va)
			if got := summarize(create(NewVolumeAttachments(), va)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Validate = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestVolumeAttachmentAttacherMessages: on create the attacher is checked by upstream's
// declarative rules, whose messages differ from the handwritten ones (a DNS subdomain
// in either case, a length counted in characters) and come last.
func TestVolumeAttachmentAttacherMessages(t *testing.T) {
	const badNode = `spec.nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain must consist of`
	tests := []struct {
		name     string
		attacher string
		want     []string
	}{
		{name: "empty", attacher: "", want: []string{badNode, "spec.attacher: Required value"}},
		{
			name:     "bad",
			attacher: "csi_driver",
			want:     []string{badNode, `spec.attacher: Invalid value: "csi_driver": an RFC 1123 subdomain must consist of alphanumeric characters`},
		},
		{name: "long", attacher: strings.Repeat("a", 64), want: []string{badNode, "spec.attacher: Too long: may not be more than 63 characters"}},
		{
			// 80 bytes but 40 characters: too long only for the handwritten check, which
			// then stands, in its place.
			name:     "long in bytes only",
			attacher: strings.Repeat("é", 40),
			want: []string{
				"spec.attacher: Too long: may not be more than 63 bytes",
				badNode,
				`spec.attacher: Invalid value: "` + strings.Repeat("é", 40) + `": an RFC 1123 subdomain must consist of`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			va := newAttachment()
			va.Spec.Attacher = tt.attacher
			va.Spec.NodeName = "Node_1"
			checkMessages(t, create(NewVolumeAttachments(), va), tt.want)
		})
	}
}

func TestVolumeAttachmentMessages(t *testing.T) {
	va := newAttachment()
	va.Spec.Source.InlineVolumeSpec = inlineSpec()
	checkMessages(t, create(NewVolumeAttachments(), va), []string{
		"spec.source: Forbidden: must specify exactly one of inlineVolumeSpec and persistentVolumeName",
	})

	va = newAttachment()
	va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: inlineSpec()}
	va.Spec.Source.InlineVolumeSpec.AccessModes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod, corev1.ReadOnlyMany}
	va.Spec.Source.InlineVolumeSpec.Capacity = corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}
	va.Spec.Source.InlineVolumeSpec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimRecycle
	va.Spec.Source.InlineVolumeSpec.VolumeMode = ptr.To(corev1.PersistentVolumeBlock)
	checkMessages(t, create(NewVolumeAttachments(), va), []string{
		"spec.source.inlineVolumeSpec.capacity: Forbidden: may not be specified in the context of inline volumes",
		"spec.source.inlineVolumeSpec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes",
		"spec.source.inlineVolumeSpec.persistentVolumeReclaimPolicy: Forbidden: may only be Retain in the context of inline volumes",
		"spec.source.inlineVolumeSpec.volumeMode: Forbidden: may not specify volumeMode other than Filesystem in the context of inline volumes",
	})
}

// TestVolumeAttachmentUpdate: the spec may not change, reported last with no value; a
// kept spec with a bad attacher reports the handwritten errors; the status is kept.
func TestVolumeAttachmentUpdate(t *testing.T) {
	s := NewVolumeAttachments()
	stored := newAttachment()
	stored.Generation = 2
	stored.Status = storagev1.VolumeAttachmentStatus{Attached: true, AttachmentMetadata: map[string]string{"lun": "1"}}
	badAttacher := stored.DeepCopy()
	badAttacher.Spec.Attacher = strings.Repeat("é", 40)
	tests := []struct {
		name   string
		old    *storagev1.VolumeAttachment
		change func(*storagev1.VolumeAttachment)
		want   []string
	}{
		{name: "labels", old: stored, change: func(va *storagev1.VolumeAttachment) { va.Labels = map[string]string{"a": "b"} }},
		{
			name:   "node",
			old:    stored,
			change: func(va *storagev1.VolumeAttachment) { va.Spec.NodeName = "node-2" },
			want:   []string{"spec: Invalid value: null: field is immutable"},
		},
		{
			name:   "attacher emptied",
			old:    stored,
			change: func(va *storagev1.VolumeAttachment) { va.Spec.Attacher = "" },
			want:   []string{"spec.attacher: Required value", "spec: Invalid value: null: field is immutable"},
		},
		{
			name:   "stored bad attacher",
			old:    badAttacher,
			change: func(va *storagev1.VolumeAttachment) { va.Annotations = map[string]string{"a": "b"} },
			want: []string{
				"spec.attacher: Too long: may not be more than 63 bytes",
				`spec.attacher: Invalid value: "` + strings.Repeat("é", 40) + `": a lowercase RFC 1123 subdomain must consist of`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next := tt.old.DeepCopy()
			next.Status = storagev1.VolumeAttachmentStatus{}
			tt.change(next)
			checkMessages(t, update(s, next, tt.old), tt.want)
			if next.Generation != 2 || !reflect.DeepEqual(next.Status, tt.old.Status) {
				t.Errorf("generation %d, status %+v: want both kept", next.Generation, next.Status)
			}
		})
	}
}

// TestVolumeAttachmentStatus: a create drops the status; a status write keeps the spec
// and error codes, and is checked as an update.
func TestVolumeAttachmentStatus(t *testing.T) {
	s := NewVolumeAttachments()
	va := newAttachment()
	va.Status.Attached = true
	if errs := create(s, va); len(errs) != 0 || va.Status.Attached {
		t.Fatalf("after create: errors %v, status %+v", errs, va.Status)
	}

	write := va.DeepCopy()
	write.Spec.NodeName = "ignored"
	write.Status = storagev1.VolumeAttachmentStatus{
		Attached:           true,
		AttachmentMetadata: map[string]string{"devicePath": "/dev/xvdf"},
		DetachError:        &storagev1.VolumeError{Time: metav1.NewTime(now), Message: "busy", ErrorCode: ptr.To[int32](9)},
	}
	want := write.Status.DeepCopy()
	if errs := updateStatus(s, write, va); len(errs) != 0 {
		t.Errorf("ValidateStatusUpdate: %v", errs)
	}
	if write.Spec.NodeName != "node-1" || !reflect.DeepEqual(write.Status, *want) {
		t.Errorf("after a status write: spec %+v, status %+v", write.Spec, write.Status)
	}

	bad := va.DeepCopy()
	bad.Status = storagev1.VolumeAttachmentStatus{
		AttachmentMetadata: map[string]string{"k": strings.Repeat("v", maxAttachmentMetadataSize)},
		AttachError:        &storagev1.VolumeError{Message: strings.Repeat("m", maxVolumeErrorMessageLength+1), ErrorCode: ptr.To[int32](-1)},
		DetachError:        &storagev1.VolumeError{ErrorCode: ptr.To[int32](0)},
	}
	checkMessages(t, updateStatus(s, bad, va), []string{
		"status.attachmentMetadata: Too long: may not be more than 262144 bytes",
		"status.attachError.message: Too long: may not be more than 1024 bytes",
		"status.attachError.errorCode: Invalid value: -1: must be between 0 and 2147483647, inclusive",
	})
}

func TestVolumeAttachmentTable(t *testing.T) {
	s := NewVolumeAttachments()
	if got, want := columnNames(s.Columns()), []string{"Name", "Attacher", "PV", "Node", "Attached", "Age"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Columns = %v, want %v", got, want)
	}
	va := newAttachment()
	va.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Minute))
	va.Status.Attached = true
	if got, want := s.Row(va, now), []interface{}{"csi-0123", "csi.example.com", "pv-1", "node-1", true, "3m"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
	va.Spec.Source = storagev1.VolumeAttachmentSource{InlineVolumeSpec: inlineSpec()}
	va.Status.Attached = false
	if got, want := s.Row(va, now), []interface{}{"csi-0123", "csi.example.com", "", "node-1", false, "3m"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Row = %#v, want %#v", got, want)
	}
}
