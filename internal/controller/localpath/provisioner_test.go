package localpath

import (
	"context"
	"log/slog"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

type fakeNodes struct{ made, removed []string }

func (f *fakeNodes) Create(_ context.Context, node, name string) (string, error) {
	f.made = append(f.made, node+":"+name)
	return "/var/lib/podium/agent/storage/" + name, nil
}

func (f *fakeNodes) Remove(_ context.Context, node, name string) error {
	f.removed = append(f.removed, node+":"+name)
	return nil
}

// TestProvisionAndDelete: a claim handed to the provisioner with a selected node gets
// a local volume on that node, pre-bound to it; once Released, the volume's directory
// is removed on its node and the volume deleted.
func TestProvisionAndDelete(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	claim := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: "data", Namespace: "ns", UID: "u1", Annotations: map[string]string{
		volume.AnnStorageProvisioner: Provisioner, volume.AnnSelectedNode: "n1"}},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To(ClassName), AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}}}}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{hostnameLabel: "host-1"}}}
	cs := fake.NewClientset(claim, node, DefaultClass())
	factory := informers.NewSharedInformerFactory(cs, 0)
	nodes := &fakeNodes{}
	c := New(cs, nodes, factory, slog.New(slog.DiscardHandler))
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	defer func() { cancel(); factory.Shutdown() }()
	if _, err := c.sync(ctx, "pvc/ns/data"); err != nil {
		t.Fatal(err)
	}
	pv, err := cs.CoreV1().PersistentVolumes().Get(ctx, "pvc-u1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.made) != 1 || nodes.made[0] != "n1:pvc-u1_ns_data" {
		t.Fatalf("made %v", nodes.made)
	}
	term := pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0]
	if pv.Spec.Local == nil || pv.Spec.Local.Path != "/var/lib/podium/agent/storage/pvc-u1_ns_data" || term.Key != hostnameLabel || term.Values[0] != "host-1" ||
		pv.Spec.ClaimRef.UID != "u1" || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		pv.Annotations[volume.AnnDynamicallyProvisioned] != Provisioner || pv.Spec.Capacity.Storage().String() != "1Gi" {
		t.Fatalf("volume: %+v", pv)
	}

	pv.Status.Phase = corev1.VolumeReleased
	if err := c.syncVolume(ctx, pv); err != nil {
		t.Fatal(err)
	}
	if len(nodes.removed) != 1 || nodes.removed[0] != "n1:pvc-u1_ns_data" {
		t.Fatalf("removed %v", nodes.removed)
	}
	if _, err := cs.CoreV1().PersistentVolumes().Get(ctx, "pvc-u1", metav1.GetOptions{}); err == nil {
		t.Fatal("the volume was not deleted")
	}
}
