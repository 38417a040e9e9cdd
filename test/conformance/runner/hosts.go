package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/podium/podium/internal/netnstest"
	"github.com/podium/podium/internal/nodeclean"
)

// hostsPrefix is the runner's network of "hosts" for extra nodes: a bridge in the root
// namespace holds .1 (the server binds there) and each agent's network namespace one
// address after it. It differs from the e2e tests' network, so both can exist at once.
const hostsPrefix = "172.31.253"

// hosts are the network namespaces the extra nodes run in, on a bridge of their own.
type hosts struct {
	bridge  string
	names   []string
	removes []func() error
}

// makeHosts makes the bridge and n namespaces, each with an eth0 on the bridge.
func makeHosts(n int) (h *hosts, err error) {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	h = &hosts{bridge: "podc" + id}
	defer func() {
		if err != nil {
			h.remove()
		}
	}()
	ip := func(args ...string) error {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if err := ip("link", "add", h.bridge, "type", "bridge"); err != nil {
		h.bridge = ""
		return h, err
	}
	if err := errors.Join(ip("addr", "add", h.bridgeIP()+"/24", "dev", h.bridge), ip("link", "set", h.bridge, "up")); err != nil {
		return h, err
	}
	for i := 1; i <= n; i++ {
		ns, veth := fmt.Sprintf("podc%s-%d", id, i), fmt.Sprintf("pc%s%d", id, i)
		_, remove, err := netnstest.Make(ns)
		if err != nil {
			return h, err
		}
		h.names, h.removes = append(h.names, ns), append(h.removes, remove)
		if err := errors.Join(
			ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns),
			ip("link", "set", veth, "master", h.bridge, "up"),
			// The bridge hooks into netfilter (br_netfilter, which the pod network
			// needs): a NodePort on the server's node whose endpoint is on the client's
			// node goes back out the port it came in by, which a bridge port does only
			// in hairpin mode.
			ip("link", "set", "dev", veth, "type", "bridge_slave", "hairpin", "on"),
			ip("netns", "exec", ns, "ip", "addr", "add", h.ip(i)+"/24", "dev", "eth0"),
			ip("netns", "exec", ns, "ip", "link", "set", "eth0", "up"),
			ip("netns", "exec", ns, "ip", "link", "set", "lo", "up"),
			// As a host has: traffic to a ClusterIP without endpoints must be routed
			// to reach the rule that rejects it.
			ip("netns", "exec", ns, "ip", "route", "add", "default", "via", h.bridgeIP()),
		); err != nil {
			return h, err
		}
	}
	return h, nil
}

func (h *hosts) bridgeIP() string { return hostsPrefix + ".1" }

// ip is the address of the i-th host (from 1).
func (h *hosts) ip(i int) string { return fmt.Sprintf("%s.%d", hostsPrefix, 10+i) }

// remove deletes the namespaces (and with them whatever the agents made inside) and the
// bridge.
func (h *hosts) remove() {
	for _, r := range h.removes {
		if err := r(); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
	}
	h.removes = nil
	if h.bridge != "" {
		if out, err := exec.Command("ip", "link", "del", h.bridge).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "removing bridge %s: %v: %s\n", h.bridge, err, out)
		}
		h.bridge = ""
	}
}

// agent is a `podium agent` the runner started in one of the hosts.
type agent struct {
	name    string
	dataDir string
	cmd     *exec.Cmd
	exited  chan struct{}
	log     *os.File
}

// startAgents joins one agent per host to the cluster, each with the test images
// imported and the runner's registry as registry.k8s.io's mirror.
func (c *cluster) startAgents(ctx context.Context, reportDir string, images []string) error {
	token, err := exec.CommandContext(ctx, c.podium(), "server", "token", "--data-dir", c.dataDir).Output()
	if err != nil {
		return fmt.Errorf("podium server token: %w", err)
	}
	for i, ns := range c.hosts.names {
		a := &agent{name: fmt.Sprintf("agent-%d", i+1), dataDir: filepath.Join(c.root, fmt.Sprintf("agent-%d", i+1))}
		if err := os.MkdirAll(a.dataDir, 0o700); err != nil {
			return err
		}
		if err := c.registry.writeMirrors(filepath.Join(a.dataDir, "registries.yaml")); err != nil {
			return err
		}
		imp := exec.CommandContext(ctx, c.podium(), append([]string{"image", "import", "--data-dir", a.dataDir}, images...)...)
		if out, err := imp.CombinedOutput(); err != nil {
			return fmt.Errorf("importing the test images for %s: %v: %s", a.name, err, out)
		}
		if a.log, err = os.Create(filepath.Join(reportDir, a.name+".log")); err != nil {
			return err
		}
		// nsenter, unlike ip netns exec, leaves /sys (and so the cgroup mounts) alone.
		a.cmd = exec.Command("nsenter", "--net=/run/netns/"+ns, c.podium(), "agent",
			"--server", "https://"+c.hosts.bridgeIP()+":"+c.port, "--token", strings.TrimSpace(string(token)),
			"--node-name", a.name, "--data-dir", a.dataDir, "--pod-log-dir", filepath.Join(a.dataDir, "pods"))
		a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
		a.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := a.cmd.Start(); err != nil {
			a.log.Close()
			return err
		}
		a.exited = make(chan struct{})
		go func() { _ = a.cmd.Wait(); close(a.exited) }()
		c.agents = append(c.agents, a)
	}
	return nil
}

// stopAgents stops the agents (after the pods are gone) and removes what they left in
// their data directories.
func (c *cluster) stopAgents() {
	for _, a := range c.agents {
		_ = a.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, a := range c.agents {
		select {
		case <-a.exited:
		case <-time.After(30 * time.Second):
			_ = a.cmd.Process.Kill()
			<-a.exited
		}
		a.log.Close()
		if left := nodeclean.Mounts(a.dataDir); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "%s left %d mounts; removing them\n", a.name, len(left))
			nodeclean.Force(a.dataDir)
		}
	}
	c.agents = nil
}
