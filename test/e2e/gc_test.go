package e2e

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// TestGarbageCollector deletes owners with each of kubectl's cascade modes and checks
// that the dependents go, stay orphaned, or hold the owner, as upstream's garbage
// collector does them; ConfigMaps serve as owners and dependents, so no node is needed.
func TestGarbageCollector(t *testing.T) {
	c := startCluster(t, "--disable-agent")
	cs := c.client()
	ctx := context.Background()
	cms := cs.CoreV1().ConfigMaps("default")
	create := func(name string, owners ...*corev1.ConfigMap) *corev1.ConfigMap {
		t.Helper()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}}
		for _, o := range owners {
			block := true
			cm.OwnerReferences = append(cm.OwnerReferences, metav1.OwnerReference{APIVersion: "v1", Kind: "ConfigMap",
				Name: o.Name, UID: o.UID, BlockOwnerDeletion: &block})
		}
		out, err := cms.Create(ctx, cm, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	gone := func(_ *corev1.ConfigMap, ok bool) bool { return !ok }

	t.Run("background", func(t *testing.T) {
		owner := create("bg-owner")
		create("bg-dep", owner)
		c.mustKubectl("delete", "configmap", "bg-owner")
		waitFor(t, one(cs, "configmaps", "default", "bg-dep"), "bg-dep collected", gone)
	})

	t.Run("orphan", func(t *testing.T) {
		owner := create("or-owner")
		create("or-dep", owner)
		c.mustKubectl("delete", "configmap", "or-owner", "--cascade=orphan")
		waitFor(t, one(cs, "configmaps", "default", "or-owner"), "or-owner gone", gone)
		dep, err := cms.Get(ctx, "or-dep", metav1.GetOptions{})
		if err != nil || len(dep.OwnerReferences) != 0 {
			t.Fatalf("the orphan: %v, owner references %v; want it there without them", err, dep.OwnerReferences)
		}
	})

	t.Run("foreground", func(t *testing.T) {
		owner := create("fg-owner")
		dep := create("fg-dep", owner)
		// A finalizer of the test's own holds the dependent while it is being deleted.
		dep.Finalizers = []string{"podium.test/hold"}
		if _, err := cms.Update(ctx, dep, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.mustKubectl("delete", "configmap", "fg-owner", "--cascade=foreground", "--wait=false")
		waitFor(t, one(cs, "configmaps", "default", "fg-dep"), "fg-dep being deleted", func(cm *corev1.ConfigMap, ok bool) bool {
			return ok && cm.DeletionTimestamp != nil
		})
		held, err := cms.Get(ctx, "fg-owner", metav1.GetOptions{})
		if err != nil || held.DeletionTimestamp == nil || !slices.Contains(held.Finalizers, metav1.FinalizerDeleteDependents) {
			t.Fatalf("the owner while its dependent is held: %v %+v; want it deleting with foregroundDeletion", err, held.ObjectMeta)
		}
		patch := []byte(`{"metadata":{"finalizers":null}}`)
		if _, err := cms.Patch(ctx, "fg-dep", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, one(cs, "configmaps", "default", "fg-owner"), "fg-owner gone after its dependent", gone)
	})

	t.Run("one owner of two gone", func(t *testing.T) {
		a, b := create("two-a"), create("two-b")
		create("two-dep", a, b)
		c.mustKubectl("delete", "configmap", "two-a")
		waitFor(t, one(cs, "configmaps", "default", "two-dep"), "two-dep owned by two-b alone", func(cm *corev1.ConfigMap, ok bool) bool {
			return ok && len(cm.OwnerReferences) == 1 && cm.OwnerReferences[0].UID == b.UID
		})
	})

	t.Run("a foreground owner and a dependent another owner keeps", func(t *testing.T) {
		// The dependent loses its reference to the owner being deleted and stays with the
		// other; the owner, which it blocked, goes once the reference is dropped.
		gonner, keeper := create("keep-gone"), create("keep-stays")
		create("keep-dep", gonner, keeper)
		c.mustKubectl("delete", "configmap", "keep-gone", "--cascade=foreground", "--wait=false")
		waitFor(t, one(cs, "configmaps", "default", "keep-gone"), "keep-gone gone", gone)
		dep, err := cms.Get(ctx, "keep-dep", metav1.GetOptions{})
		if err != nil || dep.DeletionTimestamp != nil || len(dep.OwnerReferences) != 1 || dep.OwnerReferences[0].UID != keeper.UID {
			t.Fatalf("the kept dependent: %v %+v; want it owned by keep-stays alone", err, dep.ObjectMeta)
		}
	})

	t.Run("a circle deleted in the foreground", func(t *testing.T) {
		// c1 <- c2 <- c3 <- c1, each blocking its owner's deletion.
		c1 := create("circle-1")
		c2 := create("circle-2", c1)
		c3 := create("circle-3", c2)
		block := true
		c1.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: c3.Name, UID: c3.UID, BlockOwnerDeletion: &block}}
		if _, err := cms.Update(ctx, c1, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		c.mustKubectl("delete", "configmap", "circle-1", "--cascade=foreground", "--wait=false")
		for _, name := range []string{"circle-1", "circle-2", "circle-3"} {
			waitFor(t, one(cs, "configmaps", "default", name), name+" gone", gone)
		}
	})

	t.Run("an owner that never existed", func(t *testing.T) {
		ghost := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "ghost", UID: "00000000-0000-0000-0000-000000000001"}}
		create("ghost-dep", ghost)
		waitFor(t, one(cs, "configmaps", "default", "ghost-dep"), "ghost-dep collected", gone)
	})

	// The collector leaves objects without owners alone.
	for _, ns := range []string{"default", "kube-system", "kube-public", "kube-node-lease"} {
		if _, err := cs.CoreV1().Namespaces().Get(context.Background(), ns, metav1.GetOptions{}); err != nil {
			t.Errorf("namespace %s: %v", ns, err)
		}
	}
}
