package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	podagent "github.com/podium/podium/internal/agent"
	"github.com/podium/podium/internal/network"
	"github.com/podium/podium/internal/proxy"
	"github.com/podium/podium/test/images"
)

// benchNodeCIDR is the pod range the benchmark node gets: the first /24 of
// benchClusterCIDR.
const benchNodeCIDR = "10.244.160.0/24"

// node is a server without an agent of its own and one agent process beside it, whose
// images come from a registry in this process.
type node struct {
	server    *Server
	agent     *exec.Cmd
	agentPort int
	token     string
	dataDir   string // the agent's
	stop      func()
}

// startNode starts a node for pods pods under root; stop ends it and removes its
// network from the host.
func startNode(bin, moduleRoot, root string, pods int) (*node, error) {
	imgs, err := images.Seed(moduleRoot)
	if err != nil {
		return nil, err
	}
	host, stopRegistry, err := images.Serve(imgs)
	if err != nil {
		return nil, err
	}
	s := NewServer(bin, filepath.Join(root, "server"))
	s.Args = []string{"--cluster-cidr", benchClusterCIDR}
	if _, err := s.Start(); err != nil {
		stopRegistry()
		return nil, err
	}
	fail := func(err error) (*node, error) {
		s.Stop()
		stopRegistry()
		return nil, err
	}
	token, err := exec.Command(filepath.Join(bin, "podium"), "server", "token", "--data-dir", s.DataDir).Output()
	if err != nil {
		return fail(fmt.Errorf("podium server token: %w", err))
	}
	agentDir := filepath.Join(root, "agent")
	if err := images.WriteMirror(agentDir, host); err != nil {
		return fail(err)
	}
	n := &node{server: s, agentPort: freePort(), token: strings.TrimSpace(string(token)), dataDir: agentDir}
	n.agent = exec.Command(filepath.Join(bin, "podium"), "agent", "--server", fmt.Sprintf("https://127.0.0.1:%d", s.Port),
		"--token", n.token, "--node-name", "bench-node", "--data-dir", agentDir,
		"--pod-log-dir", filepath.Join(root, "logs"), "--cluster-cidr", benchClusterCIDR, "--agent-port", strconv.Itoa(n.agentPort),
		"--max-pods", strconv.Itoa(max(pods, podagent.MaxPods))) // a node that holds them all
	n.agent.Stderr = os.Stderr
	if err := n.agent.Start(); err != nil {
		return fail(err)
	}
	n.stop = func() {
		_ = n.agent.Process.Signal(syscall.SIGTERM)
		_ = n.agent.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = network.RemoveNodeNetwork(ctx, network.Config{PodCIDR: benchNodeCIDR, ClusterCIDR: benchClusterCIDR,
			StateDir: filepath.Join(agentDir, "agent", "network")})
		_ = proxy.Remove(ctx)
		s.Stop()
		stopRegistry()
	}
	return n, nil
}
