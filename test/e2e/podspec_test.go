package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/tools/cache"
)

// TestPodSpecFeatures runs one pod with what a pod spec offers besides containers:
// volumes of every kind, env from every source, an init container and a sidecar, a
// postStart hook, and a security context; then checks them from inside.
func TestPodSpecFeatures(t *testing.T) {
	c := startAgentCluster(t)
	manifest := `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  color: blue
  app.conf: "mode=fast\n"
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: s3cret
---
apiVersion: v1
kind: Pod
metadata:
  name: features
  labels:
    tier: web
spec:
  volumes:
  - name: conf
    configMap:
      name: settings
  - name: creds
    secret:
      secretName: creds
  - name: info
    downwardAPI:
      items:
      - path: labels
        fieldRef: {fieldPath: metadata.labels}
  - name: scratch
    emptyDir: {medium: Memory}
  - name: shared
    emptyDir: {}
  - name: tools
    image: {reference: busybox, pullPolicy: IfNotPresent}
  initContainers:
  - name: prepare
    image: busybox
    command: ["sh", "-c", "echo prepared > /shared/init.txt"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  - name: helper
    image: busybox
    restartPolicy: Always
    command: ["sh", "-c", "echo helper-running > /shared/sidecar.txt; sleep 3600"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "sleep 3600"]
    env:
    - name: COLOR
      valueFrom: {configMapKeyRef: {name: settings, key: color}}
    - name: PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    - name: POD_NAME
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: GREETING
      value: "hello $(POD_NAME)"
    envFrom:
    - prefix: CFG_
      configMapRef: {name: settings}
    securityContext:
      runAsUser: 65534
      runAsGroup: 65534
    lifecycle:
      postStart:
        exec: {command: ["sh", "-c", "echo started > /scratch/hook.txt"]}
    volumeMounts:
    - {name: conf, mountPath: /etc/app}
    - {name: creds, mountPath: /etc/creds, readOnly: true}
    - {name: info, mountPath: /etc/info}
    - {name: scratch, mountPath: /scratch}
    - {name: shared, mountPath: /shared}
    - {name: tools, mountPath: /tools}
`
	if _, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	c.waitRunning("features")
	check := func(cmd, want string) {
		t.Helper()
		out := c.mustKubectl("exec", "features", "-c", "app", "--", "sh", "-c", cmd)
		if !strings.Contains(out, want) {
			t.Errorf("%s: %q, want %q", cmd, out, want)
		}
	}
	check("cat /etc/app/color /etc/app/app.conf", "bluemode=fast")
	check("cat /etc/creds/password", "s3cret")
	check("cat /etc/info/labels", `tier="web"`)
	check("echo $COLOR $PASSWORD $POD_NAME; echo $GREETING; echo $CFG_color", "blue s3cret features\nhello features\nblue")
	check("echo $KUBERNETES_SERVICE_HOST $KUBERNETES_SERVICE_PORT", "10.43.0.1 443")
	check("cat /scratch/hook.txt", "started")
	check("cat /shared/init.txt /shared/sidecar.txt", "prepared\nhelper-running")
	check("id -u; id -g", "65534\n65534")
	check("grep ' /scratch ' /proc/mounts", "tmpfs")
	check("ls /tools/bin/busybox", "/tools/bin/busybox")
	check("touch /tools/x 2>/dev/null || echo refused", "refused")
	out := c.mustKubectl("get", "pod", "features")
	if !strings.Contains(out, "2/2") || !strings.Contains(out, "Running") {
		t.Errorf("get pod (app and the sidecar ready):\n%s", out)
	}

	checkResize(t, c)
	checkSubPathEscape(t, c)

	// exec through SPDY, as kubectl 1.27 speaks it.
	old := "/usr/lib/google-cloud-sdk/bin/kubectl.1.27"
	if _, err := os.Stat(old); err == nil {
		out, err := exec.Command(old, "--kubeconfig", c.kubeconfig, "exec", "features", "-c", "app", "--", "cat", "/etc/app/color").CombinedOutput()
		if err != nil || string(out) != "blue" {
			t.Errorf("kubectl 1.27 exec: %v %q", err, out)
		}
	}
}

// checkResize resizes a running container in place through the resize subresource, as
// `kubectl patch --subresource resize` does, and checks the new limits in its cgroup
// and its status, with the same process still running; a resize that would change the
// pod's QoS class is refused.
func checkResize(t *testing.T, c *cluster) {
	t.Helper()
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: resizable
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
    resources:
      requests: {cpu: 20m, memory: 35Mi}
      limits: {cpu: 30m, memory: 45Mi}
`
	if _, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	before := c.waitRunning("resizable")
	// cgroup v2 names the files cpu.max and memory.max; v1 has a directory per controller.
	limits := "cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/memory/memory.limit_in_bytes"
	if out := c.mustKubectl("exec", "resizable", "--", "sh", "-c", limits); !strings.Contains(out, "3000") || !strings.Contains(out, "47185920") {
		t.Errorf("limits before the resize: %q, want a quota of 3000 and 47185920 bytes", out)
	}

	patch := `{"spec":{"containers":[{"name":"app","image":"nginx","resources":{"requests":{"cpu":"25m"},"limits":{"cpu":"50m","memory":"64Mi"}}}]}}`
	c.mustKubectl("patch", "pod", "resizable", "--subresource", "resize", "--patch", patch)
	waitFor(t, one(c.client(), "pods", "default", "resizable"), "resize applied", func(p *corev1.Pod, ok bool) bool {
		if !ok || p.Status.ObservedGeneration != p.Generation || len(p.Status.ContainerStatuses) != 1 {
			return false
		}
		r := p.Status.ContainerStatuses[0].Resources
		return r != nil && r.Limits.Cpu().String() == "50m" && r.Limits.Memory().String() == "64Mi"
	})
	after := c.waitRunning("resizable")
	cs, old := after.Status.ContainerStatuses[0], before.Status.ContainerStatuses[0]
	if cs.ContainerID != old.ContainerID || cs.RestartCount != 0 || after.Spec.Containers[0].Image != "busybox" || after.Generation != before.Generation+1 {
		t.Errorf("after the resize: container %s (was %s), restarts %d, image %s, generation %d (was %d)",
			cs.ContainerID, old.ContainerID, cs.RestartCount, after.Spec.Containers[0].Image, after.Generation, before.Generation)
	}
	if cs.AllocatedResources.Cpu().String() != "25m" || cs.Resources.Requests.Cpu().String() != "25m" {
		t.Errorf("status after the resize: allocated %v, resources %v", cs.AllocatedResources, cs.Resources)
	}
	if out := c.mustKubectl("exec", "resizable", "--", "sh", "-c", limits); !strings.Contains(out, "5000") || !strings.Contains(out, "67108864") {
		t.Errorf("limits after the resize: %q, want a quota of 5000 and 67108864 bytes", out)
	}

	completed := fields.SelectorFromSet(fields.Set{"involvedObject.name": "resizable", "reason": "ResizeCompleted"})
	waitFor(t, cache.NewListWatchFromClient(c.client().CoreV1().RESTClient(), "events", "default", completed), "the ResizeCompleted event",
		func(e *corev1.Event, ok bool) bool {
			return ok && strings.HasPrefix(e.Message, `Pod resize completed: {"containers":[{"name":"app","resources":{"limits":{"cpu":"50m","memory":"64Mi"}`)
		})

	guaranteed := `{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"50m","memory":"64Mi"}}}]}}`
	_, errOut, err := c.kubectl("patch", "pod", "resizable", "--subresource", "resize", "--patch", guaranteed)
	if err == nil || !strings.Contains(errOut, "Pod QOS Class may not change as a result of resizing") {
		t.Errorf("resize to Guaranteed: %v %s", err, errOut)
	}
	huge := `{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"1000"},"limits":{"cpu":"1000"}}}]}}`
	_, errOut, err = c.kubectl("patch", "pod", "resizable", "--subresource", "resize", "--patch", huge)
	if err == nil || !strings.Contains(errOut, `pods "resizable" is forbidden: node didn't have enough allocatable resources: cpu, requested: 1000000, allocatable: `) {
		t.Errorf("resize beyond the node: %v %s", err, errOut)
	}
	c.mustKubectl("delete", "pod", "resizable", "--grace-period=1")
}

// checkSubPathEscape makes the CVE-2017-1002101 attack: one container plants a symlink to
// the host's root in a shared emptyDir, a second mounts it by subPath. The second must
// fail with CreateContainerConfigError and never see the host; a symlink that stays
// inside the volume still works.
func checkSubPathEscape(t *testing.T, c *cluster) {
	t.Helper()
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: escape
spec:
  volumes:
  - name: shared
    emptyDir: {}
  initContainers:
  - name: plant
    image: busybox
    command: ["sh", "-c", "ln -s / /shared/evil && mkdir /shared/data && echo inside > /shared/data/f && ln -s data /shared/inner"]
    volumeMounts: [{name: shared, mountPath: /shared}]
  containers:
  - name: inside
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts: [{name: shared, mountPath: /mnt, subPath: inner}]
  - name: attacker
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts: [{name: shared, mountPath: /host, subPath: evil}]
`
	if _, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	var attacker corev1.ContainerStatus
	waitFor(t, one(c.client(), "pods", "default", "escape"), "the attacker refused, the other running", func(p *corev1.Pod, ok bool) bool {
		if !ok || len(p.Status.ContainerStatuses) != 2 {
			return false
		}
		running := false
		for _, st := range p.Status.ContainerStatuses {
			switch {
			case st.Name == "inside":
				running = st.State.Running != nil
			case st.State.Waiting != nil && st.State.Waiting.Reason == "CreateContainerConfigError":
				attacker = st
			}
		}
		return running && attacker.Name != ""
	})
	if !strings.Contains(attacker.State.Waiting.Message, `subpath "evil" not within volume path`) {
		t.Errorf("attacker's waiting message: %q", attacker.State.Waiting.Message)
	}
	if out := c.mustKubectl("exec", "escape", "-c", "inside", "--", "cat", "/mnt/f"); out != "inside\n" {
		t.Errorf("subPath through a symlink inside the volume: %q", out)
	}
	c.mustKubectl("delete", "pod", "escape", "--grace-period=1")
}
