package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"
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
	out := c.mustKubectl("get", "pod", "features")
	if !strings.Contains(out, "2/2") || !strings.Contains(out, "Running") {
		t.Errorf("get pod (app and the sidecar ready):\n%s", out)
	}

	// exec through SPDY, as kubectl 1.27 speaks it.
	old := "/usr/lib/google-cloud-sdk/bin/kubectl.1.27"
	if _, err := os.Stat(old); err == nil {
		out, err := exec.Command(old, "--kubeconfig", c.kubeconfig, "exec", "features", "-c", "app", "--", "cat", "/etc/app/color").CombinedOutput()
		if err != nil || string(out) != "blue" {
			t.Errorf("kubectl 1.27 exec: %v %q", err, out)
		}
	}
}
