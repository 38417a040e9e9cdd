package e2e

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// owner returns how manager last wrote an object (Apply or Update), "" if it owns none
// of its fields.
func owner(entries []metav1.ManagedFieldsEntry, manager string) metav1.ManagedFieldsOperationType {
	for _, e := range entries {
		if e.Manager == manager {
			return e.Operation
		}
	}
	return ""
}

const appliedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: busybox
        command: ["sleep", "3600"]
`

// TestServerSideApply: kubectl apply --server-side creates, takes over an object made
// by client-side apply, meets a conflict with the manager that scaled it, forces it, and
// dry-runs; the status of a pod is applied only through its status subresource.
func TestServerSideApply(t *testing.T) {
	c := startCluster(t)
	out, errOut, err := c.kubectlIn(appliedDeployment, "apply", "--server-side", "-f", "-")
	if err != nil || !strings.Contains(out, "deployment.apps/web serverside-applied") {
		t.Fatalf("apply --server-side of a new object: %v %q %q", err, out, errOut)
	}
	c.mustKubectl("scale", "deployment/web", "--replicas=4")
	changed := strings.Replace(appliedDeployment, "replicas: 2", "replicas: 3", 1)
	_, errOut, err = c.kubectlIn(changed, "apply", "--server-side", "-f", "-")
	if err == nil || !strings.Contains(errOut, `Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas`) {
		t.Fatalf("apply of replicas after kubectl scale: err %v, stderr %q; want the conflict", err, errOut)
	}
	if got := c.mustKubectl("get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "4" {
		t.Fatalf("replicas after the refused apply: %q", got)
	}
	out, errOut, err = c.kubectlIn(changed, "apply", "--server-side", "--dry-run=server", "--force-conflicts", "-f", "-")
	if err != nil || !strings.Contains(out, "(server dry run)") {
		t.Fatalf("dry-run apply: %v %q %q", err, out, errOut)
	}
	if got := c.mustKubectl("get", "deployment/web", "-o", "jsonpath={.spec.replicas}"); got != "4" {
		t.Fatalf("a dry run changed replicas to %q", got)
	}
	if _, errOut, err = c.kubectlIn(changed, "apply", "--server-side", "--force-conflicts", "-f", "-"); err != nil {
		t.Fatalf("forced apply: %v %q", err, errOut)
	}
	dep, err := c.client().AppsV1().Deployments("default").Get(bg, "web", metav1.GetOptions{})
	if err != nil || *dep.Spec.Replicas != 3 || owner(dep.ManagedFields, "kubectl") != metav1.ManagedFieldsOperationApply {
		t.Fatalf("after the forced apply: %v %+v", err, dep)
	}

	// An object made by client-side apply changes hands without conflicts.
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n"
	if _, errOut, err := c.kubectlIn(cm, "apply", "-f", "-"); err != nil {
		t.Fatalf("client-side apply: %v %q", err, errOut)
	}
	out, errOut, err = c.kubectlIn(strings.Replace(cm, "fast", "slow", 1), "apply", "--server-side", "-f", "-")
	if err != nil || !strings.Contains(out, "serverside-applied") {
		t.Fatalf("server-side apply over client-side apply: %v %q %q", err, out, errOut)
	}
	if got := c.mustKubectl("get", "configmap/settings", "-o", "jsonpath={.data.mode}"); got != "slow" {
		t.Fatalf("mode after the server-side apply: %q", got)
	}

	// A pod's status is applied only through pods/status.
	pods := c.client().CoreV1().Pods("default")
	podYAML := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"applied"},"spec":{"containers":[{"name":"c","image":"busybox","command":["sleep","3600"]}]}}`)
	if _, err := pods.Patch(bg, "applied", types.ApplyPatchType, podYAML, metav1.PatchOptions{FieldManager: "t"}); err != nil {
		t.Fatalf("apply creating a pod: %v", err)
	}
	status := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"applied"},"status":{"conditions":[{"type":"MyStatus","status":"True"}]}}`)
	hasCondition := func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == "MyStatus" {
				return true
			}
		}
		return false
	}
	p, err := pods.Patch(bg, "applied", types.ApplyPatchType, status, metav1.PatchOptions{FieldManager: "s"})
	if err != nil || hasCondition(p) {
		t.Fatalf("status applied to the pod itself: %v, condition set %v", err, err == nil && hasCondition(p))
	}
	p, err = pods.Patch(bg, "applied", types.ApplyPatchType, status, metav1.PatchOptions{FieldManager: "s"}, "status")
	if err != nil || !hasCondition(p) {
		t.Fatalf("status applied to pods/status: %v", err)
	}
}
