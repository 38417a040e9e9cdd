package e2e

import (
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The seed's three manifests (REQUIREMENTS R15-R18), on the echo test image.
const (
	echoLP = `apiVersion: v1
kind: Pod
metadata:
  name: echo-lp
  labels:
    app: echo
spec:
  containers:
    - name: app
      image: ghcr.io/subicura/echo:v1
      livenessProbe:
        httpGet:
          path: /not/exist
          port: 8080
        initialDelaySeconds: 5
        timeoutSeconds: 2 # Default 1
        periodSeconds: 5 # Defaults 10
        failureThreshold: 1 # Defaults 3
`
	echoRP = `apiVersion: v1
kind: Pod
metadata:
  name: echo-rp
  labels:
    app: echo
spec:
  containers:
    - name: app
      image: ghcr.io/subicura/echo:v1
      readinessProbe:
        httpGet:
          path: /not/exist
          port: 8080
        initialDelaySeconds: 5
        timeoutSeconds: 2 # Default 1
        periodSeconds: 5 # Defaults 10
        failureThreshold: 1 # Defaults 3
`
	echoHealth = `apiVersion: v1
kind: Pod
metadata:
  name: echo-health
  labels:
    app: echo
spec:
  containers:
    - name: app
      image: ghcr.io/subicura/echo:v1
      livenessProbe:
        httpGet:
          path: /
          port: 3000
      readinessProbe:
        httpGet:
          path: /
          port: 3000
`
)

// TestSeedProbes runs the seed's three probe examples with a short restart back-off.
func TestSeedProbes(t *testing.T) {
	c := startAgentCluster(t, "--restart-backoff-base", "2s", "--restart-backoff-max", "8s")
	cs := c.client()
	for _, m := range []string{echoLP, echoRP, echoHealth} {
		if _, errOut, err := c.kubectlIn(m, "apply", "-f", "-"); err != nil {
			t.Fatalf("apply: %v %s", err, errOut)
		}
	}
	// A container whose process cannot start: StartError, exit code 128, back-off.
	c.mustKubectl("run", "bad", "--image=busybox", "--command", "--", "/nonexistent")

	// echo-health: 1/1 Running, and stays so.
	c.waitRunning("echo-health")

	// echo-lp: restarted again and again, ending in CrashLoopBackOff.
	waitFor(t, one(cs, "pods", "default", "echo-lp"), "echo-lp in CrashLoopBackOff after restarts", func(p *corev1.Pod, ok bool) bool {
		if !ok || len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		st := p.Status.ContainerStatuses[0]
		return st.RestartCount >= 2 && st.State.Waiting != nil && st.State.Waiting.Reason == "CrashLoopBackOff" &&
			strings.Contains(st.State.Waiting.Message, "restarting failed container=app pod=echo-lp_default(")
	})
	out := c.mustKubectl("get", "pod", "echo-lp")
	if !regexp.MustCompile(`echo-lp\s+0/1\s+CrashLoopBackOff\s+\d+ \(\d+s ago\)`).MatchString(out) {
		t.Errorf("get echo-lp:\n%s", out)
	}
	out = c.mustKubectl("describe", "pod", "echo-lp")
	for _, want := range []string{"Liveness probe failed: Get \"http://", ":8080/not/exist\": dial tcp", "connect: connection refused",
		"Container app failed liveness probe, will be restarted", "Back-off restarting failed container app in pod echo-lp_default("} {
		if !strings.Contains(out, want) {
			t.Errorf("describe echo-lp lacks %q:\n%s", want, out)
		}
	}

	// echo-rp: 0/1 Running, never restarted.
	p, err := cs.CoreV1().Pods("default").Get(bg, "echo-rp", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, one(cs, "pods", "default", "echo-rp"), "echo-rp unready", func(p *corev1.Pod, ok bool) bool {
		return ok && p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && !p.Status.ContainerStatuses[0].Ready
	})
	out = c.mustKubectl("describe", "pod", "echo-rp")
	if !strings.Contains(out, "Readiness probe failed:") || strings.Contains(out, "will be restarted") {
		t.Errorf("describe echo-rp:\n%s", out)
	}
	out = c.mustKubectl("get", "pod", "echo-rp", "echo-health")
	if !regexp.MustCompile(`echo-rp\s+0/1\s+Running\s+0\s+`).MatchString(out) || !regexp.MustCompile(`echo-health\s+1/1\s+Running\s+0\s+`).MatchString(out) {
		t.Errorf("get:\n%s", out)
	}
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
			t.Errorf("echo-rp Ready: %+v", cond)
		}
	}
	waitFor(t, one(cs, "pods", "default", "bad"), "bad in CrashLoopBackOff after StartError", func(p *corev1.Pod, ok bool) bool {
		if !ok || len(p.Status.ContainerStatuses) == 0 {
			return false
		}
		st := p.Status.ContainerStatuses[0]
		last := st.LastTerminationState.Terminated
		return st.RestartCount >= 1 && st.State.Waiting != nil && st.State.Waiting.Reason == "CrashLoopBackOff" &&
			last != nil && last.Reason == "StartError" && last.ExitCode == 128 && strings.Contains(last.Message, "/nonexistent")
	})
}

// TestOtherProbes covers tcpSocket, exec, grpc, a startup probe and a port by name.
func TestOtherProbes(t *testing.T) {
	c := startAgentCluster(t, "--restart-backoff-base", "2s", "--restart-backoff-max", "8s")
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: probes
spec:
  containers:
    - name: app
      image: ghcr.io/subicura/echo:v1
      ports:
        - {name: web, containerPort: 3000}
      startupProbe:
        tcpSocket: {port: 3000}
        periodSeconds: 1
      livenessProbe:
        httpGet: {path: /, port: web}
        periodSeconds: 2
      readinessProbe:
        grpc: {port: 3001}
        periodSeconds: 2
    - name: shell
      image: busybox
      command: ["sh", "-c", "touch /tmp/ready; sleep 3600"]
      readinessProbe:
        exec: {command: ["cat", "/tmp/ready"]}
        periodSeconds: 1
`
	if _, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	c.waitRunning("probes")
	// The exec probe fails once the file is gone: the container turns unready, no restart.
	c.mustKubectl("exec", "probes", "-c", "shell", "--", "rm", "/tmp/ready")
	waitFor(t, one(c.client(), "pods", "default", "probes"), "shell unready", func(p *corev1.Pod, ok bool) bool {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == "shell" {
				return ok && !cs.Ready && cs.RestartCount == 0
			}
		}
		return false
	})
}
