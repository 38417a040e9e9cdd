package fieldmanager

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
)

func TestName(t *testing.T) {
	for _, tc := range []struct{ manager, agent, want string }{
		{"mine", "kubectl/v1.37.2 (linux/amd64)", "mine"},
		{"", "kubectl/v1.37.2 (linux/amd64) kubernetes/abc", "kubectl"},
		{"", "ku\x00be\nctl/v1", "kubectl"},
		{"", strings.Repeat("x", 200), strings.Repeat("x", 128)},
		{"", "", ""},
	} {
		if got := Name(tc.manager, tc.agent); got != tc.want {
			t.Errorf("Name(%q, %q) = %q, want %q", tc.manager, tc.agent, got, tc.want)
		}
	}
}

func decode(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(y)); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestApplyMergesByKeys: containers merge by name, as the built-in schemas say; a
// field another manager set is a conflict until forced.
func TestApplyMergesByKeys(t *testing.T) {
	m := New(clientgoscheme.Scheme)
	kind := appsv1.SchemeGroupVersion.WithKind("Deployment")
	fm, err := m.For(kind, "", &appsv1.Deployment{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	live := &appsv1.Deployment{}
	first, err := fm.Apply(live, decode(t, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
		"spec":{"replicas":2,"template":{"spec":{"containers":[{"name":"a","image":"one"}]}}}}`), "alice", false)
	if err != nil {
		t.Fatal(err)
	}
	// Bob applies a second container: alice's stays.
	both, err := fm.Apply(first, decode(t, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},
		"spec":{"template":{"spec":{"containers":[{"name":"b","image":"two"}]}}}}`), "bob", false)
	if err != nil {
		t.Fatal(err)
	}
	if c := both.(*appsv1.Deployment).Spec.Template.Spec.Containers; len(c) != 2 {
		t.Fatalf("containers after bob's apply: %+v", c)
	}
	_, err = fm.Apply(both, decode(t, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":5}}`), "bob", false)
	if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), `conflict with "alice": .spec.replicas`) {
		t.Fatalf("bob setting alice's replicas: %v, want a conflict", err)
	}
	forced, err := fm.Apply(both, decode(t, `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":5}}`), "bob", true)
	if err != nil || *forced.(*appsv1.Deployment).Spec.Replicas != 5 {
		t.Fatalf("forced apply: %v", err)
	}
}

// TestStatusIsReset: an update of a pod through the object does not own its status, and
// one through pods/status does not own its spec.
func TestStatusIsReset(t *testing.T) {
	m := New(clientgoscheme.Scheme)
	kind := corev1.SchemeGroupVersion.WithKind("Pod")
	main, err := m.For(kind, "", &corev1.Pod{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	status, err := m.For(kind, "status", &corev1.Pod{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	written := main.UpdateNoErrors(&corev1.Pod{}, pod.DeepCopy(), "writer")
	owned := string(written.(*corev1.Pod).ManagedFields[0].FieldsV1.Raw)
	if strings.Contains(owned, "f:status") || !strings.Contains(owned, "f:spec") {
		t.Fatalf("a write of the object owns %s", owned)
	}
	next := written.DeepCopyObject().(*corev1.Pod)
	next.Status.Phase = corev1.PodSucceeded
	next.Spec.ActiveDeadlineSeconds = ptr.To[int64](5)
	out := status.UpdateNoErrors(written, next, "kubelet")
	for _, e := range out.(*corev1.Pod).ManagedFields {
		if e.Manager == "kubelet" && (e.Subresource != "status" || strings.Contains(string(e.FieldsV1.Raw), "f:spec")) {
			t.Fatalf("a status write recorded %+v", e)
		}
	}
}

// TestExtensionKinds: apiextensions.k8s.io's kinds merge by their own schemas, so two
// managers each applying a condition of their own to a CRD's status own one each,
// where deduced types (a list is atomic) would make them conflict.
func TestExtensionKinds(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = apiextensionsv1.AddToScheme(scheme)
	kind := apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition")
	fm, err := New(scheme).For(kind, "status", &apiextensionsv1.CustomResourceDefinition{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	applied := func(condition string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
			"metadata": map[string]any{"name": "things.example.com"},
			"status":   map[string]any{"conditions": []any{map[string]any{"type": condition, "status": "True"}}},
		}}
	}
	var live runtime.Object = &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "things.example.com"}}
	for _, step := range []struct{ manager, condition string }{{"a", "Established"}, {"b", "NamesAccepted"}} {
		if live, err = fm.Apply(live, applied(step.condition), step.manager, false); err != nil {
			t.Fatalf("apply of %s by %s: %v", step.condition, step.manager, err)
		}
	}
	if conditions := live.(*apiextensionsv1.CustomResourceDefinition).Status.Conditions; len(conditions) != 2 {
		t.Fatalf("conditions after both applies: %+v", conditions)
	}
}
