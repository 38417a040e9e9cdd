package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/podium/podium/internal/network"
	"github.com/podium/podium/internal/nodeclean"
	"github.com/podium/podium/internal/proxy"
)

// cluster is the podium server the runner started.
type cluster struct {
	bin        string
	root       string // holds dataDir and the registry's blobs
	dataDir    string
	kubeconfig string
	keep       bool
	cmd        *exec.Cmd
	exited     chan struct{}
	log        *os.File
	registry   *localRegistry
	port       string // of the API server
	// hosts and agents are the extra nodes (-agents), each in a network namespace.
	hosts  *hosts
	agents []*agent
}

// startCluster imports the images into a new data directory and starts `podium server`
// (API, scheduler, controllers and the node's agent) there, on free ports, and with
// -agents as many more nodes, each an agent in a network namespace of its own; it returns
// once every node is Ready.
func startCluster(ctx context.Context, o options, images []string) (*cluster, error) {
	// The first node of a fresh cluster gets the first /24 of the default cluster CIDR.
	root, err := os.MkdirTemp("", "podium-conformance-")
	if err != nil {
		return nil, err
	}
	dataDir := filepath.Join(root, "data")
	c := &cluster{bin: o.podiumBin, root: root, dataDir: dataDir, kubeconfig: filepath.Join(dataDir, "kubeconfig.yaml"), keep: o.keep}
	fmt.Printf("starting podium server in %s\n", dataDir)
	// With extra nodes, the server and the registry listen on the hosts' bridge, which
	// every namespace reaches.
	listen := "127.0.0.1"
	if o.agents > 0 {
		if c.hosts, err = makeHosts(o.agents); err != nil {
			c.remove()
			return nil, fmt.Errorf("making the hosts of the extra nodes: %w", err)
		}
		listen = c.hosts.bridgeIP()
	}
	// The node reads DATA_DIR/registries.yaml.
	if err = os.MkdirAll(dataDir, 0o700); err == nil {
		c.registry, err = startRegistry(ctx, filepath.Join(root, "registry"), listen, images)
	}
	if err == nil {
		err = c.registry.writeMirrors(filepath.Join(dataDir, "registries.yaml"))
	}
	if err != nil {
		c.remove()
		return nil, fmt.Errorf("serving the test images: %w", err)
	}
	imp := exec.CommandContext(ctx, c.podium(), append([]string{"image", "import", "--data-dir", dataDir}, images...)...)
	imp.Stdout, imp.Stderr = os.Stdout, os.Stderr
	if err := imp.Run(); err != nil {
		c.remove()
		return nil, fmt.Errorf("importing the test images: %w", err)
	}
	ports, err := freePorts(4)
	if err != nil {
		c.remove()
		return nil, err
	}
	if c.log, err = os.Create(filepath.Join(o.reportDir, "podium.log")); err != nil {
		c.remove()
		return nil, err
	}
	// The kubelet's port where it is free: specs name 10250 in nodes/NAME:10250/proxy.
	if l, err := net.Listen("tcp", ":10250"); err == nil {
		l.Close()
		ports[3] = 10250
	}
	c.port = strconv.Itoa(ports[0])
	args := []string{"server", "--data-dir", dataDir,
		"--https-listen-port", c.port, "--etcd-client-port", strconv.Itoa(ports[1]),
		"--etcd-peer-port", strconv.Itoa(ports[2]), "--agent-port", strconv.Itoa(ports[3]),
		"--pod-log-dir", filepath.Join(dataDir, "pods")}
	if c.hosts != nil {
		args = append(args, "--bind-address", c.hosts.bridgeIP(), "--node-ip", c.hosts.bridgeIP())
	}
	c.cmd = exec.Command(c.podium(), args...)
	// A group of its own: an interrupt at the terminal stops the suite, and the server
	// stays up until stop has deleted the pods through it.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		c.remove()
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		c.remove()
		return nil, err
	}
	c.exited = make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		said := false
		for sc.Scan() {
			fmt.Fprintln(c.log, sc.Text())
			if !said && strings.Contains(sc.Text(), "podium server is ready") {
				said = true
				close(ready)
			}
		}
		_, _ = io.Copy(c.log, stderr)
		_ = c.cmd.Wait()
		close(c.exited)
	}()
	select {
	case <-ready:
	case <-c.exited:
		c.cmd = nil
		c.remove()
		return nil, fmt.Errorf("podium server exited before it was ready; see %s", c.log.Name())
	case <-time.After(time.Minute):
		c.stop()
		return nil, fmt.Errorf("podium server not ready within a minute; see %s", c.log.Name())
	}
	if c.hosts != nil {
		if err := c.startAgents(ctx, o.reportDir, images); err != nil {
			c.stop()
			return nil, err
		}
	}
	if err := c.waitNodesReady(ctx, 1+o.agents); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *cluster) podium() string { return filepath.Join(c.bin, "podium") }

func (c *cluster) kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.podium(), append([]string{"kubectl", "--kubeconfig", c.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitNodesReady waits until n nodes are registered and Ready.
func (c *cluster) waitNodesReady(ctx context.Context, n int) error {
	deadline := time.Now().Add(time.Minute)
	want := strings.Repeat("True ", n)
	for {
		out, err := c.kubectl(ctx, "get", "nodes", "-o", `jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{" "}{end}`)
		if err == nil && out == want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not %d nodes Ready after a minute: %v %s", n, err, out)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// stop deletes every pod, stops the server and removes what its node left on the host:
// the pod network, and then the data directory unless -keep was given.
func (c *cluster) stop() {
	if c.cmd == nil {
		return
	}
	if c.keep {
		fmt.Printf("leaving podium server (pid %d) running with its data in %s\n", c.cmd.Process.Pid, c.dataDir)
		for _, a := range c.agents {
			fmt.Printf("leaving podium agent %s (pid %d) running with its data in %s\n", a.name, a.cmd.Process.Pid, a.dataDir)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	select {
	case <-c.exited:
		fmt.Fprintf(os.Stderr, "podium server had exited; see %s\n", c.log.Name())
	default:
		if out, err := c.kubectl(ctx, "delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--wait=true", "--timeout=150s"); err != nil {
			fmt.Fprintf(os.Stderr, "deleting the pods at the end: %v\n%s", err, out)
		}
	}
	c.stopAgents()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exited
	}
	c.cmd = nil
	c.log.Close()
	c.remove()
}

// remove takes the node's leftovers off the host and removes the data directory: pods
// still attached to the network (when the server died before they were deleted), their
// processes and mounts, and then the node network.
func (c *cluster) remove() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := network.Config{PodCIDR: "10.42.0.0/24", ClusterCIDR: "10.42.0.0/16", StateDir: filepath.Join(c.dataDir, "agent", "network")}
	if err := network.TeardownLeftovers(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "detaching the pods left on the network: %v\n", err)
	}
	if left := nodeclean.Mounts(c.dataDir); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "the node left %d mounts; removing them\n", len(left))
		nodeclean.Force(c.dataDir)
	}
	if err := network.RemoveNodeNetwork(ctx, cfg); err != nil {
		fmt.Fprintf(os.Stderr, "removing the node network: %v\n", err)
	}
	if err := proxy.Remove(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "removing the service rules: %v\n", err)
	}
	c.stopAgents()
	if c.hosts != nil {
		c.hosts.remove()
	}
	c.registry.stop()
	if err := os.RemoveAll(c.root); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "removing %s: %v\n", c.root, err)
	}
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
