package runc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/network"
	"github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/runtime/runc/shimproto"
)

// Sandbox states in sandboxMeta.
const (
	stateReady    = "ready"
	stateNotReady = "notready"
)

const sandboxMetaFile = "sandbox.json"

// sandboxMeta is a sandbox's metadata file, sandbox.json.
type sandboxMeta struct {
	ID        string          `json:"id"`
	Config    json.RawMessage `json:"config"` // the PodSandboxConfig in protojson
	CreatedAt int64           `json:"createdAt"`
	// State is ready once everything is set up, notready while being set up and
	// after StopPodSandbox.
	State    string `json:"state"`
	Hostname string `json:"hostname"`
	IP       string `json:"ip,omitempty"`
	// Pinned namespaces; "" for the host's.
	NetNS string `json:"netns,omitempty"`
	IPCNS string `json:"ipcns,omitempty"`
	UTSNS string `json:"utsns,omitempty"`
	// NetworkAttached is set before Network.Setup and cleared after Teardown.
	NetworkAttached bool                  `json:"networkAttached,omitempty"`
	Ports           []network.PortMapping `json:"ports,omitempty"`
	// Files the containers bind-mount.
	HostsPath    string `json:"hostsPath"`
	ResolvPath   string `json:"resolvPath"`
	HostnamePath string `json:"hostnamePath"`
	ShmPath      string `json:"shmPath"`
	// CgroupParent is the pod's cgroup; containers get CgroupParent/ID.
	CgroupParent string `json:"cgroupParent"`
	// The shim process, told from a later process with its pid by its start time.
	ShimPid   int    `json:"shimPid,omitempty"`
	ShimStart uint64 `json:"shimStart,omitempty"`
}

// sandbox is one pod sandbox.
type sandbox struct {
	id     string
	dir    string
	config *runtimeapi.PodSandboxConfig // immutable

	// opMu serializes the sandbox's lifecycle (stop, remove) and the creation and
	// removal of its containers. A container counts from its creation, so the pod's
	// cgroup is not removed while runc runs one in it.
	opMu sync.Mutex

	mu   sync.Mutex // guards meta
	meta sandboxMeta
}

func (sb *sandbox) shim() shimClient { return shimClient{dir: sb.dir} }

func (sb *sandbox) snapshot() sandboxMeta {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	return sb.meta
}

// update changes meta under mu and writes it to disk.
func (sb *sandbox) update(f func(m *sandboxMeta)) error {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	f(&sb.meta)
	b, err := json.MarshalIndent(&sb.meta, "", "  ")
	if err != nil {
		return err
	}
	return shimproto.WriteFileAtomic(filepath.Join(sb.dir, sandboxMetaFile), b, 0o600)
}

func (r *Runtime) loadSandbox(id string) (*sandbox, error) {
	dir := r.sandboxDir(id)
	b, err := os.ReadFile(filepath.Join(dir, sandboxMetaFile))
	if err != nil {
		return nil, err
	}
	sb := &sandbox{id: id, dir: dir, config: &runtimeapi.PodSandboxConfig{}}
	if err := json.Unmarshal(b, &sb.meta); err != nil {
		return nil, err
	}
	if err := protojson.Unmarshal(sb.meta.Config, sb.config); err != nil {
		return nil, err
	}
	return sb, nil
}

func podOf(id string, cfg *runtimeapi.PodSandboxConfig) network.Pod {
	md := cfg.GetMetadata()
	return network.Pod{ID: id, Namespace: md.GetNamespace(), Name: md.GetName(), UID: md.GetUid()}
}

func portMappings(cfg *runtimeapi.PodSandboxConfig) []network.PortMapping {
	var out []network.PortMapping
	for _, p := range cfg.GetPortMappings() {
		if p.GetHostPort() <= 0 {
			continue
		}
		proto := "TCP"
		switch p.GetProtocol() {
		case runtimeapi.Protocol_UDP:
			proto = "UDP"
		case runtimeapi.Protocol_SCTP:
			proto = "SCTP"
		}
		out = append(out, network.PortMapping{
			HostPort: p.GetHostPort(), ContainerPort: p.GetContainerPort(), Protocol: proto, HostIP: p.GetHostIp(),
		})
	}
	return out
}

// RunPodSandbox pins the pod's namespaces, attaches its network, writes its shared
// files and starts its shim. On failure it undoes what it did.
func (r *Runtime) RunPodSandbox(ctx context.Context, config *runtimeapi.PodSandboxConfig) (_ string, err error) {
	md := config.GetMetadata()
	if md == nil || md.GetName() == "" {
		return "", errors.New("RunPodSandbox: the config has no metadata")
	}
	cfgJSON, err := protojson.Marshal(config)
	if err != nil {
		return "", err
	}
	id := newID()
	dir := r.sandboxDir(id)
	if err := os.MkdirAll(filepath.Join(dir, "ns"), 0o711); err != nil {
		return "", err
	}
	sb := &sandbox{id: id, dir: dir, config: proto.Clone(config).(*runtimeapi.PodSandboxConfig)}
	log := r.log.With("sandbox", id, "pod", md.GetNamespace()+"/"+md.GetName())
	defer func() {
		if err != nil {
			if cerr := r.destroySandbox(context.WithoutCancel(ctx), sb); cerr != nil {
				log.Warn("cleaning up a sandbox that failed to start", "err", cerr)
			}
			err = fmt.Errorf("sandbox for pod %s/%s: %w", md.GetNamespace(), md.GetName(), err)
		}
	}()

	nsOpts := config.GetLinux().GetSecurityContext().GetNamespaceOptions()
	hostNet := nsOpts.GetNetwork() == runtimeapi.NamespaceMode_NODE
	hostIPC := nsOpts.GetIpc() == runtimeapi.NamespaceMode_NODE
	hostname := config.GetHostname()
	if hostNet {
		hostname, _ = os.Hostname()
	}
	if hostname == "" {
		hostname = md.GetName()
	}
	cgroupParent := config.GetLinux().GetCgroupParent()
	if cgroupParent == "" || !strings.HasPrefix(cgroupParent, "/") {
		cgroupParent = filepath.Join(r.cfg.CgroupParent, podCgroupName(md.GetUid(), id))
	}
	// What a crash would leave to clean up is recorded once, before any of it is made:
	// the namespace pins, and the network attachment (a DEL of an ADD that never ran
	// releases nothing). Each write is a sync to disk, which a burst of pods pays for.
	meta := sandboxMeta{
		ID: id, Config: cfgJSON, CreatedAt: time.Now().UnixNano(), State: stateNotReady,
		Hostname: hostname, CgroupParent: cgroupParent,
	}
	if !hostNet {
		meta.NetNS, meta.UTSNS = filepath.Join(dir, "ns", "net"), filepath.Join(dir, "ns", "uts")
		meta.NetworkAttached, meta.Ports = true, portMappings(config)
	}
	if !hostIPC {
		meta.IPCNS = filepath.Join(dir, "ns", "ipc")
	}
	if err := sb.update(func(m *sandboxMeta) { *m = meta }); err != nil {
		return "", err
	}

	if !hostNet {
		if err := pinNamespace(unix.CLONE_NEWNET, meta.NetNS, nil); err != nil {
			return "", err
		}
		if err := pinNamespace(unix.CLONE_NEWUTS, meta.UTSNS, func() error {
			return unix.Sethostname([]byte(hostname))
		}); err != nil {
			return "", err
		}
	}
	if !hostIPC {
		if err := pinNamespace(unix.CLONE_NEWIPC, meta.IPCNS, nil); err != nil {
			return "", err
		}
	}

	var ip string
	if !hostNet {
		res, err := r.cfg.Network.Setup(ctx, podOf(id, config), meta.NetNS, meta.Ports)
		if err != nil {
			return "", fmt.Errorf("network setup: %w", err)
		}
		if res.IP != nil {
			ip = res.IP.String()
		}
	}

	var hosts []byte
	if hostNet {
		hosts, _ = os.ReadFile("/etc/hosts")
	} else {
		hosts = hostsFile(hostname, ip)
	}
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	files := map[string][]byte{
		"hosts":       hosts,
		"resolv.conf": resolvConf(config.GetDnsConfig(), hostResolv),
		"hostname":    []byte(hostname + "\n"),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o644); err != nil {
			return "", err
		}
	}
	shm := "/dev/shm"
	if !hostIPC {
		shm = filepath.Join(dir, "shm")
		if err := os.Mkdir(shm, 0o755); err != nil {
			return "", err
		}
		if err := unix.Mount("shm", shm, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size=67108864"); err != nil {
			return "", fmt.Errorf("mounting the pod's /dev/shm: %w", err)
		}
	}
	pid, start, err := r.startShim(ctx, sb)
	if err != nil {
		return "", err
	}
	if err := sb.update(func(m *sandboxMeta) {
		m.IP = ip
		m.HostsPath = filepath.Join(dir, "hosts")
		m.ResolvPath = filepath.Join(dir, "resolv.conf")
		m.HostnamePath = filepath.Join(dir, "hostname")
		m.ShmPath = shm
		m.ShimPid, m.ShimStart, m.State = pid, start, stateReady
	}); err != nil {
		return "", err
	}
	r.mu.Lock()
	r.sandboxes[id] = sb
	r.mu.Unlock()
	log.Info("sandbox ready", "ip", ip)
	return id, nil
}

// startShim starts the sandbox's podium-shim in a session of its own, so that it
// survives this process, and waits until it listens.
func (r *Runtime) startShim(ctx context.Context, sb *sandbox) (int, uint64, error) {
	logf, err := os.OpenFile(filepath.Join(sb.dir, shimproto.ShimLogName), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, 0, err
	}
	defer logf.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return 0, 0, err
	}
	defer readyR.Close()
	cmd := exec.Command(r.cfg.ShimBinary, "-id", sb.id, "-runc", r.cfg.RuncBinary, "-root", r.cfg.RuncRoot)
	cmd.Dir = sb.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("starting %s: %w", r.cfg.ShimBinary, err)
	}
	pid := cmd.Process.Pid
	// Reap the shim if it ends while this process lives; after this process ends, init
	// does.
	go cmd.Wait()
	// Recorded at once, so that whoever removes the sandbox ends this shim.
	if err := sb.update(func(m *sandboxMeta) { m.ShimPid, m.ShimStart = pid, pidStartTime(pid) }); err != nil {
		cmd.Process.Kill()
		return 0, 0, err
	}

	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		b := make([]byte, 4096)
		n, err := readyR.Read(b)
		done <- result{strings.TrimSpace(string(b[:n])), err}
	}()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	var res result
	select {
	case res = <-done:
	case <-timer.C:
		res.err = errors.New("no answer in 10s")
	case <-ctx.Done():
		res.err = ctx.Err()
	}
	if res.err == nil && res.line != "ok" {
		res.err = errors.New(res.line)
	}
	if res.err != nil {
		cmd.Process.Kill()
		return 0, 0, fmt.Errorf("starting the shim: %v", res.err)
	}
	return pid, pidStartTime(pid), nil
}

// StopPodSandbox kills every container of the sandbox and detaches its network.
func (r *Runtime) StopPodSandbox(ctx context.Context, sandboxID string) error {
	sb, err := r.getSandbox(sandboxID)
	if err != nil {
		return err
	}
	sb.opMu.Lock()
	defer sb.opMu.Unlock()
	return r.stopSandboxLocked(ctx, sb)
}

func (r *Runtime) stopSandboxLocked(ctx context.Context, sb *sandbox) error {
	_, err := sb.shim().call(ctx, &shimproto.Request{Op: shimproto.OpKillAll})
	if errors.Is(err, errShimGone) {
		for _, c := range r.containersOf(sb.id) {
			if kerr := r.killDirect(ctx, c); kerr != nil {
				return kerr
			}
		}
	} else if err != nil {
		return fmt.Errorf("stopping sandbox %s: %w", sb.id, err)
	}
	meta := sb.snapshot()
	if meta.NetworkAttached {
		if err := r.cfg.Network.Teardown(ctx, podOf(sb.id, sb.config), meta.NetNS, meta.Ports); err != nil {
			return fmt.Errorf("stopping sandbox %s: network teardown: %w", sb.id, err)
		}
	}
	return sb.update(func(m *sandboxMeta) { m.NetworkAttached, m.State = false, stateNotReady })
}

// RemovePodSandbox stops the sandbox if needed, removes its containers, ends its
// shim and removes its mounts, namespaces, cgroup and directory.
func (r *Runtime) RemovePodSandbox(ctx context.Context, sandboxID string) error {
	sb, err := r.getSandbox(sandboxID)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	sb.opMu.Lock()
	defer sb.opMu.Unlock()
	if err := r.stopSandboxLocked(ctx, sb); err != nil {
		return err
	}
	for _, c := range r.containersOf(sb.id) {
		if err := r.removeContainerLocked(ctx, sb, c); err != nil {
			return err
		}
	}
	if err := r.destroySandbox(ctx, sb); err != nil {
		return fmt.Errorf("removing sandbox %s: %w", sb.id, err)
	}
	r.mu.Lock()
	delete(r.sandboxes, sb.id)
	r.mu.Unlock()
	r.log.Info("sandbox removed", "sandbox", sb.id)
	return nil
}

// destroySandbox ends the shim and removes everything the sandbox has on the host
// but its containers: network attachment, namespace pins, mounts, cgroup, directory.
// It works on a sandbox in any stage of creation.
func (r *Runtime) destroySandbox(ctx context.Context, sb *sandbox) error {
	var errs []error
	meta := sb.snapshot()
	if meta.ShimPid != 0 {
		if err := r.stopShim(ctx, sb, meta); err != nil {
			errs = append(errs, err)
		}
	}
	if meta.NetworkAttached {
		if err := r.cfg.Network.Teardown(ctx, podOf(sb.id, sb.config), meta.NetNS, meta.Ports); err != nil {
			errs = append(errs, fmt.Errorf("network teardown: %w", err))
		} else {
			sb.update(func(m *sandboxMeta) { m.NetworkAttached = false })
		}
	}
	for _, ns := range []string{meta.NetNS, meta.IPCNS, meta.UTSNS} {
		if err := unpinNamespace(ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := unmountAll(sb.dir); err != nil {
		errs = append(errs, err)
	}
	// Snapshots of containers whose creation a crash cut short.
	entries, _ := os.ReadDir(filepath.Join(sb.dir, shimproto.ContainersDir))
	for _, e := range entries {
		images := 0
		if c, err := loadContainer(filepath.Join(sb.dir, shimproto.ContainersDir, e.Name())); err == nil {
			images = c.meta.ImageVolumes
		}
		if err := r.removeSnapshots(ctx, e.Name(), images); err != nil {
			errs = append(errs, err)
		}
	}
	if r.ownsCgroup(meta.CgroupParent) {
		if err := removeCgroup(r.hierarchies, meta.CgroupParent, true); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return os.RemoveAll(sb.dir)
}

// ownsCgroup reports whether a pod's cgroup is one the runtime made (under
// Config.CgroupParent) rather than one the agent gave in the sandbox config.
func (r *Runtime) ownsCgroup(podCgroup string) bool {
	return podCgroup != "" && strings.HasPrefix(podCgroup, r.cfg.CgroupParent+"/")
}

// stopShim asks the shim to shut down and waits until its process is gone; a shim
// that does not answer is killed.
func (r *Runtime) stopShim(ctx context.Context, sb *sandbox, meta sandboxMeta) error {
	ctx2, cancel := context.WithTimeout(ctx, 30*time.Second)
	_, err := sb.shim().call(ctx2, &shimproto.Request{Op: shimproto.OpShutdown})
	cancel()
	if err != nil && !errors.Is(err, errShimGone) {
		r.log.Warn("shim shutdown failed; killing it", "sandbox", sb.id, "err", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(meta.ShimPid, meta.ShimStart) {
		if time.Now().After(deadline) {
			if pidStartTime(meta.ShimPid) == meta.ShimStart {
				unix.Kill(meta.ShimPid, unix.SIGKILL)
			}
			deadline = time.Now().Add(5 * time.Second)
		}
		time.Sleep(5 * time.Millisecond)
	}
	os.Remove(filepath.Join(sb.dir, shimproto.SocketName))
	return nil
}

// PodSandboxStatus reports a sandbox; it is ready while set up and its shim lives.
func (r *Runtime) PodSandboxStatus(ctx context.Context, sandboxID string) (*runtimeapi.PodSandboxStatus, error) {
	sb, err := r.getSandbox(sandboxID)
	if err != nil {
		return nil, err
	}
	meta := sb.snapshot()
	cfg := sb.config
	st := &runtimeapi.PodSandboxStatus{
		Id:          sb.id,
		Metadata:    proto.Clone(cfg.GetMetadata()).(*runtimeapi.PodSandboxMetadata),
		State:       sandboxState(meta),
		CreatedAt:   meta.CreatedAt,
		Network:     &runtimeapi.PodSandboxNetworkStatus{Ip: meta.IP},
		Labels:      copyMap(cfg.GetLabels()),
		Annotations: copyMap(cfg.GetAnnotations()),
	}
	if opts := cfg.GetLinux().GetSecurityContext().GetNamespaceOptions(); opts != nil {
		st.Linux = &runtimeapi.LinuxPodSandboxStatus{Namespaces: &runtimeapi.Namespace{
			Options: proto.Clone(opts).(*runtimeapi.NamespaceOption),
		}}
	}
	return st, nil
}

func sandboxState(meta sandboxMeta) runtimeapi.PodSandboxState {
	if meta.State == stateReady && processAlive(meta.ShimPid, meta.ShimStart) {
		return runtimeapi.PodSandboxState_SANDBOX_READY
	}
	return runtimeapi.PodSandboxState_SANDBOX_NOTREADY
}

// ListPodSandbox implements runtime.Runtime. The ID and labels are matched before the
// state, which costs a read of the shim's /proc entry.
func (r *Runtime) ListPodSandbox(ctx context.Context, filter *runtimeapi.PodSandboxFilter) ([]*runtimeapi.PodSandbox, error) {
	byIDAndLabels := filter
	if filter != nil && filter.State != nil {
		byIDAndLabels = &runtimeapi.PodSandboxFilter{Id: filter.Id, LabelSelector: filter.LabelSelector}
	}
	r.mu.Lock()
	sbs := make([]*sandbox, 0, len(r.sandboxes))
	for _, sb := range r.sandboxes {
		if runtime.MatchesSandbox(byIDAndLabels, sb.id, 0, sb.config.GetLabels()) {
			sbs = append(sbs, sb)
		}
	}
	r.mu.Unlock()
	out := make([]*runtimeapi.PodSandbox, 0, len(sbs))
	for _, sb := range sbs {
		meta := sb.snapshot()
		state := sandboxState(meta)
		if filter != nil && filter.State != nil && filter.State.State != state {
			continue
		}
		out = append(out, &runtimeapi.PodSandbox{
			Id:          sb.id,
			Metadata:    proto.Clone(sb.config.GetMetadata()).(*runtimeapi.PodSandboxMetadata),
			State:       state,
			CreatedAt:   meta.CreatedAt,
			Labels:      copyMap(sb.config.GetLabels()),
			Annotations: copyMap(sb.config.GetAnnotations()),
		})
	}
	return out, nil
}

func copyMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// processAlive reports whether pid is a live (not zombie) process started at start.
func processAlive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	state, st, ok := parseStat(string(b))
	if !ok || state == "Z" || state == "X" {
		return false
	}
	return start == 0 || st == start
}

// pidStartTime returns a process's start time (field 22 of /proc/PID/stat), 0 if it
// is gone.
func pidStartTime(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	_, st, _ := parseStat(string(b))
	return st
}

func parseStat(s string) (state string, start uint64, ok bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", 0, false
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	return f[0], start, err == nil
}
