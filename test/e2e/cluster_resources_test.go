package e2e

import (
	"strings"
	"testing"
)

// TestPrioritiesRuntimeClassesAndIngresses: the system PriorityClasses exist, a pod
// gets its class's priority or is refused for a class that does not exist, only one
// class is the default; a RuntimeClass's overhead and node selector reach its pods; an
// Ingress and its IngressClass are served with upstream's columns and validation; a
// LimitRange fills in a container's resources and a ResourceQuota refuses the pod that
// would exceed it, with upstream's messages, and gives back what a deleted pod used; a
// claim that names no class gets the default StorageClass.
func TestPrioritiesRuntimeClassesAndIngresses(t *testing.T) {
	c := startCluster(t)
	if out := c.mustKubectl("get", "priorityclasses"); !strings.Contains(out, "system-node-critical") || !strings.Contains(out, "2000000000") {
		t.Fatalf("kubectl get priorityclasses:\n%s", out)
	}
	c.mustKubectl("create", "priorityclass", "batch", "--value=100", "--global-default")
	if _, errOut, err := c.kubectl("create", "priorityclass", "other", "--value=5", "--global-default"); err == nil ||
		!strings.Contains(errOut, "PriorityClass batch is already marked as default. Only one default can exist") {
		t.Errorf("a second default: %v %s", err, errOut)
	}
	c.mustKubectl("run", "plain", "--image=busybox")
	if got := c.mustKubectl("get", "pod", "plain", "-o", "jsonpath={.spec.priorityClassName}/{.spec.priority}"); got != "batch/100" {
		t.Errorf("a pod without a class got %q, want the default batch/100", got)
	}
	if _, errOut, err := c.kubectl("run", "nope", "--image=busybox", `--overrides={"spec":{"priorityClassName":"nope"}}`); err == nil ||
		!strings.Contains(errOut, `pods "nope" is forbidden: no PriorityClass with name nope was found`) {
		t.Errorf("a pod of a class that does not exist: %v %s", err, errOut)
	}

	rc := `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: sandboxed}
handler: runc
overhead: {podFixed: {cpu: 250m, memory: 64Mi}}
scheduling: {nodeSelector: {sandbox: "yes"}}
`
	if _, errOut, err := c.kubectlIn(rc, "apply", "-f", "-"); err != nil {
		t.Fatalf("a RuntimeClass: %v %s", err, errOut)
	}
	c.mustKubectl("run", "sandboxed", "--image=busybox", `--overrides={"spec":{"runtimeClassName":"sandboxed"}}`)
	if got := c.mustKubectl("get", "pod", "sandboxed", "-o", "jsonpath={.spec.overhead.cpu} {.spec.nodeSelector.sandbox}"); got != "250m yes" {
		t.Errorf("a pod of RuntimeClass sandboxed got overhead and selector %q", got)
	}
	if _, errOut, err := c.kubectl("run", "ghost", "--image=busybox", `--overrides={"spec":{"runtimeClassName":"ghost"}}`); err == nil ||
		!strings.Contains(errOut, `pod rejected: RuntimeClass "ghost" not found`) {
		t.Errorf("a pod of a RuntimeClass that does not exist: %v %s", err, errOut)
	}

	ing := `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: nginx, annotations: {ingressclass.kubernetes.io/is-default-class: "true"}}
spec: {controller: example.com/ingress-nginx}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web}
spec:
  ingressClassName: nginx
  rules:
  - host: web.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
`
	if _, errOut, err := c.kubectlIn(ing, "apply", "-f", "-"); err != nil {
		t.Fatalf("an Ingress: %v %s", err, errOut)
	}
	if out := c.mustKubectl("get", "ingress", "web"); !strings.Contains(out, "CLASS") || !strings.Contains(out, "web.example.com") || !strings.Contains(out, "nginx") {
		t.Errorf("kubectl get ingress:\n%s", out)
	}
	bad := strings.Replace(ing[strings.Index(ing, "---"):], "path: /,", "path: nowhere,", 1)
	if _, errOut, err := c.kubectlIn(bad, "apply", "-f", "-"); err == nil || !strings.Contains(errOut, "spec.rules[0].http.paths[0].path") {
		t.Errorf("an Ingress path without a leading slash: %v %s", err, errOut)
	}

	c.mustKubectl("create", "namespace", "team")
	limits := `apiVersion: v1
kind: LimitRange
metadata: {name: limits, namespace: team}
spec:
  limits: [{type: Container, default: {cpu: 400m}, defaultRequest: {cpu: 200m}, max: {cpu: "1"}}]
`
	if _, errOut, err := c.kubectlIn(limits, "apply", "-f", "-"); err != nil {
		t.Fatalf("a LimitRange: %v %s", err, errOut)
	}
	c.mustKubectl("create", "quota", "q", "-n", "team", "--hard=pods=2,requests.cpu=500m")
	waitUntil(t, "the quota's status", func() bool {
		out, _, _ := c.kubectl("get", "quota", "q", "-n", "team", "-o", "jsonpath={.status.used.pods}")
		return out == "0"
	})
	c.mustKubectl("run", "one", "-n", "team", "--image=busybox")
	if got := c.mustKubectl("get", "pod", "one", "-n", "team", "-o", "jsonpath={.spec.containers[0].resources.requests.cpu}/{.spec.containers[0].resources.limits.cpu}"); got != "200m/400m" {
		t.Errorf("the LimitRange's defaults: %q", got)
	}
	if got := c.mustKubectl("get", "pod", "one", "-n", "team", "-o", "jsonpath={.status.qosClass}"); got != "Burstable" {
		t.Errorf("the QoS class of a pod given resources by a LimitRange: %q, want Burstable", got)
	}
	c.mustKubectl("run", "two", "-n", "team", "--image=busybox")
	if _, errOut, err := c.kubectl("run", "three", "-n", "team", "--image=busybox"); err == nil ||
		!strings.Contains(errOut, `pods "three" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=200m, used: pods=2,requests.cpu=400m, limited: pods=2,requests.cpu=500m`) {
		t.Errorf("a pod over the quota: %v %s", err, errOut)
	}
	if _, errOut, err := c.kubectl("run", "big", "-n", "team", "--image=busybox",
		`--overrides={"spec":{"containers":[{"name":"big","image":"busybox","resources":{"limits":{"cpu":"2"}}}]}}`); err == nil ||
		!strings.Contains(errOut, "maximum cpu usage per Container is 1, but limit is 2") {
		t.Errorf("a pod over the LimitRange's max: %v %s", err, errOut)
	}
	c.mustKubectl("delete", "pod", "two", "-n", "team", "--grace-period=0", "--force")
	waitUntil(t, "the quota gives back a deleted pod's share", func() bool {
		out, _, _ := c.kubectl("get", "quota", "q", "-n", "team", "-o", "jsonpath={.status.used.pods}")
		return out == "1"
	})

	// A claim that names no class gets the default StorageClass.
	sc := `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: example.com/fast
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`
	if _, errOut, err := c.kubectlIn(sc, "apply", "-f", "-"); err != nil {
		t.Fatalf("a StorageClass and a claim: %v %s", err, errOut)
	}
	if got := c.mustKubectl("get", "pvc", "data", "-o", "jsonpath={.spec.storageClassName}"); got != "fast" {
		t.Errorf("a claim without a class got %q, want the default fast", got)
	}

	// The claim carries its protection finalizer, which the controller removes on
	// deletion since no pod uses it.
	if got := c.mustKubectl("get", "pvc", "data", "-o", "jsonpath={.metadata.finalizers}"); got != `["kubernetes.io/pvc-protection"]` {
		t.Errorf("a claim's finalizers: %s", got)
	}
	c.mustKubectl("delete", "pvc", "data", "--wait=true", "--timeout=30s")
}
