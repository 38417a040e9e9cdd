package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// TestNetworkPolicy: a NetworkPolicy that lets into the echo pod only pods labelled
// role=client on port 3000 denies the other client and then, deleted, denies nothing;
// an egress policy keeps a client to the echo pod. The agent's readiness probes still
// reach the isolated pod.
func TestNetworkPolicy(t *testing.T) {
	c := startAgentCluster(t)
	manifest := `
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  containers:
  - name: echo
    image: subicura/echo:v1
    readinessProbe:
      tcpSocket: {port: 3000}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: other, labels: {app: other}}
spec:
  containers:
  - name: echo
    image: subicura/echo:v1
---
apiVersion: v1
kind: Pod
metadata: {name: allowed, labels: {role: client}}
spec:
  containers: [{name: c, image: busybox, command: ["sleep", "3600"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: denied}
spec:
  containers: [{name: c, image: busybox, command: ["sleep", "3600"]}]
`
	if _, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	web, other := c.waitRunning("web"), c.waitRunning("other")
	c.waitRunning("allowed")
	c.waitRunning("denied")
	reach := func(from string, to *corev1.Pod) bool {
		t.Helper()
		out, _, _ := c.kubectl("exec", from, "--", "sh", "-c", `printf 'GET / HTTP/1.0\r\n\r\n' | nc -w 2 `+to.Status.PodIP+` 3000`)
		return strings.Contains(out, "host: "+to.Name)
	}
	expect := func(from string, to *corev1.Pod, want bool) {
		t.Helper()
		if got := reach(from, to); got != want {
			t.Fatalf("%s reaches %s: %v, want %v", from, to.Name, got, want)
		}
	}
	expect("allowed", web, true)
	expect("denied", web, true)

	policy := `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-clients}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: 3000}]
`
	if _, errOut, err := c.kubectlIn(policy, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the policy: %v %s", err, errOut)
	}
	if out := c.mustKubectl("get", "netpol"); !strings.Contains(out, "web-clients") || !strings.Contains(out, "app=web") {
		t.Fatalf("get netpol:\n%s", out)
	}
	waitUntil(t, "the policy denies the other client", func() bool { return !reach("denied", web) })
	expect("allowed", web, true)
	expect("denied", other, true) // not selected: not isolated

	egress := `
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allowed-out}
spec:
  podSelector: {matchLabels: {role: client}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {app: web}}}]
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
`
	if _, errOut, err := c.kubectlIn(egress, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply the egress policy: %v %s", err, errOut)
	}
	waitUntil(t, "the egress policy keeps the client from the other pod", func() bool { return !reach("allowed", other) })
	expect("allowed", web, true)
	// Egress to the cluster DNS, allowed as upstream's users allow it (to the kube-dns
	// pods), reaches podium's built-in DNS.
	if out, errOut, err := c.kubectl("exec", "allowed", "--", "nslookup", "kubernetes.default.svc.cluster.local"); err != nil || !strings.Contains(out, "10.43.0.1") {
		t.Fatalf("DNS under an egress policy that allows it: %v\n%s%s", err, out, errOut)
	}

	c.mustKubectl("delete", "netpol", "web-clients", "allowed-out")
	waitUntil(t, "the policies gone", func() bool { return reach("denied", web) && reach("allowed", other) })
	c.waitRunning("web") // its readiness probe passed throughout
}

// waitUntil polls cond (the dataplane, which no watch shows) until it holds, for at
// most 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	})
	if err != nil {
		t.Fatalf("waiting until %s: %v", what, err)
	}
}
