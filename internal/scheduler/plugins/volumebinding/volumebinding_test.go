package volumebinding

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	storagelisters "k8s.io/client-go/listers/storage/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"

	"github.com/podium/podium/internal/scheduler/framework"
)

func node(name string) *framework.NodeInfo {
	ni := framework.NewNodeInfo()
	ni.SetNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}}})
	return ni
}

func claim(name, class, volumeName string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: types.UID("u-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(class), VolumeName: volumeName,
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
}

func localPV(name, class, host string, ref *corev1.ObjectReference) *corev1.PersistentVolume {
	return &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PersistentVolumeSpec{
		Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}, StorageClassName: class, ClaimRef: ref,
		AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
		PersistentVolumeSource: corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: "/srv/" + name}},
		NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
			MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{host}}}}}}}},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable}}
}

func podWith(claims ...string) *framework.PodInfo {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "pod-uid"}}
	for _, c := range claims {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: c, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: c}}})
	}
	return framework.NewPodInfo(pod)
}

func plugin(objs ...any) *VolumeBinding {
	claims := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	volumes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	classes := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	for _, o := range objs {
		switch o.(type) {
		case *corev1.PersistentVolumeClaim:
			_ = claims.Add(o)
		case *corev1.PersistentVolume:
			_ = volumes.Add(o)
		case *storagev1.StorageClass:
			_ = classes.Add(o)
		}
	}
	return New(Listers{Claims: corelisters.NewPersistentVolumeClaimLister(claims), Volumes: corelisters.NewPersistentVolumeLister(volumes),
		Classes: storagelisters.NewStorageClassLister(classes)})
}

var (
	waiting = &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local"}, Provisioner: volume.NotSupportedProvisioner,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
	dynamic = &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "local-path"}, Provisioner: "rancher.io/local-path",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer)}
	immediate = &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "now"}, Provisioner: "example.com/disk",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingImmediate)}
)

func TestFilter(t *testing.T) {
	bound := localPV("bound", "local", "n1", &corev1.ObjectReference{Namespace: "ns", Name: "b", UID: "u-b"})
	for _, tc := range []struct {
		name      string
		objs      []any
		claims    []string
		preFilter string // the PreFilter rejection, "" for none
		n1, n2    bool   // whether each node passes
		skip      bool
	}{
		{name: "no claims", skip: true},
		{name: "missing", claims: []string{"x"}, preFilter: `persistentvolumeclaim "x" not found`},
		{name: "unbound immediate", objs: []any{immediate, claim("c", "now", "")}, claims: []string{"c"}, preFilter: ReasonUnboundImmediate},
		{name: "bound to a local volume", objs: []any{waiting, claim("b", "local", "bound"), bound}, claims: []string{"b"}, n1: true},
		{name: "static volume on n1 only", objs: []any{waiting, claim("c", "local", ""), localPV("free", "local", "n1", nil)}, claims: []string{"c"}, n1: true},
		{name: "nothing to bind", objs: []any{waiting, claim("c", "local", "")}, claims: []string{"c"}},
		{name: "provisioned anywhere", objs: []any{dynamic, claim("c", "local-path", "")}, claims: []string{"c"}, n1: true, n2: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plugin(tc.objs...)
			cs := framework.NewCycleState()
			st := p.PreFilter(cs, podWith(tc.claims...), nil)
			if tc.skip {
				if !st.IsSkip() {
					t.Fatalf("PreFilter: %v, want Skip", st)
				}
				return
			}
			if tc.preFilter != "" {
				if st.Code() != framework.UnschedulableAndUnresolvable || st.Message() != tc.preFilter {
					t.Fatalf("PreFilter: %v, want %q", st, tc.preFilter)
				}
				return
			}
			if !st.IsSuccess() {
				t.Fatalf("PreFilter: %v", st)
			}
			if got := p.Filter(cs, nil, node("n1")).IsSuccess(); got != tc.n1 {
				t.Errorf("n1 passes: %v, want %v (%v)", got, tc.n1, p.Filter(cs, nil, node("n1")))
			}
			if got := p.Filter(cs, nil, node("n2")).IsSuccess(); got != tc.n2 {
				t.Errorf("n2 passes: %v, want %v", got, tc.n2)
			}
		})
	}
}

// TestBind: a claim with a static volume on the node gets it (the volume's claimRef);
// one left to its provisioner gets the selected-node annotation.
func TestBind(t *testing.T) {
	static, provisioned := claim("s", "local", ""), claim("d", "local-path", "")
	free := localPV("free", "local", "n1", nil)
	p := plugin(waiting, dynamic, static, provisioned, free)
	client := fake.NewClientset(static, provisioned, free)
	cs := framework.NewCycleState()
	if st := p.PreFilter(cs, podWith("s", "d"), nil); !st.IsSuccess() {
		t.Fatal(st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the writes are checked, not the wait for the binder
	_ = p.Bind(ctx, client, cs, node("n1").Node())
	pv, _ := client.CoreV1().PersistentVolumes().Get(context.Background(), "free", metav1.GetOptions{})
	if pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.Name != "s" || pv.Annotations[volume.AnnBoundByController] != "yes" {
		t.Errorf("the static volume: %+v %v", pv.Spec.ClaimRef, pv.Annotations)
	}
	d, _ := client.CoreV1().PersistentVolumeClaims("ns").Get(context.Background(), "d", metav1.GetOptions{})
	if d.Annotations[volume.AnnSelectedNode] != "n1" {
		t.Errorf("the provisioned claim's annotations: %v", d.Annotations)
	}
}
