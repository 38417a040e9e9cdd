package persistentvolume

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

func pv(name, size, class string, policy corev1.PersistentVolumeReclaimPolicy, ref *corev1.ObjectReference, phase corev1.PersistentVolumePhase) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PersistentVolumeSpec{Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, StorageClassName: class, ClaimRef: ref,
			PersistentVolumeReclaimPolicy: policy,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/" + name}}},
		Status: corev1.PersistentVolumeStatus{Phase: phase}}
}

func pvc(name, size, class string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(class), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
}

func start(t *testing.T, objs ...runtime.Object) (*Controller, *fake.Clientset, *record.FakeRecorder) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cs := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(cs, 0)
	c := New(cs, factory, slog.New(slog.DiscardHandler))
	rec := record.NewFakeRecorder(100)
	c.recorder = rec
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	t.Cleanup(func() { cancel(); factory.Shutdown() })
	return c, cs, rec
}

func events(rec *record.FakeRecorder) string {
	var out []string
	for {
		select {
		case e := <-rec.Events:
			out = append(out, e)
		default:
			return strings.Join(out, "\n")
		}
	}
}

// TestStaticBinding: a claim gets the smallest Available volume that fits it; both are
// Bound, with upstream's annotations, the claim's capacity and current volume attributes
// class the volume's.
func TestStaticBinding(t *testing.T) {
	small := pv("small", "2Gi", "manual", corev1.PersistentVolumeReclaimRetain, nil, corev1.VolumeAvailable)
	small.Spec.VolumeAttributesClassName = ptr.To("gold")
	big := pv("big", "5Gi", "manual", corev1.PersistentVolumeReclaimRetain, nil, corev1.VolumeAvailable)
	big.Spec.VolumeAttributesClassName = ptr.To("gold")
	gold := pvc("data", "1Gi", "manual")
	gold.Spec.VolumeAttributesClassName = ptr.To("gold")
	c, cs, _ := start(t, big, small,
		pv("tiny", "512Mi", "manual", corev1.PersistentVolumeReclaimRetain, nil, corev1.VolumeAvailable),
		pv("other", "2Gi", "fast", corev1.PersistentVolumeReclaimRetain, nil, corev1.VolumeAvailable),
		gold)
	ctx := context.Background()
	if _, err := c.sync(ctx, "pvc/ns/data"); err != nil {
		t.Fatal(err)
	}
	claim, _ := cs.CoreV1().PersistentVolumeClaims("ns").Get(ctx, "data", metav1.GetOptions{})
	vol, _ := cs.CoreV1().PersistentVolumes().Get(ctx, "small", metav1.GetOptions{})
	if claim.Spec.VolumeName != "small" || claim.Status.Phase != corev1.ClaimBound || claim.Annotations[volume.AnnBindCompleted] != "yes" ||
		claim.Annotations[volume.AnnBoundByController] != "yes" || claim.Status.Capacity.Storage().String() != "2Gi" ||
		ptr.Deref(claim.Status.CurrentVolumeAttributesClassName, "") != "gold" {
		t.Fatalf("claim: %s %s %v %v", claim.Spec.VolumeName, claim.Status.Phase, claim.Annotations, claim.Status.Capacity)
	}
	if vol.Spec.ClaimRef == nil || vol.Spec.ClaimRef.UID != "uid-data" || vol.Status.Phase != corev1.VolumeBound {
		t.Fatalf("volume: %+v %s", vol.Spec.ClaimRef, vol.Status.Phase)
	}
}

// TestWaitingClaims: a claim of a WaitForFirstConsumer class waits for the scheduler,
// one of a class with a provisioner is handed to it, one with no class and no volume
// says so; all stay Pending.
func TestWaitingClaims(t *testing.T) {
	wait := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "wait"}, Provisioner: "example.com/disk",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
	now := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "now"}, Provisioner: "example.com/disk",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate)}
	c, cs, rec := start(t, wait, now, pvc("later", "1Gi", "wait"), pvc("dynamic", "1Gi", "now"), pvc("none", "1Gi", ""))
	ctx := context.Background()
	for _, key := range []string{"pvc/ns/later", "pvc/ns/dynamic", "pvc/ns/none"} {
		if _, err := c.sync(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	got := events(rec)
	for _, want := range []string{
		"Normal WaitForFirstConsumer waiting for first consumer to be created before binding",
		"Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'example.com/disk' or manually by the system administrator.",
		"Normal FailedBinding no persistent volumes available for this claim and no storage class is set",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no event %q in:\n%s", want, got)
		}
	}
	dyn, _ := cs.CoreV1().PersistentVolumeClaims("ns").Get(ctx, "dynamic", metav1.GetOptions{})
	if dyn.Annotations[volume.AnnStorageProvisioner] != "example.com/disk" || dyn.Annotations[volume.AnnBetaStorageProvisioner] != "example.com/disk" {
		t.Errorf("provisioner annotations: %v", dyn.Annotations)
	}
	later, _ := cs.CoreV1().PersistentVolumeClaims("ns").Get(ctx, "later", metav1.GetOptions{})
	if later.Annotations[volume.AnnStorageProvisioner] != "" || later.Status.Phase != corev1.ClaimPending {
		t.Errorf("a claim waiting for its first consumer: %v %s", later.Annotations, later.Status.Phase)
	}
}

// TestReclaim: a volume whose claim is gone is Released; Retain keeps it so, a Delete
// volume no provisioner made fails with VolumeFailedDelete, one a provisioner made is
// left to it.
func TestReclaim(t *testing.T) {
	gone := func() *corev1.ObjectReference {
		return &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "ns", Name: "gone", UID: "uid-gone"}
	}
	provisioned := pv("made", "1Gi", "x", corev1.PersistentVolumeReclaimDelete, gone(), corev1.VolumeBound)
	provisioned.Annotations = map[string]string{volume.AnnDynamicallyProvisioned: "example.com/disk"}
	c, cs, rec := start(t, pv("kept", "1Gi", "x", corev1.PersistentVolumeReclaimRetain, gone(), corev1.VolumeBound),
		pv("static", "1Gi", "x", corev1.PersistentVolumeReclaimDelete, gone(), corev1.VolumeBound), provisioned)
	ctx := context.Background()
	for _, key := range []string{"pv/kept", "pv/static", "pv/made"} {
		if _, err := c.sync(ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	phase := func(name string) corev1.PersistentVolumePhase {
		v, _ := cs.CoreV1().PersistentVolumes().Get(ctx, name, metav1.GetOptions{})
		return v.Status.Phase
	}
	if phase("kept") != corev1.VolumeReleased || phase("made") != corev1.VolumeReleased {
		t.Errorf("kept %s, made %s; want Released", phase("kept"), phase("made"))
	}
	// The phase written, the next sync (from the cache) reclaims.
	static, _ := cs.CoreV1().PersistentVolumes().Get(ctx, "static", metav1.GetOptions{})
	if err := c.syncVolume(ctx, static); err != nil {
		t.Fatal(err)
	}
	if phase("static") != corev1.VolumeFailed {
		t.Errorf("static Delete volume: %s, want Failed", phase("static"))
	}
	if got := events(rec); !strings.Contains(got, `Warning VolumeFailedDelete error getting deleter volume plugin for volume "static": no deletable volume plugin matched`) {
		t.Errorf("events:\n%s", got)
	}
}
