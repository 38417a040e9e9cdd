package admission

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestClaimResize(t *testing.T) {
	classes := map[string]*storagev1.StorageClass{
		"grows": {ObjectMeta: metav1.ObjectMeta{Name: "grows"}, AllowVolumeExpansion: ptr.To(true)},
		"fixed": {ObjectMeta: metav1.ObjectMeta{Name: "fixed"}},
	}
	r := ClaimResize{Class: func(name string) *storagev1.StorageClass { return classes[name] }}
	claim := func(class, size string, phase corev1.PersistentVolumeClaimPhase) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(class),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: apiresource.MustParse(size)}}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: phase}}
	}
	for _, tc := range []struct {
		name     string
		new, old *corev1.PersistentVolumeClaim
		want     string
	}{
		{"grows", claim("grows", "2Gi", corev1.ClaimBound), claim("grows", "1Gi", corev1.ClaimBound), ""},
		{"same size", claim("fixed", "1Gi", corev1.ClaimBound), claim("fixed", "1Gi", corev1.ClaimBound), ""},
		{"class forbids", claim("fixed", "2Gi", corev1.ClaimBound), claim("fixed", "1Gi", corev1.ClaimBound), "only dynamically provisioned pvc can be resized"},
		{"not bound", claim("grows", "2Gi", corev1.ClaimPending), claim("grows", "1Gi", corev1.ClaimPending), "Only bound persistent volume claims can be expanded"},
	} {
		err := r.ValidateUpdate(context.Background(), tc.new, tc.old)
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), `persistentvolumeclaims "c" is forbidden: `+tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
