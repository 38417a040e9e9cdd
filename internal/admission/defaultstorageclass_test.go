package admission

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestDefaultStorageClass(t *testing.T) {
	now := time.Now()
	class := func(name string, def bool, age time.Duration) *storagev1.StorageClass {
		sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(now.Add(-age))}}
		if def {
			sc.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
		}
		return sc
	}
	classes := []*storagev1.StorageClass{class("old-default", true, time.Hour), class("plain", false, 0), class("new-default", true, time.Minute)}
	d := DefaultStorageClass{Classes: func() []*storagev1.StorageClass { return classes }}
	claim := func(mut func(*corev1.PersistentVolumeClaim)) *corev1.PersistentVolumeClaim {
		c := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "c"}}
		if mut != nil {
			mut(c)
		}
		return c
	}
	ctx := context.Background()
	c := claim(nil)
	if err := d.AdmitCreate(ctx, c); err != nil || c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != "new-default" {
		t.Fatalf("a claim without a class got %v (%v); want the newest default", c.Spec.StorageClassName, err)
	}
	for name, c := range map[string]*corev1.PersistentVolumeClaim{
		"no class chosen": claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = ptr.To("") }),
		"a class named":   claim(func(c *corev1.PersistentVolumeClaim) { c.Spec.StorageClassName = ptr.To("plain") }),
		"the beta annotation": claim(func(c *corev1.PersistentVolumeClaim) {
			c.Annotations = map[string]string{"volume.beta.kubernetes.io/storage-class": "plain"}
		}),
	} {
		before := c.Spec.StorageClassName
		if err := d.AdmitCreate(ctx, c); err != nil || c.Spec.StorageClassName != before {
			t.Errorf("%s: class became %v (%v)", name, c.Spec.StorageClassName, err)
		}
	}
	classes = classes[1:2] // no default
	if c := claim(nil); d.AdmitCreate(ctx, c) != nil || c.Spec.StorageClassName != nil {
		t.Errorf("without a default a claim got class %v", c.Spec.StorageClassName)
	}
}
