package e2e

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/podium/podium/internal/etcd/etcdtest"
)

// counterPod prints a number a line, five times a second.
const counterPod = `apiVersion: v1
kind: Pod
metadata:
  name: counter
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: count
    image: busybox
    command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i; sleep 0.2; done"]
`

// TestAgentRestartReadopts kills the server and its agent with SIGKILL and starts them
// again: the running pod is adopted as it is, without a restart or a lost log line.
func TestAgentRestartReadopts(t *testing.T) {
	c := startAgentCluster(t)
	if _, errOut, err := c.kubectlIn(counterPod, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	before := c.waitRunning("counter")
	id := before.Status.ContainerStatuses[0].ContainerID

	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
	c.cmd = nil
	c.start()

	after := c.waitRunning("counter")
	cs := after.Status.ContainerStatuses[0]
	if cs.ContainerID != id || cs.RestartCount != 0 {
		t.Fatalf("after the restart: container %s restarts %d; before %s", cs.ContainerID, cs.RestartCount, id)
	}
	// The log has every number, in order, across the time the agent was away: follow it
	// until 15 lines are in.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	follow := exec.CommandContext(ctx, filepath.Join(c.bin, "podium"), "kubectl", "--kubeconfig", c.kubeconfig, "logs", "-f", "counter")
	stdout, _ := follow.StdoutPipe()
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = follow.Wait() }()
	sc := bufio.NewScanner(stdout)
	for want := 1; want <= 15; want++ {
		if !sc.Scan() {
			t.Fatalf("log ended before line %d", want)
		}
		if n, err := strconv.Atoi(sc.Text()); err != nil || n != want {
			t.Fatalf("line %d of the log is %q: a line was lost or garbled", want, sc.Text())
		}
	}
}

// TestAgentJoins runs `podium agent` as a node of its own, joined with the token
// `podium server token` prints, and runs a pod there; port-forward reaches it.
func TestAgentJoins(t *testing.T) {
	c := startCluster(t, "--cluster-cidr", testClusterCIDR)
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the node agent needs root")
		}
		t.Skip("the node agent needs root")
	}
	agentDir := t.TempDir()
	seedRegistry(t, agentDir)
	token, err := exec.Command(filepath.Join(c.bin, "podium"), "server", "token", "--data-dir", c.dataDir).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^K10[0-9a-f]{64}::[0-9a-f]+\n$`).Match(token) {
		t.Fatalf("token %q", token)
	}
	agent := exec.Command(filepath.Join(c.bin, "podium"), "agent", "--server", c.url(), "--token", strings.TrimSpace(string(token)),
		"--node-name", "worker-1", "--data-dir", agentDir, "--pod-log-dir", t.TempDir(), "--cluster-cidr", testClusterCIDR,
		"--agent-port", strconv.Itoa(etcdtest.FreePort(t)))
	agent.Stderr = os.Stderr
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _, _ = c.kubectl("delete", "pods", "--all", "--grace-period=1", "--wait=true", "--timeout=60s")
		_ = agent.Process.Signal(syscall.SIGTERM)
		_ = agent.Wait()
		removeTestNetwork(t, filepath.Join(agentDir, "agent", "network"))
	})
	waitFor(t, one(c.client(), "nodes", "", "worker-1"), "node worker-1 Ready", func(n *corev1.Node, ok bool) bool {
		if !ok {
			return false
		}
		for _, cond := range n.Status.Conditions {
			if cond.Type == corev1.NodeReady && cond.Status == corev1.ConditionTrue {
				return n.Spec.PodCIDR != "" && n.Status.NodeInfo.ContainerRuntimeVersion != ""
			}
		}
		return false
	})
	if _, err := c.client().CoordinationV1().Leases("kube-node-lease").Get(bg, "worker-1", metav1.GetOptions{}); err != nil {
		t.Fatalf("node lease: %v", err)
	}
	c.mustKubectl("run", "web", "--image=nginx")
	pod := c.waitRunning("web")
	if pod.Spec.NodeName != "worker-1" {
		t.Fatalf("scheduled to %q", pod.Spec.NodeName)
	}
	// port-forward: traffic goes from loopback to the pod through the agent.
	local := etcdtest.FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pf := exec.CommandContext(ctx, filepath.Join(c.bin, "podium"), "kubectl", "--kubeconfig", c.kubeconfig, "port-forward", "pod/web", strconv.Itoa(local)+":80")
	stdout, _ := pf.StdoutPipe()
	if err := pf.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = pf.Wait() }()
	buf := make([]byte, 256)
	if n, err := stdout.Read(buf); err != nil || !strings.Contains(string(buf[:n]), "Forwarding from") {
		t.Fatalf("port-forward: %v %q", err, buf[:n])
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(local) + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Welcome to nginx!") {
		t.Fatalf("through port-forward: %q", body)
	}
}
