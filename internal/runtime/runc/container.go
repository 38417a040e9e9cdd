package runc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podium/podium/internal/runtime"
	"github.com/podium/podium/internal/runtime/runc/shimproto"
)

const containerMetaFile = "container.json"

// containerMeta is a container's metadata file, container.json, written when the
// container is created and again when its resources are updated.
type containerMeta struct {
	ID          string          `json:"id"`
	SandboxID   string          `json:"sandboxID"`
	Config      json.RawMessage `json:"config"` // the ContainerConfig in protojson
	ImageRef    string          `json:"imageRef"`
	LogPath     string          `json:"logPath,omitempty"`
	CreatedAt   int64           `json:"createdAt"`
	StopSignal  int             `json:"stopSignal"`
	CgroupsPath string          `json:"cgroupsPath"`
	// ImageVolumes counts the container's image volumes: snapshots ID-img0, ID-img1...
	ImageVolumes int `json:"imageVolumes,omitempty"`
}

// container is one container. Its fields are immutable but limits and meta.Config,
// which UpdateContainerResources changes under Runtime.mu.
type container struct {
	id, sandboxID string
	dir           string // its bundle
	config        *runtimeapi.ContainerConfig
	meta          containerMeta
	// limits are the cgroup limits in force: the config's until an update. Guarded by
	// Runtime.mu.
	limits *runtimeapi.LinuxContainerResources
}

func loadContainer(dir string) (*container, error) {
	b, err := os.ReadFile(filepath.Join(dir, containerMetaFile))
	if err != nil {
		return nil, err
	}
	c := &container{dir: dir, config: &runtimeapi.ContainerConfig{}}
	if err := json.Unmarshal(b, &c.meta); err != nil {
		return nil, err
	}
	if err := protojson.Unmarshal(c.meta.Config, c.config); err != nil {
		return nil, err
	}
	c.id, c.sandboxID = c.meta.ID, c.meta.SandboxID
	c.limits = c.config.GetLinux().GetResources()
	return c, nil
}

func (r *Runtime) containersOf(sandboxID string) []*container {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*container
	for _, c := range r.containers {
		if c.sandboxID == sandboxID {
			out = append(out, c)
		}
	}
	return out
}

// CreateContainer makes the container's rootfs and bundle and has the shim record it;
// runc runs it at StartContainer, as containerd's CRI makes its task at start.
func (r *Runtime) CreateContainer(ctx context.Context, sandboxID string, config *runtimeapi.ContainerConfig, sandboxConfig *runtimeapi.PodSandboxConfig) (_ string, err error) {
	if config.GetMetadata() == nil || config.GetImage().GetImage() == "" {
		return "", errors.New("CreateContainer: the config needs metadata and an image")
	}
	sb, err := r.getSandbox(sandboxID)
	if err != nil {
		return "", err
	}
	sb.opMu.Lock()
	defer sb.opMu.Unlock()
	meta := sb.snapshot()
	if sandboxState(meta) != runtimeapi.PodSandboxState_SANDBOX_READY {
		return "", fmt.Errorf("sandbox %s is not ready", sandboxID)
	}
	if sandboxConfig == nil {
		sandboxConfig = sb.config
	}
	name := config.GetMetadata().GetName()
	imageName := config.GetImage().GetImage()
	img, err := r.cfg.Images.ImageStatus(ctx, config.GetImage())
	if err != nil {
		return "", fmt.Errorf("container %s: image %s: %w", name, imageName, err)
	}
	if img == nil {
		return "", fmt.Errorf("container %s: image %s: %w", name, imageName, runtime.ErrNotFound)
	}
	imgCfg, err := r.cfg.Images.Config(ctx, img.GetId())
	if err != nil {
		return "", fmt.Errorf("container %s: image %s: %w", name, imageName, err)
	}
	sig, err := stopSignal(config, imgCfg.Config)
	if err != nil {
		return "", fmt.Errorf("container %s: %w", name, err)
	}

	id := newID()
	dir := shimproto.ContainerDir(sb.dir, id)
	rootfs := filepath.Join(dir, shimproto.RootfsDir)
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return "", err
	}
	snapshot, createSent := false, false
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if createSent {
				// The shim may have created it even though we saw no answer.
				sb.shim().call(cctx, &shimproto.Request{Op: shimproto.OpDelete, ID: id})
			}
			unmountAll(dir)
			if snapshot {
				r.removeSnapshots(cctx, id, countImageMounts(config.GetMounts()))
			}
			removeCgroup(r.hierarchies, meta.CgroupParent+"/"+id, false)
			os.RemoveAll(dir)
			err = fmt.Errorf("container %s in sandbox %s: %w", name, sandboxID, err)
		}
	}()

	var logPath string
	if sandboxConfig.GetLogDirectory() != "" && config.GetLogPath() != "" {
		logPath = filepath.Join(sandboxConfig.GetLogDirectory(), config.GetLogPath())
	}
	cfgJSON, err := protojson.Marshal(config)
	if err != nil {
		return "", err
	}
	c := &container{
		id: id, sandboxID: sandboxID, dir: dir,
		config: proto.Clone(config).(*runtimeapi.ContainerConfig),
		limits: proto.Clone(config.GetLinux().GetResources()).(*runtimeapi.LinuxContainerResources),
		meta: containerMeta{
			ID: id, SandboxID: sandboxID, Config: cfgJSON, ImageRef: img.GetId(), LogPath: logPath,
			CreatedAt: time.Now().UnixNano(), StopSignal: sig, CgroupsPath: meta.CgroupParent + "/" + id,
			ImageVolumes: countImageMounts(config.GetMounts()),
		},
	}

	// The metadata goes first, so that a Runtime started after a crash from here on
	// finds the container and can remove it.
	metaJSON, err := json.MarshalIndent(&c.meta, "", "  ")
	if err != nil {
		return "", err
	}
	if err := shimproto.WriteFileAtomic(filepath.Join(dir, containerMetaFile), metaJSON, 0o600); err != nil {
		return "", err
	}
	m, err := r.cfg.Images.Prepare(ctx, img.GetId(), id)
	if err != nil {
		return "", fmt.Errorf("preparing the rootfs: %w", err)
	}
	snapshot = true
	if err := unix.Mount(m.Source, rootfs, m.Type, 0, strings.Join(m.Options, ",")); err != nil {
		return "", fmt.Errorf("mounting the rootfs: %w", err)
	}

	mounts, err := r.mountImageVolumes(ctx, id, dir, config.GetMounts())
	if err != nil {
		return "", err
	}
	specConfig := config
	if c.meta.ImageVolumes > 0 {
		specConfig = proto.Clone(config).(*runtimeapi.ContainerConfig)
		specConfig.Mounts = mounts
	}

	sc := config.GetLinux().GetSecurityContext()
	user, err := lookupUser(rootfs, sc, imgCfg.Config.User)
	if err != nil {
		return "", err
	}
	in := specInput{
		Config:       specConfig,
		Sandbox:      sandboxConfig,
		Image:        imgCfg.Config,
		User:         user,
		Hostname:     meta.Hostname,
		HostsPath:    meta.HostsPath,
		ResolvPath:   meta.ResolvPath,
		HostnamePath: meta.HostnamePath,
		ShmPath:      meta.ShmPath,
		NetNS:        meta.NetNS,
		IPCNS:        meta.IPCNS,
		UTSNS:        meta.UTSNS,
		CgroupsPath:  c.meta.CgroupsPath,
	}
	nsOpts := sc.GetNamespaceOptions()
	if nsOpts == nil {
		nsOpts = sandboxConfig.GetLinux().GetSecurityContext().GetNamespaceOptions()
	}
	switch nsOpts.GetPid() {
	case runtimeapi.NamespaceMode_NODE:
		in.HostPID = true
	case runtimeapi.NamespaceMode_TARGET:
		target, _, err := r.getContainer(nsOpts.GetTargetId())
		if err != nil {
			return "", fmt.Errorf("PID namespace target: %w", err)
		}
		st := r.containerState(target)
		if st.Status != shimproto.StatusRunning {
			return "", fmt.Errorf("PID namespace target %s is not running", target.id)
		}
		in.PIDNS = fmt.Sprintf("/proc/%d/ns/pid", st.Pid)
	}
	if sc.GetPrivileged() {
		in.Devices = hostDevices()
	}
	in.AllCaps = ownCapabilities()
	devs, rules, err := criDevices(config.GetDevices())
	if err != nil {
		return "", err
	}
	in.Devices = append(in.Devices, devs...)
	in.DeviceRules = rules
	for _, mnt := range mounts {
		if mnt.GetHostPath() == "" {
			return "", fmt.Errorf("mount at %s has no host path", mnt.GetContainerPath())
		}
		if _, err := os.Stat(mnt.GetHostPath()); errors.Is(err, fs.ErrNotExist) {
			// As containerd does: a missing host path becomes a directory.
			if err := os.MkdirAll(mnt.GetHostPath(), 0o755); err != nil {
				return "", err
			}
		}
	}
	spec, err := buildSpec(in)
	if err != nil {
		return "", err
	}
	specJSON, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, shimproto.SpecFile), specJSON, 0o600); err != nil {
		return "", err
	}
	createSent = true
	_, err = sb.shim().call(ctx, &shimproto.Request{Op: shimproto.OpCreate, ID: id, Create: &shimproto.CreateRequest{
		LogPath:     logPath,
		CgroupsPath: c.meta.CgroupsPath,
		Stdin:       config.GetStdin(),
		StdinOnce:   config.GetStdinOnce(),
		Tty:         config.GetTty(),
	}})
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	r.containers[id] = c
	r.mu.Unlock()
	r.log.Info("container created", "sandbox", sandboxID, "container", id, "name", name)
	return id, nil
}

// ownCapabilities is this process's bounding set: a container can have no more.
func ownCapabilities() []string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return nil
			}
			return boundingCapabilities(mask)
		}
	}
	return nil
}

// hostDevices lists the host's device nodes for a privileged container.
func hostDevices() []specs.LinuxDevice {
	var out []specs.LinuxDevice
	filepath.WalkDir("/dev", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			switch path {
			case "/dev/pts", "/dev/shm", "/dev/mqueue":
				return fs.SkipDir
			}
			return nil
		}
		if d.Type()&fs.ModeDevice == 0 || path == "/dev/console" {
			return nil
		}
		if dev, err := deviceNode(path, path); err == nil {
			out = append(out, dev)
		}
		return nil
	})
	return out
}

// deviceNode describes the host's device hostPath as a device at containerPath.
func deviceNode(hostPath, containerPath string) (specs.LinuxDevice, error) {
	var st unix.Stat_t
	if err := unix.Stat(hostPath, &st); err != nil {
		return specs.LinuxDevice{}, err
	}
	var typ string
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		typ = "c"
	case unix.S_IFBLK:
		typ = "b"
	default:
		return specs.LinuxDevice{}, fmt.Errorf("%s is not a device", hostPath)
	}
	mode := fs.FileMode(st.Mode & 0o777)
	uid, gid := st.Uid, st.Gid
	return specs.LinuxDevice{
		Path: containerPath, Type: typ,
		Major: int64(unix.Major(uint64(st.Rdev))), Minor: int64(unix.Minor(uint64(st.Rdev))),
		FileMode: &mode, UID: &uid, GID: &gid,
	}, nil
}

// criDevices turns the CRI config's devices into device nodes and cgroup rules.
func criDevices(devices []*runtimeapi.Device) ([]specs.LinuxDevice, []specs.LinuxDeviceCgroup, error) {
	var devs []specs.LinuxDevice
	var rules []specs.LinuxDeviceCgroup
	for _, d := range devices {
		dev, err := deviceNode(d.GetHostPath(), d.GetContainerPath())
		if err != nil {
			return nil, nil, fmt.Errorf("device %s: %w", d.GetHostPath(), err)
		}
		perms := d.GetPermissions()
		if perms == "" {
			perms = "rwm"
		}
		major, minor := dev.Major, dev.Minor
		devs = append(devs, dev)
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: dev.Type, Major: &major, Minor: &minor, Access: perms})
	}
	return devs, rules, nil
}

// StartContainer starts a created container.
func (r *Runtime) StartContainer(ctx context.Context, containerID string) error {
	c, sb, err := r.getContainer(containerID)
	if err != nil {
		return err
	}
	_, err = sb.shim().call(ctx, &shimproto.Request{Op: shimproto.OpStart, ID: c.id})
	if errors.Is(err, runtime.ErrStartFailed) {
		// A container whose process could not start is gone, as if its create had
		// failed: the caller records the failed run and makes a new container.
		if rerr := r.RemoveContainer(context.WithoutCancel(ctx), c.id); rerr != nil {
			r.log.Warn("removing a container that failed to start", "container", c.id, "err", rerr)
		}
	}
	if err != nil {
		return fmt.Errorf("starting container %s: %w", c.id, err)
	}
	return nil
}

// UpdateContainerResources applies new CPU and memory limits to a running container's
// cgroup with runc update, and records them in the container's metadata.
func (r *Runtime) UpdateContainerResources(ctx context.Context, containerID string, res *runtimeapi.LinuxContainerResources) error {
	c, _, err := r.getContainer(containerID)
	if err != nil {
		return err
	}
	if st := r.containerState(c); st.Status != shimproto.StatusRunning {
		return fmt.Errorf("container %s is not running", c.id)
	}
	limits := resources(res, false, nil)
	limits.Devices = nil // runc update leaves the device rules as they are
	if limits.Memory != nil {
		// runc 1.2+ refuses a memory limit below the current usage instead of letting
		// the kernel reclaim or OOM-kill (cgroup v1 refuses it with EBUSY anyway).
		check := true
		limits.Memory.CheckBeforeUpdate = &check
	}
	body, err := json.Marshal(limits)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, r.cfg.RuncBinary, "--root", r.cfg.RuncRoot, "update", "--resources", "-", c.id)
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("runc update %s: %v: %s", c.id, err, strings.TrimSpace(string(out)))
	}

	// The metadata keeps the new limits for a Runtime started after this one.
	r.mu.Lock()
	defer r.mu.Unlock()
	cfg := proto.Clone(c.config).(*runtimeapi.ContainerConfig)
	if cfg.Linux == nil {
		cfg.Linux = &runtimeapi.LinuxContainerConfig{}
	}
	cfg.Linux.Resources = res
	cfgJSON, err := protojson.Marshal(cfg)
	if err != nil {
		return err
	}
	meta := c.meta
	meta.Config = cfgJSON
	metaJSON, err := json.MarshalIndent(&meta, "", "  ")
	if err != nil {
		return err
	}
	if err := shimproto.WriteFileAtomic(filepath.Join(c.dir, containerMetaFile), metaJSON, 0o600); err != nil {
		return err
	}
	c.meta.Config = cfgJSON
	c.limits = proto.Clone(res).(*runtimeapi.LinuxContainerResources)
	return nil
}

// StopContainer sends the stop signal, waits up to timeout seconds, sends SIGKILL,
// and returns once the container has exited.
func (r *Runtime) StopContainer(ctx context.Context, containerID string, timeout int64) error {
	c, sb, err := r.getContainer(containerID)
	if err != nil {
		return err
	}
	if timeout < 0 {
		timeout = 0
	}
	_, err = sb.shim().call(ctx, &shimproto.Request{
		Op: shimproto.OpStop, ID: c.id, Signal: c.meta.StopSignal, TimeoutMillis: timeout * 1000,
	})
	if errors.Is(err, errShimGone) {
		return r.killDirect(ctx, c)
	}
	if err != nil {
		return fmt.Errorf("stopping container %s: %w", c.id, err)
	}
	return nil
}

// killDirect kills a container whose shim is gone with runc itself and waits until
// its init has exited.
func (r *Runtime) killDirect(ctx context.Context, c *container) error {
	st := r.containerState(c)
	if st.Status == shimproto.StatusExited || !processAlive(st.Pid, st.PidStart) {
		return nil
	}
	if err := r.runcCommand(ctx, "kill", c.id, "KILL"); err != nil {
		if !processAlive(st.Pid, st.PidStart) {
			return nil
		}
		// runc's state may be gone; the pid is still the container's.
		unix.Kill(st.Pid, unix.SIGKILL)
	}
	for processAlive(st.Pid, st.PidStart) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("killing container %s: %w", c.id, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// RemoveContainer removes a container: it kills it if it still runs, deletes it
// from runc, unmounts and removes its rootfs and bundle and removes its cgroup, and
// the pod's cgroup when no container is left in it. The log file stays.
func (r *Runtime) RemoveContainer(ctx context.Context, containerID string) error {
	c, sb, err := r.getContainer(containerID)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	sb.opMu.Lock()
	defer sb.opMu.Unlock()
	return r.removeContainerLocked(ctx, sb, c)
}

func (r *Runtime) removeContainerLocked(ctx context.Context, sb *sandbox, c *container) error {
	r.mu.Lock()
	_, known := r.containers[c.id]
	r.mu.Unlock()
	if !known {
		return nil
	}
	_, err := sb.shim().call(ctx, &shimproto.Request{Op: shimproto.OpDelete, ID: c.id})
	if errors.Is(err, errShimGone) {
		if err := r.killDirect(ctx, c); err != nil {
			return err
		}
		if err := r.runcCommand(ctx, "delete", "--force", c.id); err != nil && !strings.Contains(err.Error(), "not exist") {
			return fmt.Errorf("removing container %s: %w", c.id, err)
		}
	} else if err != nil {
		return fmt.Errorf("removing container %s: %w", c.id, err)
	}
	if err := unmountAll(c.dir); err != nil {
		return fmt.Errorf("removing container %s: %w", c.id, err)
	}
	if err := r.removeSnapshots(ctx, c.id, c.meta.ImageVolumes); err != nil {
		return fmt.Errorf("removing container %s: %w", c.id, err)
	}
	if err := removeCgroup(r.hierarchies, c.meta.CgroupsPath, false); err != nil {
		r.log.Warn("container cgroup left behind", "container", c.id, "err", err)
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("removing container %s: %w", c.id, err)
	}
	r.mu.Lock()
	delete(r.containers, c.id)
	r.mu.Unlock()
	if podCgroup := sb.snapshot().CgroupParent; len(r.containersOf(sb.id)) == 0 && r.ownsCgroup(podCgroup) {
		removeCgroup(r.hierarchies, podCgroup, true)
	}
	r.log.Info("container removed", "sandbox", sb.id, "container", c.id)
	return nil
}

// containerState reads the container's state file. When the shim is gone, a
// container it had running whose process has ended is reported exited with code 255,
// since nobody could see its exit status.
func (r *Runtime) containerState(c *container) *shimproto.ContainerState {
	st, err := shimproto.ReadState(filepath.Join(c.dir, shimproto.StateFile))
	if err != nil {
		return &shimproto.ContainerState{ID: c.id, Status: "unknown", CreatedAt: c.meta.CreatedAt,
			Message: fmt.Sprintf("no state: %v", err)}
	}
	if st.Status == shimproto.StatusExited || processAlive(st.Pid, st.PidStart) {
		return st
	}
	r.mu.Lock()
	sb := r.sandboxes[c.sandboxID]
	r.mu.Unlock()
	if sb != nil {
		meta := sb.snapshot()
		if processAlive(meta.ShimPid, meta.ShimStart) {
			return st // the shim is recording the exit
		}
	}
	st.Status = shimproto.StatusExited
	st.ExitCode = 255
	st.Reason = shimproto.ReasonError
	st.Message = "exit status unknown: the pod's shim is gone"
	if st.FinishedAt == 0 {
		st.FinishedAt = time.Now().UnixNano()
	}
	return st
}

func criState(status string) runtimeapi.ContainerState {
	switch status {
	case shimproto.StatusCreated:
		return runtimeapi.ContainerState_CONTAINER_CREATED
	case shimproto.StatusRunning:
		return runtimeapi.ContainerState_CONTAINER_RUNNING
	case shimproto.StatusExited:
		return runtimeapi.ContainerState_CONTAINER_EXITED
	}
	return runtimeapi.ContainerState_CONTAINER_UNKNOWN
}

// ContainerStatus reports a container's state, exit code, reason, times, image and
// log path.
// ContainerStats implements runtime.Runtime: the size of the container's snapshot's
// upper directory.
func (r *Runtime) ContainerStats(ctx context.Context, containerID string) (*runtimeapi.ContainerStats, error) {
	c, _, err := r.getContainer(containerID)
	if err != nil {
		return nil, err
	}
	used, err := r.cfg.Images.SnapshotUsage(ctx, c.id)
	if err != nil {
		return nil, err
	}
	return &runtimeapi.ContainerStats{
		Attributes:    &runtimeapi.ContainerAttributes{Id: c.id, Metadata: c.config.GetMetadata()},
		WritableLayer: &runtimeapi.FilesystemUsage{Timestamp: time.Now().UnixNano(), UsedBytes: &runtimeapi.UInt64Value{Value: uint64(used)}},
	}, nil
}

// ContainerStatus implements runtime.Runtime.
func (r *Runtime) ContainerStatus(ctx context.Context, containerID string) (*runtimeapi.ContainerStatus, error) {
	c, _, err := r.getContainer(containerID)
	if err != nil {
		return nil, err
	}
	st := r.containerState(c)
	status := &runtimeapi.ContainerStatus{
		Id:          c.id,
		Metadata:    proto.Clone(c.config.GetMetadata()).(*runtimeapi.ContainerMetadata),
		State:       criState(st.Status),
		CreatedAt:   c.meta.CreatedAt,
		StartedAt:   st.StartedAt,
		FinishedAt:  st.FinishedAt,
		Image:       proto.Clone(c.config.GetImage()).(*runtimeapi.ImageSpec),
		ImageRef:    c.meta.ImageRef,
		ImageId:     c.meta.ImageRef,
		Labels:      copyMap(c.config.GetLabels()),
		Annotations: copyMap(c.config.GetAnnotations()),
		LogPath:     c.meta.LogPath,
		Message:     st.Message,
	}
	r.mu.Lock()
	if c.limits != nil {
		status.Resources = &runtimeapi.ContainerResources{Linux: proto.Clone(c.limits).(*runtimeapi.LinuxContainerResources)}
	}
	r.mu.Unlock()
	for _, m := range c.config.GetMounts() {
		status.Mounts = append(status.Mounts, proto.Clone(m).(*runtimeapi.Mount))
	}
	if st.Status == shimproto.StatusExited {
		status.ExitCode = st.ExitCode
		status.Reason = st.Reason
	}
	return status, nil
}

// ListContainers lists the containers, of one sandbox when sandboxID is set.
func (r *Runtime) ListContainers(ctx context.Context, sandboxID string) ([]*runtimeapi.Container, error) {
	r.mu.Lock()
	cs := make([]*container, 0, len(r.containers))
	for _, c := range r.containers {
		if sandboxID == "" || c.sandboxID == sandboxID {
			cs = append(cs, c)
		}
	}
	r.mu.Unlock()
	out := make([]*runtimeapi.Container, 0, len(cs))
	for _, c := range cs {
		st := r.containerState(c)
		out = append(out, &runtimeapi.Container{
			Id:           c.id,
			PodSandboxId: c.sandboxID,
			Metadata:     proto.Clone(c.config.GetMetadata()).(*runtimeapi.ContainerMetadata),
			Image:        proto.Clone(c.config.GetImage()).(*runtimeapi.ImageSpec),
			ImageRef:     c.meta.ImageRef,
			ImageId:      c.meta.ImageRef,
			State:        criState(st.Status),
			CreatedAt:    c.meta.CreatedAt,
			Labels:       copyMap(c.config.GetLabels()),
			Annotations:  copyMap(c.config.GetAnnotations()),
		})
	}
	return out, nil
}
