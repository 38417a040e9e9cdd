package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLocalPathVolumes: a StatefulSet of 3 with volumeClaimTemplates on the default
// local-path class gets a volume per pod, a directory on the node with node affinity,
// that keeps each pod's data across the pod's deletion; a read-only mount of a claim
// cannot be written; a generic ephemeral volume's claim comes and goes with its pod,
// given to the pod's fsGroup; deleting a claim once its pod is gone removes the
// directory; a pod whose claim is not bound waits with upstream's FailedMount event.
func TestLocalPathVolumes(t *testing.T) {
	c := startAgentCluster(t)
	cs := c.client()
	ctx := context.Background()
	if out := c.mustKubectl("get", "storageclass"); !strings.Contains(out, "local-path (default)") || !strings.Contains(out, "rancher.io/local-path") ||
		!strings.Contains(out, "WaitForFirstConsumer") {
		t.Errorf("kubectl get storageclass:\n%s", out)
	}
	set := `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: db
        image: busybox
        command: ["sh", "-c", "test -f /data/id || hostname > /data/id; exec sleep 3600"]
        volumeMounts: [{name: data, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 10Mi}}}
`
	if _, errOut, err := c.kubectlIn(set, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	c.mustKubectl("rollout", "status", "statefulset/db", "--timeout=180s")
	paths := map[string]string{}
	for _, pod := range []string{"db-0", "db-1", "db-2"} {
		claim, err := cs.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data-"+pod, metav1.GetOptions{})
		if err != nil || claim.Status.Phase != corev1.ClaimBound || *claim.Spec.StorageClassName != "local-path" {
			t.Fatalf("claim data-%s: %v %+v", pod, err, claim)
		}
		pv, err := cs.CoreV1().PersistentVolumes().Get(ctx, claim.Spec.VolumeName, metav1.GetOptions{})
		if err != nil || pv.Spec.Local == nil || pv.Spec.NodeAffinity == nil || pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
			t.Fatalf("volume of data-%s: %v %+v", pod, err, pv)
		}
		paths[pod] = pv.Spec.Local.Path
		if got := strings.TrimSpace(c.mustKubectl("exec", pod, "--", "cat", "/data/id")); got != pod {
			t.Errorf("%s's volume holds %q", pod, got)
		}
	}
	if out := c.mustKubectl("get", "pvc"); !strings.Contains(out, "data-db-0") || !strings.Contains(out, "Bound") || !strings.Contains(out, "local-path") {
		t.Errorf("kubectl get pvc:\n%s", out)
	}

	// The data outlives the pod.
	c.mustKubectl("exec", "db-1", "--", "sh", "-c", "echo keep > /data/marker")
	old, err := cs.CoreV1().Pods("default").Get(ctx, "db-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.mustKubectl("delete", "pod", "db-1")
	waitForWithin(t, 2*time.Minute, one(cs, "pods", "default", "db-1"), "db-1 to come back", func(p *corev1.Pod, ok bool) bool {
		return ok && p.UID != old.UID && podIsReady(p)
	})
	if got := strings.TrimSpace(c.mustKubectl("exec", "db-1", "--", "cat", "/data/marker", "/data/id")); got != "keep\ndb-1" {
		t.Errorf("db-1's volume after the pod came back: %q", got)
	}

	// A read-only mount of a claim.
	reader := `apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  containers:
  - name: r
    image: busybox
    command: ["sh", "-c", "grep -q db-0 /data/id && ! touch /data/new"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: data-db-0, readOnly: true}}]
`
	if _, errOut, err := c.kubectlIn(reader, "apply", "-f", "-"); err != nil {
		t.Fatalf("reader: %v %s", err, errOut)
	}
	waitForWithin(t, time.Minute, one(cs, "pods", "default", "reader"), "the reader to finish", func(p *corev1.Pod, ok bool) bool {
		if ok && p.Status.Phase == corev1.PodFailed {
			t.Fatalf("the reader could write a read-only claim, or not read it: %s", c.mustKubectl("logs", "reader"))
		}
		return ok && p.Status.Phase == corev1.PodSucceeded
	})

	// A generic ephemeral volume: its claim is the pod's.
	scratch := `apiVersion: v1
kind: Pod
metadata: {name: scratch}
spec:
  terminationGracePeriodSeconds: 1
  securityContext: {fsGroup: 1234}
  containers:
  - name: s
    image: busybox
    command: ["sh", "-c", "exec sleep 3600"]
    volumeMounts: [{name: tmp, mountPath: /scratch}]
  volumes:
  - name: tmp
    ephemeral:
      volumeClaimTemplate:
        spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 5Mi}}}
`
	if _, errOut, err := c.kubectlIn(scratch, "apply", "-f", "-"); err != nil {
		t.Fatalf("scratch: %v %s", err, errOut)
	}
	c.waitRunning("scratch")
	claim, err := cs.CoreV1().PersistentVolumeClaims("default").Get(ctx, "scratch-tmp", metav1.GetOptions{})
	if err != nil || len(claim.OwnerReferences) != 1 || claim.OwnerReferences[0].Name != "scratch" || claim.Status.Phase != corev1.ClaimBound {
		t.Fatalf("the ephemeral claim: %v %+v", err, claim)
	}
	if got := strings.Fields(c.mustKubectl("exec", "scratch", "--", "ls", "-ldn", "/scratch")); len(got) < 4 || got[3] != "1234" || got[0][6] != 's' {
		t.Errorf("the ephemeral volume's mode and group: %q, want setgid and the fsGroup 1234", got)
	}
	c.mustKubectl("delete", "pod", "scratch")
	waitForWithin(t, time.Minute, one(cs, "persistentvolumeclaims", "default", "scratch-tmp"), "the ephemeral claim to go with its pod",
		func(_ *corev1.PersistentVolumeClaim, ok bool) bool { return !ok })

	// Scaled down, then the claim deleted: the volume and its directory go.
	c.mustKubectl("scale", "statefulset/db", "--replicas=2")
	c.mustKubectl("wait", "--for=delete", "pod/db-2", "--timeout=60s")
	if _, err := os.Stat(paths["db-2"]); err != nil {
		t.Fatalf("db-2's directory before its claim is deleted: %v", err)
	}
	claim, err = cs.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data-db-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.mustKubectl("delete", "pvc", "data-db-2", "--timeout=60s")
	waitForWithin(t, time.Minute, one(cs, "persistentvolumes", "", claim.Spec.VolumeName), "the released volume to be deleted",
		func(_ *corev1.PersistentVolume, ok bool) bool { return !ok })
	if _, err := os.Stat(paths["db-2"]); !os.IsNotExist(err) {
		t.Errorf("db-2's directory after its volume was deleted: %v", err)
	}
	if filepath.Base(filepath.Dir(paths["db-2"])) != "storage" {
		t.Errorf("volume directories live in %s", filepath.Dir(paths["db-2"]))
	}

	// A claim that cannot be bound (an Immediate class without a provisioner): a pod
	// placed on the node by name waits in ContainerCreating and says why.
	unbound := `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: manual}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: nothing}
spec: {storageClassName: manual, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: stuck}
spec:
  nodeName: e2e-node
  containers: [{name: s, image: busybox, command: ["sleep", "3600"], volumeMounts: [{name: v, mountPath: /v}]}]
  volumes: [{name: v, persistentVolumeClaim: {claimName: nothing}}]
`
	if _, errOut, err := c.kubectlIn(unbound, "apply", "-f", "-"); err != nil {
		t.Fatalf("unbound: %v %s", err, errOut)
	}
	waitUntil(t, "the FailedMount event", func() bool {
		out, _, _ := c.kubectl("get", "events", "--field-selector", "involvedObject.name=stuck,reason=FailedMount", "-o", "jsonpath={.items[*].message}")
		return strings.Contains(out, `error processing PVC default/nothing: PVC default/nothing has non-bound phase ("Pending") or empty pvc.Spec.VolumeName ("")`)
	})
	if got := c.mustKubectl("get", "pod", "stuck", "-o", "jsonpath={.status.containerStatuses[0].state.waiting.reason}"); got != "ContainerCreating" {
		t.Errorf("a pod whose claim is not bound: %q, want ContainerCreating", got)
	}
	// The scheduler does not place a pod whose Immediate claim is unbound.
	c.mustKubectl("run", "unplaced", "--image=busybox", `--overrides={"spec":{"volumes":[{"name":"v","persistentVolumeClaim":{"claimName":"nothing"}}]}}`)
	waitUntil(t, "FailedScheduling for an unbound immediate claim", func() bool {
		out, _, _ := c.kubectl("get", "events", "--field-selector", "involvedObject.name=unplaced,reason=FailedScheduling", "-o", "jsonpath={.items[*].message}")
		return strings.Contains(out, "pod has unbound immediate PersistentVolumeClaims")
	})
	c.mustKubectl("delete", "pod", "stuck", "unplaced", "reader", "--grace-period=0", "--force")
	c.mustKubectl("delete", "statefulset", "db")
	c.mustKubectl("wait", "--for=delete", "pods", "-l", "app=db", "--timeout=60s")
}
