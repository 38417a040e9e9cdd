package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podium/podium/internal/etcd/etcdtest"
	"github.com/podium/podium/internal/network"
	"github.com/podium/podium/internal/nodeclean"
	"github.com/podium/podium/internal/proxy"
)

// testClusterCIDR is the pod network of e2e clusters with an agent: a range of its own,
// so that it meets no other network on the machine.
const testClusterCIDR = "10.244.96.0/20"

// startAgentCluster starts podium server with its node agent, which pulls the seed's
// images from a loopback registry through a docker.io mirror. At the end it deletes
// every pod, stops the server and checks that nothing is left on the host.
func startAgentCluster(t *testing.T, args ...string) *cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the node agent needs root")
		}
		t.Skip("the node agent needs root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("runc is missing: run `make deps`")
		}
		t.Skip("runc is missing")
	}
	dataDir := t.TempDir()
	registry := seedRegistry(t, dataDir)
	logDir := t.TempDir()
	c := &cluster{t: t, bin: binDir(t), dataDir: dataDir, kubeconfig: filepath.Join(dataDir, "kubeconfig.yaml"), registry: registry,
		port: etcdtest.FreePort(t), etcdPort: etcdtest.FreePort(t), peerPort: etcdtest.FreePort(t),
		withAgent: true,
		extraArgs: []string{"--node-name", "e2e-node", "--pod-log-dir", logDir, "--cluster-cidr", testClusterCIDR,
			"--agent-port", strconv.Itoa(etcdtest.FreePort(t))}}
	c.extraArgs = append(c.extraArgs, args...)
	c.start()
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpState()
		}
		// Workloads go first, or their controllers would replace the pods deleted below.
		out, errOut, err := c.kubectl("delete", "cronjobs,jobs,deployments,replicasets,replicationcontrollers,statefulsets,daemonsets",
			"--all", "--all-namespaces", "--wait=false")
		if err != nil {
			t.Errorf("deleting workloads at the end: %v\n%s%s", err, out, errOut)
		}
		out, errOut, err = c.kubectl("delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--wait=true", "--timeout=60s")
		if err != nil {
			t.Errorf("deleting pods at the end: %v\n%s%s", err, out, errOut)
		}
		c.stop()
		removeTestNetwork(t, filepath.Join(dataDir, "agent", "network"))
		if leftovers := nodeclean.Mounts(dataDir); len(leftovers) > 0 {
			t.Errorf("mounts left on the host: %v", leftovers)
			forceCleanUp(t, dataDir)
		}
	})
	// Tests start from a Ready node without the not-ready taint: a DaemonSet made
	// before would see no node to run on and report itself rolled out.
	waitFor(t, one(c.client(), "nodes", "", "e2e-node"), "the node to be Ready", func(n *corev1.Node, ok bool) bool {
		if !ok || slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady }) {
			return false
		}
		return slices.ContainsFunc(n.Status.Conditions, func(c corev1.NodeCondition) bool {
			return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
		})
	})
	return c
}

// removeTestNetwork removes the bridge and rules the first node of a test cluster left.
func removeTestNetwork(t *testing.T, stateDir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := network.RemoveNodeNetwork(ctx, network.Config{PodCIDR: "10.244.96.0/24", ClusterCIDR: testClusterCIDR, StateDir: stateDir}); err != nil {
		t.Errorf("removing the node network: %v", err)
	}
	if err := proxy.Remove(ctx); err != nil {
		t.Errorf("removing the service rules: %v", err)
	}
}

// forceCleanUp removes what a failed test left of its pods: the shims and their
// containers, mounts, and the node network. It runs only after a failure was reported.
func forceCleanUp(t *testing.T, dataDir string) {
	t.Helper()
	stateDir := filepath.Join(dataDir, "agent", "network")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := network.TeardownLeftovers(ctx, network.Config{PodCIDR: "10.244.96.0/24", ClusterCIDR: testClusterCIDR, StateDir: stateDir}); err != nil {
		t.Errorf("detaching the pods left on the network: %v", err)
	}
	nodeclean.Force(dataDir)
	removeTestNetwork(t, stateDir)
}

// waitRunning waits until a pod is Running with every container ready.
func (c *cluster) waitRunning(name string) *corev1.Pod {
	c.t.Helper()
	var got *corev1.Pod
	waitFor(c.t, one(c.client(), "pods", "default", name), "pod "+name+" running", func(p *corev1.Pod, ok bool) bool {
		if !ok || p.Status.Phase != corev1.PodRunning {
			return false
		}
		for _, cs := range p.Status.ContainerStatuses {
			if !cs.Ready {
				return false
			}
		}
		got = p
		return true
	})
	return got
}

func TestSeedPodLifecycle(t *testing.T) {
	c := startAgentCluster(t)
	// R6, R7: kubectl run, get, describe.
	c.mustKubectl("run", "nginx", "--image=nginx", "--port=80")
	pod := c.waitRunning("nginx")
	if pod.Status.PodIP == "" || !strings.HasPrefix(pod.Status.PodIP, "10.244.96.") || pod.Spec.NodeName != "e2e-node" {
		t.Fatalf("pod IP %q node %q", pod.Status.PodIP, pod.Spec.NodeName)
	}
	out := c.mustKubectl("get", "pods", "-o", "wide")
	if !regexp.MustCompile(`nginx\s+1/1\s+Running\s+0\s+\S+\s+10\.244\.96\.\d+\s+e2e-node`).MatchString(out) {
		t.Fatalf("get pods -o wide:\n%s", out)
	}
	out = c.mustKubectl("describe", "pod", "nginx")
	for _, want := range []string{"Status:           Running", `Pulling image "nginx"`, `Successfully pulled image "nginx"`, "Created container: nginx", "Started container nginx"} {
		if !strings.Contains(out, want) {
			t.Errorf("describe lacks %q:\n%s", want, out)
		}
	}
	// R11: logs, exec.
	out = c.mustKubectl("exec", "nginx", "--", "wget", "-qO-", "http://localhost:80/")
	if !strings.Contains(out, "Welcome to nginx!") {
		t.Fatalf("exec wget: %q", out)
	}
	out = c.mustKubectl("logs", "nginx")
	if !strings.Contains(out, "response:200") { // busybox httpd -v logs each answer
		t.Fatalf("logs: %q", out)
	}
	out = c.mustKubectl("exec", "nginx", "--", "sh", "-c", "pwd; hostname")
	if out != "/\nnginx\n" {
		t.Fatalf("exec pwd/hostname: %q", out)
	}
	_, _, err := c.kubectl("exec", "nginx", "--", "sh", "-c", "exit 3")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("exec exit code: %v", err)
	}
	// R11: delete.
	c.mustKubectl("delete", "pod/nginx")
	if _, err := c.client().CoreV1().Pods("default").Get(bg, "nginx", metav1.GetOptions{}); err == nil {
		t.Fatal("pod still there after kubectl delete returned")
	}
}

// TestSharedNetworkAndVolumes covers R3, R4 and R5: containers of a pod reach each other
// on localhost and share a volume; a sidecar collects the main container's log file.
func TestSharedNetworkAndVolumes(t *testing.T) {
	c := startAgentCluster(t)
	manifest := `apiVersion: v1
kind: Pod
metadata:
  name: shared
spec:
  volumes:
  - name: logs
    emptyDir: {}
  containers:
  - name: a
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo from-a > /www/index.html && httpd -f -p 7777 -h /www"]
  - name: b
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo from-b > /www/index.html && httpd -f -p 8888 -h /www"]
  - name: writer
    image: busybox
    command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo line-$i >> /logs/app.log; sleep 1; done"]
    volumeMounts:
    - {name: logs, mountPath: /logs}
  - name: collector
    image: busybox
    command: ["sh", "-c", "touch /logs/app.log; tail -f /logs/app.log"]
    volumeMounts:
    - {name: logs, mountPath: /logs}
`
	if _, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	c.waitRunning("shared")
	if out := c.mustKubectl("exec", "shared", "-c", "a", "--", "wget", "-qO-", "http://localhost:8888/"); out != "from-b\n" {
		t.Fatalf("a -> b: %q", out)
	}
	if out := c.mustKubectl("exec", "shared", "-c", "b", "--", "wget", "-qO-", "http://localhost:7777/"); out != "from-a\n" {
		t.Fatalf("b -> a: %q", out)
	}
	if out := c.mustKubectl("exec", "shared", "-c", "collector", "--", "cat", "/logs/app.log"); !strings.Contains(out, "line-1") {
		t.Fatalf("shared volume: %q", out)
	}
	// The sidecar's own log shows what it collected.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, "podium"), "kubectl", "--kubeconfig", c.kubeconfig, "logs", "-f", "shared", "-c", "collector")
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	buf := make([]byte, 4096)
	var got string
	for !strings.Contains(got, "line-2") {
		n, err := outPipe.Read(buf)
		if err != nil {
			t.Fatalf("logs -f ended: %v (got %q)", err, got)
		}
		got += string(buf[:n])
	}
}
