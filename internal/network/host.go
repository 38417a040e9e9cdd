package network

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// hostRules are the node-wide nat POSTROUTING rules, in order. The first lets traffic
// from this node's pods to the cluster CIDR (or, without one, to the pod CIDR) keep its
// source address; packets portmap marked for masquerading (a pod reaching a hostPort that
// leads back to the bridge) are not exempt. The second masquerades the rest of the pods'
// traffic, except multicast, as the bridge plugin's ipMasq would with a chain per pod.
func hostRules(s *settings) [][]string {
	mark := fmt.Sprintf("%#x/%#x", 1<<masqMarkBit, 1<<masqMarkBit)
	local := s.podCIDR
	if s.clusterCIDR.IsValid() {
		local = s.clusterCIDR
	}
	return [][]string{{
		"-s", s.podCIDR.String(), "-d", local.String(),
		"-m", "mark", "!", "--mark", mark,
		"-m", "comment", "--comment", "podium: pod to cluster traffic keeps its source",
		"-j", "RETURN",
	}, {
		"-s", s.podCIDR.String(), "!", "-d", "224.0.0.0/4",
		"-m", "comment", "--comment", "podium: pod traffic to outside the cluster is masqueraded",
		"-j", "MASQUERADE",
	}}
}

// ensureHostRules installs the node-wide iptables rules once per process, at the top of
// POSTROUTING.
func (n *cniNetwork) ensureHostRules(ctx context.Context) error {
	n.hostMu.Lock()
	defer n.hostMu.Unlock()
	if n.hostReady {
		return nil
	}
	for i, rule := range hostRules(n.s) {
		ok, err := iptablesHasRule(ctx, "nat", "POSTROUTING", rule)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		if err := runIPTables(ctx, append([]string{"-t", "nat", "-I", "POSTROUTING", strconv.Itoa(i + 1)}, rule...)...); err != nil {
			return fmt.Errorf("adding the node's masquerade rules: %w", err)
		}
	}
	n.hostReady = true
	return nil
}

// RemoveNodeNetwork removes what the pod network leaves on the host once every pod is torn
// down: the bridge (which DEL leaves in place), the masquerade rules Setup added, and
// portmap's shared CNI-HOSTPORT-* chains when no hostPort of any CNI user remains in them.
// While the bridge still has ports it removes nothing and says which. It leaves StateDir
// (the caller owns it) and net.ipv4.ip_forward, which the bridge plugin set to 1. It is
// idempotent and needs no Network: the agent calls it on node teardown, after tearing down
// every pod.
func RemoveNodeNetwork(ctx context.Context, cfg Config) error {
	s, err := resolve(cfg)
	if err != nil {
		return err
	}
	exists, err := checkBridgeIdle(s.BridgeName)
	if err != nil {
		return err
	}
	var errs []error
	for _, rule := range hostRules(s) {
		if err := iptablesDeleteRule(ctx, "nat", "POSTROUTING", rule); err != nil {
			errs = append(errs, fmt.Errorf("removing the node's masquerade rules: %w", err))
		}
	}
	if save, err := iptablesSaveNAT(ctx); err != nil {
		errs = append(errs, err)
	} else if err := iptablesRestore(ctx, portmapCleanup(save)); err != nil {
		// A hostPort appeared after the save; the chains are still in use.
		errs = append(errs, fmt.Errorf("removing portmap's chains: %w", err))
	}
	if exists {
		if err := deleteLink(s.BridgeName); err != nil && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("deleting bridge %q: %w", s.BridgeName, err))
		}
	}
	return errors.Join(errs...)
}

// checkBridgeIdle reports whether the bridge called name exists, and fails if the link is
// not a bridge or has ports.
func checkBridgeIdle(name string) (exists bool, err error) {
	dev := filepath.Join("/sys/class/net", name)
	if _, err := os.Stat(dev); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if _, err := os.Stat(filepath.Join(dev, "bridge")); err != nil {
		return false, fmt.Errorf("link %q is not a bridge; leaving it", name)
	}
	ports, err := os.ReadDir(filepath.Join(dev, "brif"))
	if err != nil {
		return false, fmt.Errorf("bridge %q: %w", name, err)
	}
	if len(ports) > 0 {
		names := make([]string, len(ports))
		for i, p := range ports {
			names[i] = p.Name()
		}
		return true, fmt.Errorf("bridge %q still has ports (%s): tear down its pods first", name, strings.Join(names, ", "))
	}
	return true, nil
}

// deleteLink sends RTM_DELLINK for the link called name and waits for the kernel's answer.
func deleteLink(name string) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	kernel := &unix.SockaddrNetlink{Family: unix.AF_NETLINK}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}

	// nlmsghdr, ifinfomsg (all zero: the link is named, not indexed), IFLA_IFNAME.
	ne := binary.NativeEndian
	attr := append([]byte(name), 0)
	attrLen := unix.SizeofRtAttr + len(attr)
	msgLen := unix.NLMSG_HDRLEN + unix.SizeofIfInfomsg + (attrLen+unix.RTA_ALIGNTO-1)&^(unix.RTA_ALIGNTO-1)
	msg := make([]byte, msgLen)
	ne.PutUint32(msg[0:], uint32(msgLen))
	ne.PutUint16(msg[4:], unix.RTM_DELLINK)
	ne.PutUint16(msg[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	ne.PutUint32(msg[8:], 1) // sequence number
	a := msg[unix.NLMSG_HDRLEN+unix.SizeofIfInfomsg:]
	ne.PutUint16(a[0:], uint16(attrLen))
	ne.PutUint16(a[2:], unix.IFLA_IFNAME)
	copy(a[unix.SizeofRtAttr:], attr)
	if err := unix.Sendto(fd, msg, 0, kernel); err != nil {
		return err
	}

	buf := make([]byte, 1<<16)
	for {
		nr, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:nr])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR || m.Header.Seq != 1 {
				continue
			}
			if len(m.Data) < 4 {
				return errors.New("short netlink error message")
			}
			if code := int32(ne.Uint32(m.Data)); code != 0 {
				return syscall.Errno(-code)
			}
			return nil
		}
	}
}

// runIPTables runs iptables, waiting for the xtables lock as the plugins do.
func runIPTables(ctx context.Context, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "iptables", append([]string{"-w"}, args...)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// iptablesHasRule reports whether chain in table holds rule.
func iptablesHasRule(ctx context.Context, table, chain string, rule []string) (bool, error) {
	err := runIPTables(ctx, append([]string{"-t", table, "-C", chain}, rule...)...)
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == 1:
		return false, nil // "does a matching rule exist in that chain?"
	default:
		return false, err
	}
}

// iptablesDeleteRule deletes every copy of rule from chain in table.
func iptablesDeleteRule(ctx context.Context, table, chain string, rule []string) error {
	for {
		ok, err := iptablesHasRule(ctx, table, chain, rule)
		if err != nil || !ok {
			return err
		}
		if err := runIPTables(ctx, append([]string{"-t", table, "-D", chain}, rule...)...); err != nil {
			return err
		}
	}
}

// removeMasqueradeRules deletes the bridge plugin's masquerade rules for sandbox id. The
// plugin (1.1.1) finds them through the addresses on the pod's interface, so its DEL
// leaves them behind when the namespace is gone; this finds them by their comment.
func removeMasqueradeRules(ctx context.Context, id string) error {
	save, err := iptablesSaveNAT(ctx)
	if err != nil {
		return err
	}
	return iptablesRestore(ctx, masqueradeCleanup(save, networkName, id))
}

// masqueradeCleanup returns the iptables-restore script that deletes, from the nat table
// in save (iptables-save output), the bridge plugin's POSTROUTING jumps for network and
// sandbox id and the chains they jump to; "" when there are none.
func masqueradeCleanup(save, network, id string) string {
	comment := `--comment "` + strings.ReplaceAll(fmt.Sprintf("name: %q id: %q", network, id), `"`, `\"`) + `"`
	var b strings.Builder
	var chains []string
	inNat := false
	for line := range strings.Lines(save) {
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "*") {
			inNat = line == "*nat"
			continue
		}
		rule, ok := strings.CutPrefix(line, "-A POSTROUTING ")
		if !inNat || !ok || !strings.Contains(rule, comment) {
			continue
		}
		b.WriteString("-D POSTROUTING " + rule + "\n")
		if i := strings.LastIndex(rule, " -j "); i >= 0 {
			if target := strings.Fields(rule[i+len(" -j "):]); len(target) > 0 && strings.HasPrefix(target[0], "CNI-") {
				chains = append(chains, target[0])
			}
		}
	}
	if b.Len() == 0 {
		return ""
	}
	for _, c := range chains {
		b.WriteString("-F " + c + "\n-X " + c + "\n")
	}
	return "*nat\n" + b.String() + "COMMIT\n"
}

// portmapChains are the chains portmap shares between all its users on the host.
var portmapChains = []string{"CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK"}

// portmapCleanup returns the iptables-restore script that removes portmap's shared chains
// and the jumps to them, from the nat table in save; "" when CNI-HOSTPORT-DNAT still holds
// a hostPort or the chains are absent. iptables-restore commits a table all or nothing,
// and deleting a chain that has rules or is jumped to fails, so if a hostPort appears
// between the save and the restore nothing is removed.
func portmapCleanup(save string) string {
	var jumps []string
	present := map[string]bool{}
	inNat, dnatRules := false, 0
	for line := range strings.Lines(save) {
		line = strings.TrimRight(line, "\r\n")
		if strings.HasPrefix(line, "*") {
			inNat = line == "*nat"
			continue
		}
		if !inNat {
			continue
		}
		for _, c := range portmapChains {
			if line == ":"+c || strings.HasPrefix(line, ":"+c+" ") {
				present[c] = true
			}
		}
		if strings.HasPrefix(line, "-A CNI-HOSTPORT-DNAT ") {
			dnatRules++
		}
		for _, builtin := range []string{"PREROUTING", "OUTPUT", "POSTROUTING"} {
			rule, ok := strings.CutPrefix(line, "-A "+builtin+" ")
			if ok && (strings.HasSuffix(rule, "-j CNI-HOSTPORT-DNAT") || strings.HasSuffix(rule, "-j CNI-HOSTPORT-MASQ")) {
				jumps = append(jumps, "-D "+builtin+" "+rule)
			}
		}
	}
	if dnatRules > 0 || (len(present) == 0 && len(jumps) == 0) {
		return ""
	}
	var b strings.Builder
	b.WriteString("*nat\n")
	for _, j := range jumps {
		b.WriteString(j + "\n")
	}
	for _, c := range portmapChains {
		if !present[c] {
			continue
		}
		if c != "CNI-HOSTPORT-DNAT" { // never flushed: deleting it must fail if it has rules
			b.WriteString("-F " + c + "\n")
		}
		b.WriteString("-X " + c + "\n")
	}
	b.WriteString("COMMIT\n")
	return b.String()
}

// iptablesSaveNAT returns the nat table as iptables-save prints it.
func iptablesSaveNAT(ctx context.Context) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "iptables-save", "-t", "nat")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("iptables-save: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// iptablesRestore applies script, which changes only what it names; "" does nothing.
func iptablesRestore(ctx context.Context, script string) error {
	if script == "" {
		return nil
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "iptables-restore", "-w", "--noflush")
	cmd.Stdin = strings.NewReader(script)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("iptables-restore: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// TeardownLeftovers tears down every pod attachment that the node's CNI cache (below
// cfg.StateDir) still records: what an agent that died, or was killed, left attached. It
// is the first step of cleaning up after such a node, before its namespaces are unmounted
// and RemoveNodeNetwork runs; a namespace still mounted gets its interface removed at
// once, so the bridge is idle when this returns.
func TeardownLeftovers(ctx context.Context, cfg Config) error {
	nw, err := New(cfg)
	if err != nil {
		return err
	}
	n := nw.(*cniNetwork)
	atts, err := n.cni.GetCachedAttachments("")
	if err != nil {
		return fmt.Errorf("reading the CNI cache: %w", err)
	}
	var errs []error
	for _, a := range atts {
		if a.Network != n.pod.Name || a.IfName != podIfName {
			continue
		}
		pod := Pod{ID: a.ContainerID}
		for _, kv := range a.CniArgs {
			switch kv[0] {
			case "K8S_POD_NAMESPACE":
				pod.Namespace = kv[1]
			case "K8S_POD_NAME":
				pod.Name = kv[1]
			case "K8S_POD_UID":
				pod.UID = kv[1]
			}
		}
		if err := n.Teardown(ctx, pod, a.NetNS, nil); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
