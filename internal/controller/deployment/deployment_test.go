package deployment

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/podium/podium/internal/controller/templatehash"
)

func rolling(n int32, surge, unavailable intstr.IntOrString) *appsv1.Deployment {
	return &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Replicas: &n, Strategy: appsv1.DeploymentStrategy{
		Type:          appsv1.RollingUpdateDeploymentStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDeployment{MaxSurge: &surge, MaxUnavailable: &unavailable}}}}
}

func TestFenceposts(t *testing.T) {
	for _, tc := range []struct {
		d                  *appsv1.Deployment
		surge, unavailable int32
	}{
		{rolling(10, intstr.FromString("25%"), intstr.FromString("25%")), 3, 2}, // surge rounds up, unavailable down
		{rolling(4, intstr.FromString("25%"), intstr.FromString("25%")), 1, 1},
		{rolling(3, intstr.FromInt32(0), intstr.FromInt32(0)), 0, 1}, // both zero would never move
		{rolling(1, intstr.FromString("100%"), intstr.FromInt32(0)), 1, 0},
	} {
		s, u := fenceposts(tc.d)
		if s != tc.surge || u != tc.unavailable {
			t.Errorf("%d replicas, %v/%v: surge %d unavailable %d, want %d %d", *tc.d.Spec.Replicas,
				tc.d.Spec.Strategy.RollingUpdate.MaxSurge, tc.d.Spec.Strategy.RollingUpdate.MaxUnavailable, s, u, tc.surge, tc.unavailable)
		}
	}
	recreate := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType}}}
	if s, u := fenceposts(recreate); s != 0 || u != 0 {
		t.Errorf("Recreate: %d %d", s, u)
	}
}

func rs(name string, n int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: appsv1.ReplicaSetSpec{Replicas: &n}}
}

func TestNewSetReplicas(t *testing.T) {
	d := rolling(10, intstr.FromInt32(3), intstr.FromInt32(2))
	for _, tc := range []struct {
		old, cur, want int32
	}{
		{10, 0, 3},  // up to the surge
		{10, 3, 3},  // at replicas + surge already
		{7, 3, 6},   // old scaled down: room again
		{0, 9, 10},  // never above replicas
		{0, 10, 10}, // done
	} {
		if got := newSetReplicas(d, []*appsv1.ReplicaSet{rs("old", tc.old)}, rs("new", tc.cur)); got != tc.want {
			t.Errorf("old %d new %d: %d, want %d", tc.old, tc.cur, got, tc.want)
		}
	}
}

func TestTemplateHash(t *testing.T) {
	a := &corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "busybox:1"}}}}
	b := a.DeepCopy()
	b.Spec.Containers[0].Image = "busybox:2"
	one := int32(1)
	ha, hb, hc := templatehash.Of(a, nil), templatehash.Of(b, nil), templatehash.Of(a, &one)
	if ha != templatehash.Of(a.DeepCopy(), nil) {
		t.Fatal("the hash of equal templates differs")
	}
	if ha == hb || ha == hc {
		t.Fatalf("hashes %s %s %s: another image or a collision count must change it", ha, hb, hc)
	}
	withHash := a.DeepCopy()
	withHash.Labels[appsv1.DefaultDeploymentUniqueLabelKey] = ha
	if !sameTemplate(a, withHash) || sameTemplate(a, b) {
		t.Fatal("sameTemplate must ignore the hash label and nothing else")
	}
}

func TestProportion(t *testing.T) {
	// A 10-replica rollout (surge 3) with sets of 8 and 5, scaled to 20: the new size
	// is 23 against 13 sized for, so the sets grow by 8*23/13-8 = 6 and 5*23/13-5 = 4.
	d := rolling(20, intstr.FromInt32(3), intstr.FromInt32(2))
	a, b := rs("a", 8), rs("b", 5)
	a.Annotations = map[string]string{maxReplicasAnnotation: "13"}
	b.Annotations = map[string]string{maxReplicasAnnotation: "13"}
	toAdd := int32(23 - 13)
	pa := proportion(d, a, toAdd, 0)
	pb := proportion(d, b, toAdd, pa)
	if pa != 6 || pb != 4 {
		t.Fatalf("proportions %d and %d, want 6 and 4", pa, pb)
	}
}

// TestProportionalScaling is upstream's conformance case: a 10-replica rollout (surge 3,
// unavailable 2) stuck at 8 old and 5 new replicas is scaled to 30; the old set goes
// to 20 and the new one to 13.
func TestProportionalScaling(t *testing.T) {
	d := rolling(30, intstr.FromInt32(3), intstr.FromInt32(2))
	d.Name, d.Namespace = "web", "ns"
	sized := map[string]string{desiredReplicasAnnotation: "10", maxReplicasAnnotation: "13"}
	old, cur := rs("web-old", 8), rs("web-new", 5)
	for i, s := range []*appsv1.ReplicaSet{old, cur} {
		s.Namespace, s.Annotations = "ns", sized
		s.CreationTimestamp = metav1.NewTime(time.Unix(int64(i), 0))
	}
	old.Status.AvailableReplicas = 8
	client := fake.NewClientset(old, cur)
	c := &Controller{client: client, recorder: record.NewFakeRecorder(10), clock: clock.RealClock{}}
	if err := c.proportional(t.Context(), d, cur, []*appsv1.ReplicaSet{old}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int32{"web-old": 20, "web-new": 13} {
		got, err := client.AppsV1().ReplicaSets("ns").Get(t.Context(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if *got.Spec.Replicas != want || got.Annotations[desiredReplicasAnnotation] != "30" || got.Annotations[maxReplicasAnnotation] != "33" {
			t.Errorf("%s: %d replicas, annotations %v; want %d sized for 30/33", name, *got.Spec.Replicas, got.Annotations, want)
		}
	}
}

// TestSetAnnotations: a new ReplicaSet is sized for the Deployment; an existing one
// keeps the replicas it was sized for (proportional scaling reads them) and, when its
// template comes back at a later revision, remembers the old revision.
func TestSetAnnotations(t *testing.T) {
	d := rolling(30, intstr.FromInt32(3), intstr.FromInt32(2))
	d.Annotations = map[string]string{"team": "a", revisionAnnotation: "7"}
	fresh := setAnnotations(d, nil, 4)
	if fresh[desiredReplicasAnnotation] != "30" || fresh[maxReplicasAnnotation] != "33" || fresh[revisionAnnotation] != "4" || fresh["team"] != "a" {
		t.Errorf("a new set: %v", fresh)
	}
	existing := rs("web-old", 8)
	existing.Annotations = map[string]string{desiredReplicasAnnotation: "10", maxReplicasAnnotation: "13", revisionAnnotation: "2"}
	got := setAnnotations(d, existing, 5)
	if got[desiredReplicasAnnotation] != "10" || got[maxReplicasAnnotation] != "13" || got[revisionAnnotation] != "5" || got[revisionHistoryAnnotation] != "2" {
		t.Errorf("an existing set: %v", got)
	}
}
