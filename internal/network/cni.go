package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"golang.org/x/sys/unix"
)

// podIfName is the pod's interface on the bridge.
const podIfName = "eth0"

// rollbackTimeout bounds the DEL that undoes a failed ADD when Setup's context is done.
const rollbackTimeout = 30 * time.Second

// cniNetwork attaches pods with libcni. Setup and Teardown of one sandbox ID are
// serialized; different IDs run in parallel (host-local locks its own allocation files
// and the plugins take the xtables lock for iptables).
type cniNetwork struct {
	s   *settings
	log *slog.Logger
	// cni runs the plugins. Its exec is set at construction, so libcni never writes to
	// the struct and one value is safe for concurrent use.
	cni *libcni.CNIConfig
	// pod is eth0's conflist: bridge alone, or bridge and portmap for a pod with
	// hostPorts. Both have one name, so that libcni's cache finds either.
	pod, podPorts *libcni.NetworkConfigList
	lo            *libcni.PluginConfig // loopback, for the DEL of an older podium's ADD
	byID          keyedMutex           // serializes Setup and Teardown per sandbox ID

	hostMu sync.Mutex // guards hostReady; held while the host rules are installed
	// portsMu serializes the ADDs that run portmap: the plugin makes its top-level
	// chains when they are missing, and two at once race (the second fails with "File
	// exists"). Pods with hostPorts are few, so waiting costs little.
	portsMu   sync.Mutex
	hostReady bool // the node-wide iptables rules are in place
}

var _ Network = (*cniNetwork)(nil)

// New checks cfg and that the plugins and iptables are installed, and returns a Network
// for the node. It changes nothing on the host: the bridge appears with the first pod
// (the bridge plugin creates it) and the node-wide masquerade exemption with the first
// Setup. Errors are ErrInvalidConfig or ErrNotInstalled.
func New(cfg Config) (Network, error) {
	s, err := resolve(cfg)
	if err != nil {
		return nil, err
	}
	if err := checkInstalled(s); err != nil {
		return nil, err
	}
	if err := writeRecord(s); err != nil {
		return nil, fmt.Errorf("recording the node network: %w", err)
	}
	var lists [2]*libcni.NetworkConfigList
	for i, withPortmap := range []bool{false, true} {
		b, err := podNetworkConf(s, withPortmap)
		if err != nil {
			return nil, err
		}
		if lists[i], err = libcni.NetworkConfFromBytes(b); err != nil {
			return nil, fmt.Errorf("pod network conflist: %w", err)
		}
	}
	loBytes, err := loopbackNetworkConf()
	if err != nil {
		return nil, err
	}
	lo, err := libcni.NetworkPluginConfFromBytes(loBytes)
	if err != nil {
		return nil, fmt.Errorf("loopback network config: %w", err)
	}
	exec := &invoke.DefaultExec{
		RawExec:       &invoke.RawExec{Stderr: pluginStderr{s.Logger}},
		PluginDecoder: version.PluginDecoder{},
	}
	return &cniNetwork{
		s:        s,
		log:      s.Logger,
		cni:      libcni.NewCNIConfigWithCacheDir(s.BinDirs, s.cacheDir(), exec),
		pod:      lists[0],
		podPorts: lists[1],
		lo:       lo,
	}, nil
}

// Setup brings lo up and runs ADD for the bridge and portmap. When the bridge or
// portmap fails, it runs DEL so that the address and rules taken so far are released.
// Setup of a sandbox ID that is already set up is not supported: tear it down first.
func (n *cniNetwork) Setup(ctx context.Context, pod Pod, netnsPath string, ports []PortMapping) (Result, error) {
	fail := func(err error) (Result, error) {
		return Result{}, fmt.Errorf("network setup of pod %s/%s (sandbox %q): %w", pod.Namespace, pod.Name, pod.ID, err)
	}
	if pod.ID == "" {
		return fail(errors.New("no sandbox ID"))
	}
	if !isNetNS(netnsPath) {
		return fail(fmt.Errorf("%q is not a network namespace", netnsPath))
	}
	caps, err := capabilityArgs(ports)
	if err != nil {
		return fail(err)
	}

	unlock := n.byID.lock(pod.ID)
	defer unlock()

	if err := n.ensureHostRules(ctx); err != nil {
		return fail(err)
	}
	if err := loopbackUp(netnsPath); err != nil {
		return fail(fmt.Errorf("loopback: %w", err))
	}
	rt, list := n.podRuntimeConf(pod, netnsPath, caps), n.pod
	if caps != nil {
		list = n.podPorts
		n.portsMu.Lock()
	}
	added, err := n.cni.AddNetworkList(ctx, list, rt)
	if caps != nil {
		n.portsMu.Unlock()
	}
	var res Result
	if err == nil {
		res, err = podResult(added)
	}
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		defer cancel()
		if rbErr := n.teardown(rctx, pod, netnsPath, list, rt); rbErr != nil {
			err = errors.Join(err, fmt.Errorf("undoing the failed setup: %w", rbErr))
		}
		return fail(err)
	}
	n.log.Debug("pod network attached", "sandbox", pod.ID, "pod", pod.Namespace+"/"+pod.Name, "ip", res.IP, "gateway", res.Gateway)
	return res, nil
}

// Teardown runs DEL for eth0's plugins (with the configuration and result libcni cached
// at ADD). A namespace that is gone, or a path that is no longer a
// namespace, is passed to the plugins as no namespace: they release the address and the
// hostPort rules without touching interfaces. The hostPorts removed are the ones Setup
// recorded; ports is used only when that record is missing.
func (n *cniNetwork) Teardown(ctx context.Context, pod Pod, netnsPath string, ports []PortMapping) error {
	if pod.ID == "" {
		return fmt.Errorf("network teardown of pod %s/%s: no sandbox ID", pod.Namespace, pod.Name)
	}
	caps, err := capabilityArgs(ports)
	if err != nil {
		caps = nil // the recorded mappings, if any, are still used below
		n.log.Warn("network teardown: ignoring invalid port mappings", "sandbox", pod.ID, "err", err)
	}

	unlock := n.byID.lock(pod.ID)
	defer unlock()

	list := n.podPorts // without a record of ADD: portmap too, in case there were hostPorts
	if err := n.teardown(ctx, pod, netnsPath, list, n.podRuntimeConf(pod, netnsPath, caps)); err != nil {
		return fmt.Errorf("network teardown of pod %s/%s (sandbox %q): %w", pod.Namespace, pod.Name, pod.ID, err)
	}
	n.log.Debug("pod network detached", "sandbox", pod.ID, "pod", pod.Namespace+"/"+pod.Name)
	return nil
}

// teardown is Teardown with the sandbox lock held; list and rt are eth0's conflist and
// runtime config, used when libcni has no record of the ADD.
func (n *cniNetwork) teardown(ctx context.Context, pod Pod, netnsPath string, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	if !isNetNS(netnsPath) {
		netnsPath = ""
	}
	rt.NetNS = netnsPath
	// DEL runs with what ADD ran: its plugins (an older podium's bridge masqueraded with
	// rules of its own) and its port mappings (portmap deletes only those it is told).
	conf, cached, err := n.cni.GetNetworkListCachedConfig(list, rt)
	if err != nil {
		n.log.Warn("network teardown: unreadable libcni cache, using the current configuration", "sandbox", pod.ID, "err", err)
	} else if cached != nil {
		rt.CapabilityArgs = cached.CapabilityArgs
		if l, err := libcni.NetworkConfFromBytes(conf); err == nil && l.Name == list.Name {
			list = l
		}
	}

	var errs []error
	if err := n.cni.DelNetworkList(ctx, list, rt); err != nil {
		errs = append(errs, err)
	} else if netnsPath == "" && masquerades(list.Bytes) {
		if err := removeMasqueradeRules(ctx, pod.ID); err != nil {
			errs = append(errs, fmt.Errorf("masquerade rules: %w", err))
		}
	}
	// Podium once ran the loopback plugin at ADD; its record goes with a DEL. Since then
	// lo is brought up in-process and nothing is recorded.
	loRT := n.loRuntimeConf(pod, netnsPath)
	if res, err := n.cni.GetNetworkCachedResult(n.lo, loRT); err == nil && res != nil {
		if err := n.cni.DelNetwork(ctx, n.lo, loRT); err != nil {
			errs = append(errs, fmt.Errorf("loopback: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (n *cniNetwork) podRuntimeConf(pod Pod, netnsPath string, caps map[string]any) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID:    pod.ID,
		NetNS:          netnsPath,
		IfName:         podIfName,
		Args:           cniArgs(pod),
		CapabilityArgs: caps,
	}
}

func (n *cniNetwork) loRuntimeConf(pod Pod, netnsPath string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID: pod.ID,
		NetNS:       netnsPath,
		IfName:      "lo",
		Args:        cniArgs(pod),
	}
}

// podResult picks the pod's IPv4 address and gateway out of the chain's result: the first
// IPv4 address on an interface inside the sandbox.
func podResult(r types.Result) (Result, error) {
	res, err := types100.NewResultFromResult(r)
	if err != nil {
		return Result{}, fmt.Errorf("reading the CNI result: %w", err)
	}
	for _, ipc := range res.IPs {
		if ipc.Address.IP.To4() == nil {
			continue
		}
		if ipc.Interface != nil {
			i := *ipc.Interface
			if i < 0 || i >= len(res.Interfaces) || res.Interfaces[i].Sandbox == "" {
				continue
			}
		}
		return Result{IP: ipc.Address.IP.To4(), Gateway: ipc.Gateway.To4()}, nil
	}
	return Result{}, fmt.Errorf("the CNI result has no IPv4 address in the pod (%d addresses, %d interfaces)", len(res.IPs), len(res.Interfaces))
}

// isNetNS reports whether path is a network namespace file (a bind mount of one, or a
// /proc/PID/ns/net link).
func isNetNS(path string) bool {
	if path == "" {
		return false
	}
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false
	}
	return st.Type == unix.NSFS_MAGIC
}

// pluginStderr logs what a plugin writes to stderr.
type pluginStderr struct{ log *slog.Logger }

func (w pluginStderr) Write(p []byte) (int, error) {
	if msg := strings.TrimSpace(string(p)); msg != "" {
		w.log.Warn("CNI plugin stderr", "output", msg)
	}
	return len(p), nil
}

// keyedMutex serializes callers per key; callers with different keys do not wait for
// each other. The zero value is ready to use.
type keyedMutex struct {
	mu   sync.Mutex // guards held
	held map[string]*keyedEntry
}

type keyedEntry struct {
	mu   sync.Mutex
	refs int // holders and waiters; guarded by keyedMutex.mu
}

// lock blocks until key is free and returns the function that frees it.
func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.held == nil {
		k.held = make(map[string]*keyedEntry)
	}
	e := k.held[key]
	if e == nil {
		e = &keyedEntry{}
		k.held[key] = e
	}
	e.refs++
	k.mu.Unlock()

	e.mu.Lock()
	return func() {
		e.mu.Unlock()
		k.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(k.held, key)
		}
		k.mu.Unlock()
	}
}
