package statefulset

import (
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

func TestOrderedReadyCreatesInOrder(t *testing.T) {
	h := newHarness(t, newSet(3))
	h.mustSync()
	h.wantPods("web-0")
	h.mustSync()
	h.wantPods("web-0") // pending
	h.phase("web-0", corev1.PodRunning)
	h.mustSync()
	h.wantPods("web-0") // running, not ready
	h.ready("web-0")
	h.mustSync()
	h.wantPods("web-0", "web-1")
	h.ready("web-1")
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2")

	set := h.set()
	p := h.pod("web-1")
	for k, want := range map[string]string{"app": "web", appsv1.StatefulSetPodNameLabel: "web-1", appsv1.PodIndexLabel: "1",
		appsv1.StatefulSetRevisionLabel: set.Status.UpdateRevision} {
		if p.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, p.Labels[k], want)
		}
	}
	if p.Spec.Hostname != "web-1" || p.Spec.Subdomain != "web-svc" {
		t.Errorf("hostname %q subdomain %q", p.Spec.Hostname, p.Spec.Subdomain)
	}
	if ref := metav1.GetControllerOf(p); ref == nil || ref.UID != "set-uid" || ref.Kind != "StatefulSet" || ref.APIVersion != "apps/v1" {
		t.Errorf("controller %+v", ref)
	}
	if events := h.drainEvents(); !hasEvent(events, "Normal SuccessfulCreate create Pod web-0 in StatefulSet web successful") {
		t.Errorf("events %q", events)
	}
}

func TestOrderedReadyWaitsMinReadySeconds(t *testing.T) {
	h := newHarness(t, newSet(2, func(s *appsv1.StatefulSet) { s.Spec.MinReadySeconds = 10 }))
	h.mustSync()
	h.ready("web-0")
	again, err := h.sync()
	if err != nil {
		t.Fatal(err)
	}
	h.wantPods("web-0")
	if again != 10*time.Second {
		t.Errorf("looks again after %v, want 10s", again)
	}
	if st := h.set().Status; st.ReadyReplicas != 1 || st.AvailableReplicas != 0 {
		t.Errorf("ready %d available %d, want 1 and 0", st.ReadyReplicas, st.AvailableReplicas)
	}
	h.clock.Step(11 * time.Second)
	h.mustSync()
	h.wantPods("web-0", "web-1")
}

func TestParallelCreatesAll(t *testing.T) {
	h := newHarness(t, newSet(3, parallel))
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2")
}

func TestOrdinalsStart(t *testing.T) {
	h := newHarness(t, newSet(2, parallel, func(s *appsv1.StatefulSet) { s.Spec.Ordinals = &appsv1.StatefulSetOrdinals{Start: 5} }))
	h.mustSync()
	h.wantPods("web-5", "web-6")
}

func TestScaleDownFromTheTop(t *testing.T) {
	h := newHarness(t, newSet(3))
	h.rollOut(3)
	h.updateSet(func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2*")
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2*") // waits for web-2 to go
	h.gone("web-2")
	h.mustSync()
	h.wantPods("web-0", "web-1*")
	h.gone("web-1")
	h.mustSync()
	h.wantPods("web-0")
	if events := h.drainEvents(); !hasEvent(events, "Normal SuccessfulDelete delete Pod web-2 in StatefulSet web successful") {
		t.Errorf("events %q", events)
	}
}

func TestScaleDownHaltsOnUnhealthyPod(t *testing.T) {
	h := newHarness(t, newSet(3))
	h.rollOut(3)
	for _, name := range []string{"web-0", "web-1", "web-2"} {
		h.updatePod(name, func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse })
	}
	h.updateSet(func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](0) })
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2")
}

func TestParallelScaleDown(t *testing.T) {
	h := newHarness(t, newSet(3, parallel))
	h.mustSync()
	h.updateSet(func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	h.mustSync()
	h.wantPods("web-0", "web-1*", "web-2*")
}

// TestReplacement: a pod is recreated under its name only once the old one is gone,
// whether a user deleted it or it failed.
func TestReplacement(t *testing.T) {
	for _, policy := range []appsv1.PodManagementPolicyType{appsv1.OrderedReadyPodManagement, appsv1.ParallelPodManagement} {
		t.Run(string(policy), func(t *testing.T) {
			h := newHarness(t, newSet(2, func(s *appsv1.StatefulSet) { s.Spec.PodManagementPolicy = policy }))
			h.rollOut(2)
			old := h.pod("web-0").UID
			h.deletePod("web-0")
			h.mustSync()
			h.wantPods("web-0*", "web-1")
			h.gone("web-0")
			h.mustSync()
			h.wantPods("web-0", "web-1")
			if h.pod("web-0").UID == old {
				t.Fatal("web-0 was not recreated")
			}
			h.ready("web-0")

			h.phase("web-1", corev1.PodFailed)
			h.mustSync()
			h.wantPods("web-0", "web-1*")
			h.mustSync()
			h.wantPods("web-0", "web-1*")
			h.gone("web-1")
			h.mustSync()
			h.wantPods("web-0", "web-1")
			if p := h.pod("web-1"); p.Status.Phase != corev1.PodPending {
				t.Fatalf("web-1 is %s, want a new pending pod", p.Status.Phase)
			}
		})
	}
}

// TestRollingUpdateWithPartition: pods at or above the partition are replaced from the
// highest ordinal down, one at a time, each once its predecessor is ready; those below
// keep the current revision, even when recreated.
func TestRollingUpdateWithPartition(t *testing.T) {
	h := newHarness(t, newSet(3))
	h.rollOut(3)
	rev1 := h.set().Status.CurrentRevision
	h.updateSet(func(s *appsv1.StatefulSet) {
		image("2")(s)
		s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](1)
	})
	h.mustSync()
	st := h.set().Status
	rev2 := st.UpdateRevision
	if rev2 == rev1 || st.CurrentRevision != rev1 {
		t.Fatalf("revisions current %q update %q, want %q and a new one", st.CurrentRevision, rev2, rev1)
	}
	h.wantPods("web-0", "web-1", "web-2*")
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2*")
	h.gone("web-2")
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2")
	if p := h.pod("web-2"); revisionOf(p) != rev2 || p.Spec.Containers[0].Image != "busybox:2" {
		t.Fatalf("web-2 at %q with %s", revisionOf(p), p.Spec.Containers[0].Image)
	}
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2") // web-2 is not ready yet
	h.ready("web-2")
	h.mustSync()
	h.wantPods("web-0", "web-1*", "web-2")
	h.gone("web-1")
	h.mustSync()
	h.ready("web-1")
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2")
	st = h.set().Status
	if st.CurrentRevision != rev1 || st.UpdateRevision != rev2 || st.CurrentReplicas != 1 || st.UpdatedReplicas != 2 {
		t.Fatalf("status %+v; want current %s ×1, update %s ×2", st, rev1, rev2)
	}

	// Below the partition a deleted pod comes back at the current revision.
	h.deletePod("web-0")
	h.gone("web-0")
	h.mustSync()
	if p := h.pod("web-0"); revisionOf(p) != rev1 || p.Spec.Containers[0].Image != "busybox:1" {
		t.Fatalf("web-0 back at %q with %s", revisionOf(p), p.Spec.Containers[0].Image)
	}
	h.ready("web-0")

	h.updateSet(func(s *appsv1.StatefulSet) { s.Spec.UpdateStrategy.RollingUpdate.Partition = ptr.To[int32](0) })
	h.mustSync()
	h.wantPods("web-0*", "web-1", "web-2")
	h.gone("web-0")
	h.rollOut(3)
	st = h.set().Status
	if st.CurrentRevision != rev2 || st.UpdateRevision != rev2 || st.CurrentReplicas != 3 || st.UpdatedReplicas != 3 {
		t.Fatalf("status %+v; want everything at %s", st, rev2)
	}
}

func TestRollingUpdateMaxUnavailable(t *testing.T) {
	h := newHarness(t, newSet(4, parallel, func(s *appsv1.StatefulSet) {
		s.Spec.UpdateStrategy.RollingUpdate.MaxUnavailable = ptr.To(intstr.FromInt32(2))
	}))
	h.rollOut(4)
	h.updateSet(image("2"))
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2*", "web-3*")
	h.gone("web-3")
	h.mustSync()
	h.wantPods("web-0", "web-1", "web-2*", "web-3") // two unavailable already
	h.ready("web-3")
	h.mustSync()
	h.wantPods("web-0", "web-1*", "web-2*", "web-3")
}

func TestOnDelete(t *testing.T) {
	h := newHarness(t, newSet(2, func(s *appsv1.StatefulSet) {
		s.Spec.UpdateStrategy = appsv1.StatefulSetUpdateStrategy{Type: appsv1.OnDeleteStatefulSetStrategyType}
	}))
	h.rollOut(2)
	rev1 := h.set().Status.CurrentRevision
	h.updateSet(image("2"))
	h.mustSync()
	h.mustSync()
	h.wantPods("web-0", "web-1")
	st := h.set().Status
	if st.UpdateRevision == rev1 || st.CurrentRevision != rev1 || st.UpdatedReplicas != 0 || st.CurrentReplicas != 2 {
		t.Fatalf("status %+v", st)
	}
	h.deletePod("web-1")
	h.gone("web-1")
	h.mustSync()
	if revisionOf(h.pod("web-1")) != st.UpdateRevision || revisionOf(h.pod("web-0")) != rev1 {
		t.Fatalf("web-0 at %q, web-1 at %q", revisionOf(h.pod("web-0")), revisionOf(h.pod("web-1")))
	}
}

func TestStatusAndRevisions(t *testing.T) {
	h := newHarness(t, newSet(3))
	h.rollOut(3)
	set := h.set()
	rev1 := revisionName(set, hashOf(set, 0))
	want := appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: 3, ReadyReplicas: 3, AvailableReplicas: 3, CurrentReplicas: 3,
		UpdatedReplicas: 3, CurrentRevision: rev1, UpdateRevision: rev1, CollisionCount: ptr.To[int32](0)}
	if got := set.Status; !equalStatus(got, want) {
		t.Fatalf("status %+v, want %+v", got, want)
	}
	rev, err := h.client.AppsV1().ControllerRevisions("ns").Get(t.Context(), rev1, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rev.Revision != 1 || metav1.GetControllerOf(rev) == nil || rev.Labels["app"] != "web" || rev.Labels[revisionHashLabel] == "" {
		t.Fatalf("revision %+v", rev.ObjectMeta)
	}
	if tmpl, err := templateOf(rev); err != nil || tmpl.Spec.Containers[0].Image != "busybox:1" {
		t.Fatalf("revision template %v, %v", tmpl, err)
	}

	h.updateSet(image("2"))
	h.mustSync()
	rev2 := h.set().Status.UpdateRevision
	// Rolling back reuses the first revision under the next number.
	h.updateSet(image("1"))
	h.mustSync()
	if st := h.set().Status; st.UpdateRevision != rev1 {
		t.Fatalf("rolled back to %q, want %q", st.UpdateRevision, rev1)
	}
	if rev, _ := h.client.AppsV1().ControllerRevisions("ns").Get(t.Context(), rev1, metav1.GetOptions{}); rev.Revision != 3 {
		t.Fatalf("rolled-back revision is number %d, want 3", rev.Revision)
	}
	// With no history kept, the revision nothing uses goes.
	h.updateSet(func(s *appsv1.StatefulSet) { s.Spec.RevisionHistoryLimit = ptr.To[int32](0) })
	h.gone("web-2")
	h.rollOut(3)
	var names []string
	for _, o := range h.list("controllerrevisions") {
		names = append(names, o.(*appsv1.ControllerRevision).Name)
	}
	if !slices.Equal(names, []string{rev1}) {
		t.Fatalf("revisions %v, want only %s (not %s)", names, rev1, rev2)
	}
}

func equalStatus(a, b appsv1.StatefulSetStatus) bool {
	return a.ObservedGeneration == b.ObservedGeneration && a.Replicas == b.Replicas && a.ReadyReplicas == b.ReadyReplicas &&
		a.AvailableReplicas == b.AvailableReplicas && a.CurrentReplicas == b.CurrentReplicas && a.UpdatedReplicas == b.UpdatedReplicas &&
		a.CurrentRevision == b.CurrentRevision && a.UpdateRevision == b.UpdateRevision && ptr.Deref(a.CollisionCount, -1) == ptr.Deref(b.CollisionCount, -1)
}

func withClaims(whenDeleted, whenScaled appsv1.PersistentVolumeClaimRetentionPolicyType) func(*appsv1.StatefulSet) {
	return func(s *appsv1.StatefulSet) {
		s.Spec.VolumeClaimTemplates = []corev1.PersistentVolumeClaim{{
			ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: map[string]string{"tier": "db"}},
			Spec:       corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
		}}
		s.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		s.Spec.PersistentVolumeClaimRetentionPolicy = &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{WhenDeleted: whenDeleted, WhenScaled: whenScaled}
	}
}

func TestClaims(t *testing.T) {
	del := appsv1.DeletePersistentVolumeClaimRetentionPolicyType
	h := newHarness(t, newSet(2, withClaims(del, del)))
	h.mustSync()
	claim, err := h.client.CoreV1().PersistentVolumeClaims("ns").Get(t.Context(), "data-web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if claim.Labels["app"] != "web" || claim.Labels["tier"] != "db" {
		t.Errorf("claim labels %v", claim.Labels)
	}
	if ref := metav1.GetControllerOf(claim); ref == nil || ref.UID != "set-uid" || len(claim.OwnerReferences) != 1 {
		t.Errorf("claim owners %+v, want the set as controller", claim.OwnerReferences)
	}
	p := h.pod("web-0")
	if len(p.Spec.Volumes) != 2 || p.Spec.Volumes[0].Name != "data" || p.Spec.Volumes[0].PersistentVolumeClaim == nil ||
		p.Spec.Volumes[0].PersistentVolumeClaim.ClaimName != "data-web-0" || p.Spec.Volumes[1].Name != "scratch" {
		t.Errorf("volumes %+v", p.Spec.Volumes)
	}
	if events := h.drainEvents(); !hasEvent(events, "Normal SuccessfulCreate create Claim data-web-0 Pod web-0 in StatefulSet web success") {
		t.Errorf("events %q", events)
	}
	h.rollOut(2)

	// Scaled down, web-1's claim belongs to web-1 before web-1 is deleted.
	h.updateSet(func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](1) })
	h.mustSync()
	h.wantPods("web-0", "web-1*")
	claim, _ = h.client.CoreV1().PersistentVolumeClaims("ns").Get(t.Context(), "data-web-1", metav1.GetOptions{})
	if ref := metav1.GetControllerOf(claim); ref == nil || ref.Kind != "Pod" || ref.Name != "web-1" || len(claim.OwnerReferences) != 1 {
		t.Errorf("scaled-down claim owners %+v, want pod web-1 alone", claim.OwnerReferences)
	}
	// Scaled up again before the garbage collector took the claim, web-1 waits for it.
	h.gone("web-1")
	h.updateSet(func(s *appsv1.StatefulSet) { s.Spec.Replicas = ptr.To[int32](2) })
	h.mustSync()
	h.wantPods("web-0")
	if err := h.client.CoreV1().PersistentVolumeClaims("ns").Delete(t.Context(), "data-web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	h.mustSync()
	h.wantPods("web-0", "web-1")
}

func TestClaimsRetained(t *testing.T) {
	retain := appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	h := newHarness(t, newSet(1, withClaims(retain, retain)))
	h.mustSync()
	claim, err := h.client.CoreV1().PersistentVolumeClaims("ns").Get(t.Context(), "data-web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(claim.OwnerReferences) != 0 {
		t.Errorf("retained claim has owners %+v", claim.OwnerReferences)
	}
}

// TestClaimsUnserved: a server without persistentvolumeclaims holds the pod back with
// events and errors, nothing worse.
func TestClaimsUnserved(t *testing.T) {
	retain := appsv1.RetainPersistentVolumeClaimRetentionPolicyType
	h := newHarness(t, newSet(1, withClaims(retain, retain)))
	notFound := func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(claimsResource.GroupResource(), "")
	}
	h.client.PrependReactor("get", "persistentvolumeclaims", notFound)
	h.client.PrependReactor("create", "persistentvolumeclaims", notFound)
	if _, err := h.sync(); err == nil {
		t.Fatal("no error")
	}
	h.wantPods()
	events := h.drainEvents()
	if !hasEvent(events, "Warning FailedCreate create Claim data-web-0 for Pod web-0 in StatefulSet web failed error:") ||
		!hasEvent(events, "Warning FailedCreate create Pod web-0 in StatefulSet web failed error:") {
		t.Errorf("events %q", events)
	}
	if st := h.set().Status; st.UpdateRevision == "" || st.Replicas != 0 {
		t.Errorf("status %+v", st)
	}
}

func TestAdoptAndRelease(t *testing.T) {
	pod := func(name string, labels map[string]string, owned bool) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("uid-" + name), Labels: labels},
			Status: corev1.PodStatus{Phase: corev1.PodPending}}
		if owned {
			p.OwnerReferences = []metav1.OwnerReference{controllerRef(newSet(1))}
		}
		return p
	}
	web := map[string]string{"app": "web"}
	h := newHarness(t, newSet(2, parallel),
		pod("web-0", web, false),                               // adopted
		pod("other-0", web, false),                             // not a member by name
		pod("web-5", map[string]string{"app": "db"}, true),     // released
		pod("web-7", map[string]string{"app": "other"}, false), // not picked
	)
	h.mustSync()
	if ref := metav1.GetControllerOf(h.pod("web-0")); ref == nil || ref.UID != "set-uid" {
		t.Errorf("web-0 not adopted: %+v", h.pod("web-0").OwnerReferences)
	}
	if refs := h.pod("other-0").OwnerReferences; len(refs) != 0 {
		t.Errorf("other-0 adopted: %+v", refs)
	}
	if refs := h.pod("web-5").OwnerReferences; len(refs) != 0 {
		t.Errorf("web-5 not released: %+v", refs)
	}
	if refs := h.pod("web-7").OwnerReferences; len(refs) != 0 {
		t.Errorf("web-7 adopted: %+v", refs)
	}
}

func TestDecideOrderedReadyStopsAtUnhealthyPod(t *testing.T) {
	set := newSet(3)
	rev := &appsv1.ControllerRevision{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}}
	rv := revisions{current: rev, update: rev, currentTemplate: &set.Spec.Template, updateTemplate: &set.Spec.Template}
	now := time.Now()
	ready := func(o int) *corev1.Pod {
		p := newPod(set, &set.Spec.Template, "web-1", o)
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		return p
	}
	notReady := ready(1)
	notReady.Status.Conditions[0].Status = corev1.ConditionFalse
	for _, tc := range []struct {
		name string
		pods []*corev1.Pod
		want []string
	}{
		{"nothing yet", nil, []string{"create web-0"}},
		{"one ready", []*corev1.Pod{ready(0)}, []string{"create web-1"}},
		{"one not ready", []*corev1.Pod{ready(0), notReady}, nil},
		{"all ready", []*corev1.Pod{ready(0), ready(1), ready(2)}, nil},
		{"one too many", []*corev1.Pod{ready(0), ready(1), ready(2), ready(3), ready(4)}, []string{"scale-down web-4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, phase := range decide(set, tc.pods, rv, now).phases {
				for _, task := range phase {
					for _, s := range task {
						got = append(got, s.op.String()+" "+s.pod.Name)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("plan %q, want %q", got, tc.want)
			}
		})
	}
}
