package daemonset

import (
	"context"
	"log/slog"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func TestShouldRun(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "ns", UID: "ds-uid"},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			NodeSelector: map[string]string{"disk": "ssd"}, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
	node := func(labels map[string]string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: labels}, Spec: corev1.NodeSpec{Taints: taints}}
	}
	ssd := map[string]string{"disk": "ssd"}
	for _, tc := range []struct {
		name      string
		node      *corev1.Node
		run, keep bool
	}{
		{"matching node", node(ssd), true, true},
		{"node selector does not match", node(map[string]string{"disk": "hdd"}), false, false},
		{"a NoSchedule taint: no new pod, the old one stays", node(ssd, corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}), false, true},
		{"a NoExecute taint: it goes", node(ssd, corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoExecute}), false, false},
		{"tolerated by default: unschedulable", node(ssd, corev1.Taint{Key: corev1.TaintNodeUnschedulable, Effect: corev1.TaintEffectNoSchedule}), true, true},
		{"tolerated by default: not ready", node(ssd, corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoExecute}), true, true},
		{"PreferNoSchedule is no obstacle", node(ssd, corev1.Taint{Key: "x", Effect: corev1.TaintEffectPreferNoSchedule}), true, true},
	} {
		ds.Spec.Template.Spec.Affinity = nil
		run, keep := shouldRun(ds, tc.node)
		if run != tc.run || keep != tc.keep {
			t.Errorf("%s: run %v keep %v, want %v %v", tc.name, run, keep, tc.run, tc.keep)
		}
	}
	// The template's required node affinity counts, not the node name its pods get.
	ds.Spec.Template.Spec.NodeSelector = nil
	ds.Spec.Template.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "color", Operator: corev1.NodeSelectorOpIn, Values: []string{"blue"}}}}}}}}
	if run, keep := shouldRun(ds, node(map[string]string{"color": "green"})); run || keep {
		t.Errorf("a node the affinity excludes: run %v keep %v", run, keep)
	}
	if run, _ := shouldRun(ds, node(map[string]string{"color": "blue"})); !run {
		t.Error("a node the affinity picks does not run the pod")
	}
}

func TestNewPod(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "ns", UID: "ds-uid"},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}},
			Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "c", Image: "busybox"}}}}}}
	pod := newPod(ds, "n1", "abc")
	if targetNode(pod) != "n1" || pod.Labels[appsv1.DefaultDaemonSetUniqueLabelKey] != "abc" || pod.Labels["app"] != "agent" {
		t.Fatalf("pod for n1: target %q, labels %v", targetNode(pod), pod.Labels)
	}
	if ref := metav1.GetControllerOf(pod); ref == nil || ref.UID != "ds-uid" || ref.Kind != "DaemonSet" {
		t.Fatalf("controller %v", ref)
	}
	want := map[string]corev1.TaintEffect{corev1.TaintNodeNotReady: corev1.TaintEffectNoExecute, corev1.TaintNodeUnreachable: corev1.TaintEffectNoExecute,
		corev1.TaintNodeDiskPressure: corev1.TaintEffectNoSchedule, corev1.TaintNodeMemoryPressure: corev1.TaintEffectNoSchedule,
		corev1.TaintNodePIDPressure: corev1.TaintEffectNoSchedule, corev1.TaintNodeUnschedulable: corev1.TaintEffectNoSchedule,
		corev1.TaintNodeNetworkUnavailable: corev1.TaintEffectNoSchedule}
	if len(pod.Spec.Tolerations) != len(want) {
		t.Fatalf("tolerations %v", pod.Spec.Tolerations)
	}
	for _, tol := range pod.Spec.Tolerations {
		if want[tol.Key] != tol.Effect || tol.Operator != corev1.TolerationOpExists {
			t.Errorf("toleration %v", tol)
		}
	}
	if len(ds.Spec.Template.Spec.Tolerations) != 0 {
		t.Fatal("newPod changed the DaemonSet's template")
	}
}

// TestPodsByNodeAdopts: an orphan the selector picks is adopted and counted on its node;
// a pod of another owner and one the selector does not pick are left alone.
func TestPodsByNodeAdopts(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "ns", UID: "ds-uid"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "agent"}}}}
	pod := func(name string, labels map[string]string, owner *metav1.OwnerReference) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID(name), Labels: labels},
			Spec: corev1.PodSpec{NodeName: "n1"}}
		if owner != nil {
			p.OwnerReferences = []metav1.OwnerReference{*owner}
		}
		return p
	}
	agent := map[string]string{"app": "agent"}
	other := &metav1.OwnerReference{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "rs", UID: "rs-uid", Controller: ptr.To(true)}
	objs := []runtime.Object{ds, pod("orphan", agent, nil), pod("theirs", agent, other), pod("unpicked", map[string]string{"app": "web"}, nil)}
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(client, factory, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Pod:
			_ = factory.Core().V1().Pods().Informer().GetStore().Add(o)
		case *appsv1.DaemonSet:
			_ = factory.Apps().V1().DaemonSets().Informer().GetStore().Add(o)
		}
	}
	sel, _ := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	byNode, err := c.podsByNode(context.Background(), ds, sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(byNode["n1"]) != 1 || byNode["n1"][0].Name != "orphan" {
		t.Fatalf("pods on n1: %v", byNode["n1"])
	}
	adopted, err := client.CoreV1().Pods("ns").Get(context.Background(), "orphan", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(adopted); ref == nil || ref.UID != "ds-uid" || ref.Kind != "DaemonSet" {
		t.Errorf("orphan's controller after the claim: %v", ref)
	}
	for _, name := range []string{"theirs", "unpicked"} {
		p, _ := client.CoreV1().Pods("ns").Get(context.Background(), name, metav1.GetOptions{})
		if ref := metav1.GetControllerOf(p); ref != nil && ref.UID == "ds-uid" {
			t.Errorf("%s was adopted", name)
		}
	}
}
