package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/podium/podium/internal/nodeclean"
)

// TestAgentUninstall: `podium agent uninstall` refuses while the node runs; once it is
// stopped, with its pods still running, it removes the pods' processes and mounts, the
// pod network (bridge and masquerade rules), the service rules and the node's data. The
// node then comes back from nothing.
func TestAgentUninstall(t *testing.T) {
	c := startAgentCluster(t)
	manifest := `
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: busybox
    command: [httpd, -f, -p, "8080"]
    ports: [{containerPort: 8080, hostPort: 18080}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
`
	if _, errOut, err := c.kubectlIn(manifest, "apply", "-f", "-"); err != nil {
		t.Fatalf("apply: %v %s", err, errOut)
	}
	c.waitRunning("web")
	uninstall := func() (string, error) {
		out, err := exec.Command(filepath.Join(c.bin, "podium"), "agent", "uninstall", "--data-dir", c.dataDir).CombinedOutput()
		return string(out), err
	}
	if out, err := uninstall(); err == nil || !strings.Contains(out, "a podium node is running on this host") {
		t.Fatalf("uninstall with the node running: %v %s; want a refusal", err, out)
	}
	if _, err := exec.Command("nft", "list", "table", "ip", "podium").Output(); err != nil {
		t.Fatalf("the refused uninstall removed the service rules: %v", err)
	}

	c.stop()
	agentDir := filepath.Join(c.dataDir, "agent")
	if len(nodeclean.Shims(agentDir)) == 0 {
		t.Fatal("no pod left running after the node stopped: nothing for uninstall to do")
	}
	if out, err := uninstall(); err != nil {
		t.Fatalf("uninstall: %v %s", err, out)
	}
	if pids := nodeclean.Shims(agentDir); len(pids) > 0 {
		t.Errorf("shims left running: %v", pids)
	}
	if m := nodeclean.Mounts(c.dataDir); len(m) > 0 {
		t.Errorf("mounts left: %v", m)
	}
	if out, err := exec.Command("nft", "list", "table", "ip", "podium").CombinedOutput(); err == nil {
		t.Errorf("the service rules are still there:\n%.500s", out)
	}
	if _, err := os.Stat("/sys/class/net/cni0"); err == nil {
		t.Error("the bridge cni0 is still there")
	}
	if out, _ := exec.Command("iptables", "-t", "nat", "-S", "POSTROUTING").Output(); strings.Contains(string(out), "podium:") {
		t.Errorf("masquerade rules left:\n%s", out)
	}
	if out, _ := exec.Command("iptables", "-t", "nat", "-S").Output(); strings.Contains(string(out), "18080") {
		t.Errorf("the host port's rules are left:\n%s", out)
	}
	if _, err := os.Stat(agentDir); !os.IsNotExist(err) {
		t.Errorf("the node's data is still there: %v", err)
	}

	// A node uninstalled comes back from nothing, and runs its pods again.
	c.start()
	c.waitRunning("web")
}
