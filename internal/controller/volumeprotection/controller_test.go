package volumeprotection

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/podium/podium/internal/admission"
)

func TestRelease(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	now := metav1.Now()
	claim := func(name string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: "u-" + "name",
			DeletionTimestamp: &now, Finalizers: []string{admission.ClaimProtectionFinalizer, "example.com/keep"}}}
	}
	user := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{NodeName: "n1",
		Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "used"}}}}}}
	bound := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "bound", DeletionTimestamp: &now, Finalizers: []string{admission.VolumeProtectionFinalizer}},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}}
	released := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "released", DeletionTimestamp: &now, Finalizers: []string{admission.VolumeProtectionFinalizer}},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeReleased}}
	cs := fake.NewClientset(claim("used"), claim("free"), user, bound, released)
	factory := informers.NewSharedInformerFactory(cs, 0)
	c := New(cs, factory, slog.New(slog.DiscardHandler))
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	defer factory.Shutdown()
	defer cancel()
	for _, key := range []string{"pvc/ns/used", "pvc/ns/free", "pv/bound", "pv/released"} {
		if _, err := c.sync(ctx, key); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}
	has := func(finalizers []string, f string) bool { return slices.Contains(finalizers, f) }
	used, _ := cs.CoreV1().PersistentVolumeClaims("ns").Get(ctx, "used", metav1.GetOptions{})
	free, _ := cs.CoreV1().PersistentVolumeClaims("ns").Get(ctx, "free", metav1.GetOptions{})
	if !has(used.Finalizers, admission.ClaimProtectionFinalizer) {
		t.Error("a claim a scheduled pod uses lost its protection")
	}
	if has(free.Finalizers, admission.ClaimProtectionFinalizer) || !has(free.Finalizers, "example.com/keep") {
		t.Errorf("an unused claim being deleted: finalizers %v", free.Finalizers)
	}
	b, _ := cs.CoreV1().PersistentVolumes().Get(ctx, "bound", metav1.GetOptions{})
	r, _ := cs.CoreV1().PersistentVolumes().Get(ctx, "released", metav1.GetOptions{})
	if !has(b.Finalizers, admission.VolumeProtectionFinalizer) || has(r.Finalizers, admission.VolumeProtectionFinalizer) {
		t.Errorf("volumes: bound %v, released %v", b.Finalizers, r.Finalizers)
	}
}
