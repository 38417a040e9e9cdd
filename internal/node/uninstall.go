package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/podium/podium/internal/network"
	"github.com/podium/podium/internal/nodeclean"
	"github.com/podium/podium/internal/proxy"
)

// Uninstall removes from the host what the node agent whose data directory is dir left
// there once it stopped: its pods' containers, network attachments and mounts, the pod
// network (the bridge and its rules), the service rules (the nftables table), and then
// dir itself unless keepData. It refuses while a podium agent, or a server that runs
// one, is running in this network namespace: the bridge and the table are shared.
func Uninstall(ctx context.Context, dir string, keepData bool) error {
	if pid := runningNode(); pid != 0 {
		return fmt.Errorf("a podium node is running on this host (pid %d): stop it first", pid)
	}
	var errs []error
	cfg, recorded, err := network.Recorded(filepath.Join(dir, "network"))
	if err != nil {
		errs = append(errs, err)
	}
	if recorded {
		if err := network.TeardownLeftovers(ctx, cfg); err != nil {
			errs = append(errs, fmt.Errorf("detaching the pods from the network: %w", err))
		}
	}
	nodeclean.Force(dir)
	if recorded {
		if err := network.RemoveNodeNetwork(ctx, cfg); err != nil {
			errs = append(errs, fmt.Errorf("removing the pod network: %w", err))
		}
	}
	if err := proxy.Remove(ctx); err != nil {
		errs = append(errs, fmt.Errorf("removing the service rules: %w", err))
	}
	if len(errs) == 0 && !keepData {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// runningNode returns the PID of a `podium agent`, or a `podium server` without
// --disable-agent, in this process's network namespace; 0 when there is none.
func runningNode() int {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return 0
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		if pid == os.Getpid() {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := bytes.Split(bytes.TrimRight(data, "\x00"), []byte{0})
		if len(args) < 2 || filepath.Base(string(args[0])) != "podium" {
			continue
		}
		mode := string(args[1])
		if mode != "agent" && mode != "server" {
			continue
		}
		if len(args) > 2 && (string(args[2]) == "uninstall" || string(args[2]) == "token") {
			continue // podium agent uninstall, podium server token
		}
		if mode == "server" && bytes.Contains(data, []byte("\x00--disable-agent")) {
			continue
		}
		if ns, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "ns", "net")); err == nil && ns == self {
			return pid
		}
	}
	return 0
}
