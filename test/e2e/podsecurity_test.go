package e2e

import (
	"strings"
	"testing"
)

// TestPodSecurity: the pod-security.kubernetes.io labels of a namespace, enforced and
// warned about as upstream's Pod Security admission does.
func TestPodSecurity(t *testing.T) {
	c := startCluster(t)
	c.mustKubectl("create", "namespace", "locked")
	c.mustKubectl("label", "namespace", "locked", "pod-security.kubernetes.io/enforce=restricted")
	_, errOut, err := c.kubectl("run", "plain", "-n", "locked", "--image=busybox")
	if err == nil || !strings.Contains(errOut, `violates PodSecurity "restricted:latest"`) || !strings.Contains(errOut, "allowPrivilegeEscalation != false") {
		t.Fatalf("a plain pod in a restricted namespace: %v %s", err, errOut)
	}
	compliant := `apiVersion: v1
kind: Pod
metadata: {name: tidy, namespace: locked}
spec:
  securityContext: {runAsNonRoot: true, runAsUser: 1000, seccompProfile: {type: RuntimeDefault}}
  containers:
  - name: c
    image: busybox
    securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
`
	if _, errOut, err := c.kubectlIn(compliant, "apply", "-f", "-"); err != nil {
		t.Fatalf("a restricted pod: %v %s", err, errOut)
	}
	// A workload is not refused, but warned about.
	_, errOut, err = c.kubectl("create", "deployment", "web", "-n", "locked", "--image=nginx")
	if err != nil || !strings.Contains(errOut, `Warning: would violate PodSecurity "restricted:latest"`) {
		t.Errorf("a deployment in a restricted namespace: %v %s", err, errOut)
	}
	// Warn mode: accepted with a warning.
	c.mustKubectl("create", "namespace", "watched")
	c.mustKubectl("label", "namespace", "watched", "pod-security.kubernetes.io/warn=baseline")
	_, errOut, err = c.kubectlIn(`apiVersion: v1
kind: Pod
metadata: {name: host, namespace: watched}
spec:
  hostNetwork: true
  containers: [{name: c, image: busybox}]
`, "apply", "-f", "-")
	if err != nil || !strings.Contains(errOut, `would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`) {
		t.Errorf("a hostNetwork pod in a namespace warned at baseline: %v %s", err, errOut)
	}
	// Tightening a namespace with pods that would not pass warns of them.
	_, errOut, err = c.kubectl("label", "namespace", "watched", "pod-security.kubernetes.io/enforce=baseline")
	if err != nil || !strings.Contains(errOut, "existing pods in namespace \"watched\" violate the new PodSecurity enforce level") {
		t.Errorf("enforcing baseline over a hostNetwork pod: %v %s", err, errOut)
	}
	// A label that names no level is refused.
	if _, errOut, err := c.kubectl("label", "namespace", "watched", "pod-security.kubernetes.io/enforce=strict", "--overwrite"); err == nil ||
		!strings.Contains(errOut, `must be one of privileged, baseline, restricted`) {
		t.Errorf("an unknown level: %v %s", err, errOut)
	}
}
