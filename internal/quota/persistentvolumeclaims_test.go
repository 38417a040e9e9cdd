package quota

import (
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/utils/ptr"
)

// claim returns a claim in namespace ns of class (none if empty) requesting storage
// (none if empty).
func claim(name, class, storage string) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	if class != "" {
		pvc.Spec.StorageClassName = ptr.To(class)
	}
	if storage != "" {
		pvc.Spec.Resources.Requests = rl("storage", storage)
	}
	return pvc
}

func TestPVCUsage(t *testing.T) {
	annotated := claim("a", "gold", "10Gi")
	annotated.Annotations = map[string]string{corev1.BetaStorageClassAnnotation: "silver"}
	grown := claim("g", "gold", "10Gi")
	grown.Status.AllocatedResources = rl("storage", "15Gi")
	shrunk := claim("s", "gold", "10Gi")
	shrunk.Status.AllocatedResources = rl("storage", "5Gi")
	shrunk.Status.Capacity = rl("storage", "20Gi")
	tests := []struct {
		name string
		pvc  *corev1.PersistentVolumeClaim
		want corev1.ResourceList
	}{
		{"no class", claim("c", "", "10Gi"),
			rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "10Gi")},
		{"class", claim("c", "gold", "10Gi"),
			rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "10Gi",
				"gold.storageclass.storage.k8s.io/persistentvolumeclaims", "1",
				"gold.storageclass.storage.k8s.io/requests.storage", "10Gi")},
		{"beta annotation wins over the class name", annotated,
			rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "10Gi",
				"silver.storageclass.storage.k8s.io/persistentvolumeclaims", "1",
				"silver.storageclass.storage.k8s.io/requests.storage", "10Gi")},
		{"no request", claim("c", "gold", ""),
			rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1",
				"gold.storageclass.storage.k8s.io/persistentvolumeclaims", "1")},
		{"allocated above the request", grown,
			rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "15Gi",
				"gold.storageclass.storage.k8s.io/persistentvolumeclaims", "1",
				"gold.storageclass.storage.k8s.io/requests.storage", "15Gi")},
		{"allocated below the request, capacity ignored", shrunk,
			rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "10Gi",
				"gold.storageclass.storage.k8s.io/persistentvolumeclaims", "1",
				"gold.storageclass.storage.k8s.io/requests.storage", "10Gi")},
		{"fractional bytes round up", claim("c", "", "1500m"),
			rl("persistentvolumeclaims", "1", "count/persistentvolumeclaims", "1", "requests.storage", "2")},
	}
	e := NewPersistentVolumeClaimEvaluator(newStore().list)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Usage(tt.pvc)
			if err != nil {
				t.Fatal(err)
			}
			wantUsage(t, got, tt.want)
		})
	}
	if _, err := e.Usage(&corev1.Pod{}); !errors.Is(err, ErrUnsupportedObject) {
		t.Errorf("Usage(pod) error = %v, want ErrUnsupportedObject", err)
	}
}

func TestPVCMatchingResources(t *testing.T) {
	e := NewPersistentVolumeClaimEvaluator(newStore().list)
	input := []corev1.ResourceName{
		"count/persistentvolumeclaims", "persistentvolumeclaims", "requests.storage",
		"gold.storageclass.storage.k8s.io/requests.storage", "gold.storageclass.storage.k8s.io/persistentvolumeclaims",
		"gold.storageclass.storage.k8s.io/limits.storage", "pods", "requests.cpu",
	}
	got := e.MatchingResources(input)
	want := input[:5]
	if len(got) != len(want) {
		t.Fatalf("MatchingResources() = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("MatchingResources() = %v, want %v", got, want)
		}
	}
}

func TestPVCVolumeAttributesClassScope(t *testing.T) {
	none := claim("none", "", "1Gi")
	fast := claim("fast", "", "1Gi")
	fast.Spec.VolumeAttributesClassName = ptr.To("fast")
	moving := claim("moving", "", "1Gi")
	moving.Status.CurrentVolumeAttributesClassName = ptr.To("slow")
	moving.Status.ModifyVolumeStatus = &corev1.ModifyVolumeStatus{TargetVolumeAttributesClassName: "fast"}

	vac := func(op corev1.ScopeSelectorOperator, values ...string) corev1.ScopedResourceSelectorRequirement {
		return corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeVolumeAttributesClass, Operator: op, Values: values}
	}
	tests := []struct {
		name  string
		pvc   *corev1.PersistentVolumeClaim
		scope corev1.ScopedResourceSelectorRequirement
		want  bool
	}{
		{"exists", fast, vac(corev1.ScopeSelectorOpExists), true},
		{"does not exist", none, vac(corev1.ScopeSelectorOpExists), false},
		{"in", fast, vac(corev1.ScopeSelectorOpIn, "fast"), true},
		{"not in values", fast, vac(corev1.ScopeSelectorOpIn, "slow"), false},
		{"current class in", moving, vac(corev1.ScopeSelectorOpIn, "slow"), true},
		{"target class in", moving, vac(corev1.ScopeSelectorOpIn, "fast"), true},
		{"any class NotIn", moving, vac(corev1.ScopeSelectorOpNotIn, "fast"), true},
		{"none NotIn", none, vac(corev1.ScopeSelectorOpNotIn, "fast"), true},
		{"none DoesNotExist", none, vac(corev1.ScopeSelectorOpDoesNotExist), true},
		{"other scopes never match", fast, corev1.ScopedResourceSelectorRequirement{ScopeName: corev1.ResourceQuotaScopeBestEffort, Operator: corev1.ScopeSelectorOpExists}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pvcMatchesScope(tt.scope, tt.pvc)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("pvcMatchesScope() = %v, want %v", got, tt.want)
			}
		})
	}

	s := newStore(none, fast, moving)
	e := NewPersistentVolumeClaimEvaluator(s.list)
	got, err := e.UsageStats(quotav1.UsageStatsOptions{
		Namespace:     "ns",
		Resources:     []corev1.ResourceName{"requests.storage"},
		ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{vac(corev1.ScopeSelectorOpIn, "fast")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantUsage(t, got.Used, rl("persistentvolumeclaims", "2", "count/persistentvolumeclaims", "2", "requests.storage", "2Gi"))
}

func TestPVCHandles(t *testing.T) {
	e := NewPersistentVolumeClaimEvaluator(newStore().list)
	pvc := claim("c", "", "1Gi")
	tests := []struct {
		name     string
		obj, old *corev1.PersistentVolumeClaim
		sub      string
		op       admission.Operation
		want     bool
	}{
		{"create", pvc, nil, "", admission.Create, true},
		{"update", pvc, pvc, "", admission.Update, true},
		{"delete", nil, pvc, "", admission.Delete, false},
		{"status update", pvc, pvc, "status", admission.Update, true},
		{"status without old object", pvc, nil, "status", admission.Update, false},
		{"other subresource", pvc, pvc, "other", admission.Update, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var obj, old runtime.Object
			if tt.obj != nil {
				obj = tt.obj
			}
			if tt.old != nil {
				old = tt.old
			}
			a := admission.NewAttributesRecord(obj, old, corev1.SchemeGroupVersion.WithKind("PersistentVolumeClaim"), "ns", "c",
				pvcsResource, tt.sub, tt.op, nil, false, nil)
			if got := e.Handles(a); got != tt.want {
				t.Errorf("Handles() = %v, want %v", got, tt.want)
			}
		})
	}
}
